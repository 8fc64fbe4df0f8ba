"""The FacePop Script's arguments -> ``FaceSettings``, for every form the WebUI can hand over.

The Script's slice of ``p.script_args`` is one value per UI control, in ``FaceSettings``
field order (the enable accordion first). Three callers fill it:

* the UI: one value per control, list fields as the text of a multi-line box;
* the API with a settings dict: ``alwayson_scripts: {"FacePop": {"args": [{...}]}}``. The
  API copies ``args`` over the *UI defaults* position by position, so the slots after the
  dict still hold default control values: they are ignored. A dict without ``"enabled"``
  means enabled (sending FacePop settings is asking for FacePop). ``[true, {...}]``
  (ADetailer's shape) is accepted too;
* the API with a positional list: values in field order, missing ones keep the defaults.

Unknown keys and bad values raise ``SettingsError`` naming them (see ``flow`` for what the
Script does with it). No ``modules`` import here: the defaults the UI starts with are
passed in as ``base``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from lib_facepop.settings import FaceSettings, FieldInfo, SettingsError

_INFO: Mapping[str, FieldInfo] = MappingProxyType({i.name: i for i in FaceSettings.fields_info()})
FIELD_NAMES: tuple[str, ...] = tuple(_INFO)


def text_to_lines(text: str) -> list[str]:
    """A multi-line box -> one entry per line. Blank lines in the middle are kept (a blank
    per-face prompt means "use the face prompt" for that face); trailing blank lines are not."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def lines_to_text(lines: Sequence[str]) -> str:
    """Inverse of ``text_to_lines`` for the UI box."""
    return "\n".join(lines)


def to_ui_value(name: str, value: Any) -> Any:
    """A settings value as its UI control holds it (list fields become multi-line text)."""
    if _INFO[name].type is list:
        return lines_to_text(value)
    return value


def _from_ui_value(name: str, value: Any) -> Any:
    # text is always one entry per line, never JSON: a face prompt may well start with "["
    # (prompt-editing syntax); the API sends a real list when it means one
    if _INFO[name].type is list and isinstance(value, str):
        return text_to_lines(value)
    return value


def settings_from_args(args: Sequence[Any], base: FaceSettings | None = None) -> FaceSettings:
    """``FaceSettings`` from the Script's argument slice (any of the forms in the module docstring).

    ``base`` holds the defaults the UI starts with (``FaceSettings()`` unless a Settings-tab
    option changed one); a dict form fills its missing keys from it.
    """
    base = base or FaceSettings()
    args = list(args)
    if not args:
        return base.replace()
    if isinstance(args[0], Mapping) or (len(args) > 1 and isinstance(args[0], bool) and isinstance(args[1], Mapping)):
        enabled = None
        if not isinstance(args[0], Mapping):
            enabled, args = args[0], args[1:]
        data = dict(args[0])
        bad_keys = [k for k in data if not isinstance(k, str)]
        if bad_keys:
            raise SettingsError(f"FaceSettings: setting names must be text, got {bad_keys!r}")
        unknown = sorted(set(data) - set(FIELD_NAMES))
        if unknown:
            raise SettingsError(
                f"FaceSettings: unknown setting(s) {', '.join(map(repr, unknown))}; "
                f"known settings are: {', '.join(FIELD_NAMES)}"
            )
        if enabled is not None:
            data["enabled"] = enabled
        data.setdefault("enabled", True)
        merged = base.to_dict()
        merged.update({k: _from_ui_value(k, v) for k, v in data.items()})
        return FaceSettings.from_dict(merged)
    if any(isinstance(a, Mapping) for a in args):
        raise SettingsError("FaceSettings: pass one dict of settings (optionally after the enable flag) "
                            "or a list of values in field order, not a mix")
    if len(args) > len(FIELD_NAMES):
        raise SettingsError(f"FaceSettings: got {len(args)} values but there are only {len(FIELD_NAMES)} settings")
    merged = base.to_dict()
    for name, value in zip(FIELD_NAMES, args, strict=False):  # a shorter list keeps the defaults
        if value is None:  # a control the API could not fill (e.g. a hidden one): keep the default
            continue
        merged[name] = _from_ui_value(name, value)
    return FaceSettings.from_dict(merged)


def settings_to_args(settings: FaceSettings) -> list[Any]:
    """The UI values of ``settings`` in control order (inverse of ``settings_from_args``)."""
    return [to_ui_value(name, getattr(settings, name)) for name in FIELD_NAMES]
