"""FacePop in the PNG infotext: what is written, and how pasting it restores the panel.

Written (``write``): "FacePop enabled: True" and every setting that differs from its
default, under the stable keys of ``FaceSettings.fields_info`` ("FacePop denoise: 0.3",
"FacePop face prompts: "[\\"a\\", \\"b\\"]""...). Values are strings; lists are JSON, so
the WebUI's ``quote()`` wraps them as one JSON string literal and parsing gives them back.
The keys are written in ``process()``, before any face is rendered, so an image in which
no face was found still says FacePop was on (and reproduces the same way).

Pasted (``paste_fields``): when the pasted text has "FacePop enabled", *every* control is
set, a missing key meaning its default. The WebUI alone leaves controls of absent keys
as they are, so a default-stripped infotext would reproduce whatever the panel last held
(ADetailer's reproducibility hole). Text without FacePop keys switches FacePop off and
leaves the other controls alone. write -> parse -> paste -> write gives the same keys.

"FacePop error" carries a rejected argument or a failure, so an API caller sees it in
the response's ``info`` (the WebUI logs hook exceptions and carries on; see ``flow``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lib_facepop.settings import FaceSettings, SettingsError
from lib_facepop.webui.script_args import FIELD_NAMES, to_ui_value

ENABLE_KEY = next(i.infotext_key for i in FaceSettings.fields_info() if i.name == "enabled")
ERROR_KEY = "FacePop error"
SETTING_KEYS = tuple(i.infotext_key for i in FaceSettings.fields_info())
#: every key FacePop may write (cleared at the start of a run: the Batch tab reuses one p)
ALL_KEYS = (*SETTING_KEYS, ERROR_KEY)


def clear(extra_generation_params: dict[str, Any]) -> None:
    """Remove FacePop's keys left by an earlier run on the same ``p``."""
    for key in ALL_KEYS:
        extra_generation_params.pop(key, None)


def write(extra_generation_params: dict[str, Any], settings: FaceSettings) -> None:
    """Add the enable flag and the non-default settings."""
    extra_generation_params.update(settings.to_infotext())


def write_error(p: Any, message: str) -> None:
    """Record a FacePop failure in the infotext (API ``info``) and the UI's comments."""
    p.extra_generation_params[ERROR_KEY] = message
    if hasattr(p, "comment"):
        p.comment(message)


def settings_from_params(params: Mapping[str, Any]) -> FaceSettings | None:
    """The settings an infotext describes, or None when it has no FacePop keys."""
    if ENABLE_KEY not in params and not any(k in params for k in SETTING_KEYS):
        return None
    settings = FaceSettings.from_infotext(params)
    if settings is None:
        return None
    if ENABLE_KEY not in params:
        settings = settings.replace(enabled=False)
    return settings


def paste_value(params: Mapping[str, Any], name: str, report: Callable[[str], None] | None = None) -> Any:
    """What the paste button puts into the control of field ``name`` (None = no change)."""
    try:
        settings = settings_from_params(params)
    except (SettingsError, ValueError) as exc:
        if report is not None:
            report(f"FacePop: cannot paste the infotext's FacePop settings: {exc}")
        return None
    if settings is None:
        return False if name == "enabled" else None
    return to_ui_value(name, getattr(settings, name))


def paste_fields(controls: list[Any], report: Callable[[str], None] | None = None) -> list[tuple[Any, Any]]:
    """``(component, callable(params))`` pairs for ``Script.infotext_fields``, one per control,
    ``controls`` being in ``FaceSettings`` field order (the accordion first)."""
    out: list[tuple[Any, Any]] = []
    for name, control in zip(FIELD_NAMES, controls, strict=True):
        out.append((control, _paster(name, report)))
    return out


def _paster(name: str, report: Callable[[str], None] | None) -> Callable[[Mapping[str, Any]], Any]:
    def paste(params: Mapping[str, Any]) -> Any:
        return paste_value(params, name, report)

    paste.__name__ = f"facepop_paste_{name}"
    return paste
