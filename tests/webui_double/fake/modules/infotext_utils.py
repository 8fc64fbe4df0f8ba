"""``modules.infotext_utils`` (A1111 v1.10.1), written from its behaviour.

Faithful: ``quote``/``unquote`` (L56-70), ``re_param`` regex (L16), ``parse_generation_parameters``
(L234-...): last line is params only with >= 3 matches, "Negative prompt:" split, values stay
strings (quoted ones json-unquoted), ``WxH`` split into ``-1``/``-2``, the default keys, and
``skip_fields`` (default ``opts.infotext_skip_pasting``); ``create_override_settings_dict`` and
``get_override_settings`` map ``OptionInfo(infotext=...)`` names. Simplified: style extraction,
hypernet and old-hires-fix compatibility rewrites are limited to the defaults. Also installed as
``modules.generation_parameters_copypaste`` (L14).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from modules import shared

sys.modules["modules.generation_parameters_copypaste"] = sys.modules[__name__]

re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(re_param_code)
re_imagesize = re.compile(r"^(\d+)x(\d+)$")


class ParamBinding:
    def __init__(self, paste_button, tabname, source_text_component=None, source_image_component=None,
                 source_tabname=None, override_settings_component=None, paste_field_names=None) -> None:
        self.paste_button = paste_button
        self.tabname = tabname
        self.source_text_component = source_text_component
        self.source_image_component = source_image_component
        self.source_tabname = source_tabname
        self.override_settings_component = override_settings_component
        self.paste_field_names = paste_field_names or []


class PasteField(tuple):
    """``(component, target)`` pair with ``.api``, ``.label``, ``.function`` (L29-42)."""

    def __new__(cls, component, target, *, api=None):
        return super().__new__(cls, (component, target))

    def __init__(self, component, target, *, api=None) -> None:
        super().__init__()
        self.api = api
        self.component = component
        self.label = target if isinstance(target, str) else None
        self.function = target if callable(target) else None


paste_fields: dict[str, dict] = {}
registered_param_bindings: list[ParamBinding] = []


def reset() -> None:
    paste_fields.clear()
    registered_param_bindings.clear()


def quote(text: Any) -> Any:
    """Unchanged unless ``str(text)`` has ``,`` ``\\n`` or ``:``; then ``json.dumps`` (L56-60)."""
    if "," not in str(text) and "\n" not in str(text) and ":" not in str(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> Any:
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


_DEFAULTS = (
    ("Hires sampler", "Use same sampler"), ("Hires schedule type", "Use same scheduler"),
    ("Hires checkpoint", "Use same checkpoint"), ("Hires prompt", ""), ("Hires negative prompt", ""),
    ("Mask mode", "Inpaint masked"), ("Masked content", "original"), ("Inpaint area", "Whole picture"),
    ("Masked area padding", 32),
)
_DEFAULTS_AFTER = (
    ("RNG", "GPU"), ("Schedule type", "Automatic"), ("Schedule max sigma", 0), ("Schedule min sigma", 0),
    ("Schedule rho", 0), ("VAE Encoder", "Full"), ("VAE Decoder", "Full"), ("FP8 weight", "Disable"),
)


def parse_generation_parameters(x: str, skip_fields: list[str] | None = None) -> dict[str, Any]:
    """Parse an infotext into a dict of *string* values plus WebUI defaults (L234-390)."""
    if skip_fields is None:
        skip_fields = shared.opts.infotext_skip_pasting
    res: dict[str, Any] = {}
    prompt = ""
    negative_prompt = ""
    done_with_prompt = False
    *lines, lastline = x.strip().split("\n")
    if len(re_param.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ""
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    for k, v in re_param.findall(lastline):
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            m = re_imagesize.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            print(f'Error parsing "{k}: {v}"')
    res["Prompt"] = prompt
    res["Negative prompt"] = negative_prompt
    res.setdefault("Clip skip", "1")
    if "Hires resize-1" not in res:
        res["Hires resize-1"] = 0
        res["Hires resize-2"] = 0
    for key, value in _DEFAULTS:
        res.setdefault(key, value)
    for key, value in _DEFAULTS_AFTER:
        res.setdefault(key, value)
    if "Cache FP16 weight for LoRA" not in res and res["FP8 weight"] != "Disable":
        res["Cache FP16 weight for LoRA"] = False
    res.setdefault("Refiner switch by sampling steps", False)
    for key in skip_fields:
        res.pop(key, None)
    return res


infotext_to_setting_name_mapping: list[tuple[str, str]] = []


def create_override_settings_dict(text_pairs: list[str]) -> dict[str, Any]:
    """``['Clip skip: 2']`` -> ``{'CLIP_stop_at_last_layers': 2}`` (L393-420)."""
    res: dict[str, Any] = {}
    params = {}
    for pair in text_pairs or []:
        k, v = pair.split(":", maxsplit=1)
        params[k] = v.strip()
    mapping = [(info.infotext, k) for k, info in shared.opts.data_labels.items() if info.infotext]
    for param_name, setting_name in mapping + infotext_to_setting_name_mapping:
        value = params.get(param_name, None)
        if value is None:
            continue
        res[setting_name] = shared.opts.cast_value(setting_name, value)
    return res


def get_override_settings(params: dict[str, Any], *, skip_fields=None) -> list[tuple[str, str, Any]]:
    res = []
    mapping = [(info.infotext, k) for k, info in shared.opts.data_labels.items() if info.infotext]
    for param_name, setting_name in mapping + infotext_to_setting_name_mapping:
        if param_name in (skip_fields or {}):
            continue
        v = params.get(param_name, None)
        if v is None:
            continue
        if setting_name == "sd_model_checkpoint" and shared.opts.disable_weights_auto_swap:
            continue
        v = shared.opts.cast_value(setting_name, v)
        if v == getattr(shared.opts, setting_name, None):
            continue
        res.append((param_name, setting_name, v))
    return res

