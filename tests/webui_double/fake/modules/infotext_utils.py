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

re_param_code = (
    r'\s*(\w[\w \-/]+):\s*'  # "Key: " (a word, then words, spaces, '-' or '/')
    r'("(?:\\.|[^\\"])+"|[^,]*)'  # a JSON-quoted value, or anything up to the next comma
    r'(?:,|$)'
)
re_param = re.compile(re_param_code)


class ParamBinding:
    def __init__(self, paste_button, tabname, source_text_component=None, source_image_component=None,
                 source_tabname=None, override_settings_component=None, paste_field_names=None) -> None:
        self.paste_button, self.tabname = paste_button, tabname
        self.source_text_component, self.source_image_component = source_text_component, source_image_component
        self.source_tabname, self.override_settings_component = source_tabname, override_settings_component
        self.paste_field_names = [] if not paste_field_names else paste_field_names


class PasteField(tuple):
    """``(component, target)`` pair with ``.api``, ``.label``, ``.function`` (L29-42)."""

    def __new__(cls, component, target, *, api=None):
        return tuple.__new__(cls, (component, target))

    def __init__(self, component, target, *, api=None) -> None:
        super().__init__()
        self.api, self.component = api, component
        self.label = self.function = None  # target: a label to look up, or a function of the params
        if isinstance(target, str):
            self.label = target
        if callable(target):
            self.function = target


registered_param_bindings = []
paste_fields = {}


def reset() -> None:
    for registry in (paste_fields, registered_param_bindings):
        registry.clear()


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


re_imagesize = re.compile(r"^(\d+)x(\d+)$")
_NEGATIVE_MARK = "Negative prompt:"


def _json_unquoted(value: str) -> str:
    return unquote(value) if value[0] == '"' and value[-1] == '"' else value


def _joined(text: str, line: str) -> str:
    """Lines are joined with newlines, except that nothing is put before the first non-empty text."""
    return f"{text}\n{line}" if text != "" else line


def _prompts_from(lines: list[str]) -> tuple[str, str]:
    texts = ["", ""]  # prompt, negative prompt
    current = 0
    for raw in lines:
        line = raw.strip()
        if line.startswith(_NEGATIVE_MARK):  # from here on everything is the negative prompt
            current = 1
            line = line[len(_NEGATIVE_MARK):].strip()
        texts[current] = _joined(texts[current], line)
    return texts[0], texts[1]


def parse_generation_parameters(x: str, skip_fields: list[str] | None = None) -> dict[str, Any]:
    """Parse an infotext into a dict of *string* values plus WebUI defaults (L234-390)."""
    skip_fields = shared.opts.infotext_skip_pasting if skip_fields is None else skip_fields
    lines = x.strip().split("\n")
    # the last line holds the parameters only if at least three "key: value" pairs are found in it
    params_line = lines[-1] if len(re_param.findall(lines[-1])) >= 3 else ""
    prompt, negative_prompt = _prompts_from(lines[:-1] if params_line else lines)
    res: dict[str, Any] = {}
    for key, raw in re_param.findall(params_line):
        try:
            value = _json_unquoted(raw)
        except Exception:  # an empty value
            print(f'Error parsing "{key}: {raw}"')
            continue
        size = re_imagesize.match(value)
        if size is None:
            res[key] = value
        else:  # "Size: 512x768" -> "Size-1": "512", "Size-2": "768"
            res[f"{key}-1"], res[f"{key}-2"] = size.group(1), size.group(2)
    res["Prompt"], res["Negative prompt"] = prompt, negative_prompt
    res.setdefault("Clip skip", "1")
    if "Hires resize-1" not in res:
        res["Hires resize-1"] = 0
        res["Hires resize-2"] = 0
    for key, value in _DEFAULTS:
        res.setdefault(key, value)
    for key, value in _DEFAULTS_AFTER:
        res.setdefault(key, value)
    if res["FP8 weight"] != "Disable":
        res.setdefault("Cache FP16 weight for LoRA", False)
    res.setdefault("Refiner switch by sampling steps", False)
    for key in skip_fields:
        res.pop(key, None)
    return res


infotext_to_setting_name_mapping: list[tuple[str, str]] = []


def _infotext_names_of_settings() -> list[tuple[str, str]]:
    """``(infotext name, setting key)``: options declared with ``infotext=``, then the extra mapping."""
    declared = [(info.infotext, key) for key, info in shared.opts.data_labels.items() if info.infotext]
    return declared + infotext_to_setting_name_mapping


def create_override_settings_dict(text_pairs: list[str]) -> dict[str, Any]:
    """``['Clip skip: 2']`` -> ``{'CLIP_stop_at_last_layers': 2}`` (L393-420)."""
    given = {}
    for pair in text_pairs or []:
        name, text = pair.split(":", maxsplit=1)
        given[name] = text.strip()
    settings: dict[str, Any] = {}
    for infotext_name, key in _infotext_names_of_settings():
        if given.get(infotext_name) is not None:
            settings[key] = shared.opts.cast_value(key, given[infotext_name])
    return settings


def get_override_settings(params: dict[str, Any], *, skip_fields=None) -> list[tuple[str, str, Any]]:
    changes = []
    skipped = skip_fields or {}
    for infotext_name, key in _infotext_names_of_settings():
        raw = None if infotext_name in skipped else params.get(infotext_name)
        if raw is None:
            continue
        if key == "sd_model_checkpoint" and shared.opts.disable_weights_auto_swap:
            continue  # pasting never switches the model when auto-swap is off
        value = shared.opts.cast_value(key, raw)
        if value == getattr(shared.opts, key, None):
            continue
        changes.append((infotext_name, key, value))
    return changes

