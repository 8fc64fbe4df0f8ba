"""Settings of the face script and the upscale script: the single source of truth.

Each field carries its default, its range or choices, its UI label and section, a hover
hint, and the infotext key it is written under. The WebUI UI, the API argument parsing,
the PNG infotext and the CLI's ``--set key=value`` are all generated from these
dataclasses, so a new setting is added in exactly one place.

Values are JSON types only (bool, int, float, str, list[str]), so a settings object
round-trips exactly through a flat dict, JSON, and the infotext.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="SettingsBase")


class SettingsError(ValueError):
    """A bad setting: the message names the field and says what is allowed."""


def setting(
    default: Any,
    *,
    label: str,
    section: str = "basic",
    minimum: float | None = None,
    maximum: float | None = None,
    step: float | None = None,
    choices: Sequence[str] | None = None,
    hint: str = "",
    infotext: str | None = None,
    multiline: bool = False,
) -> Any:
    """Declare one setting. ``infotext`` is the key suffix after the script prefix."""
    meta = {
        "label": label,
        "section": section,
        "minimum": minimum,
        "maximum": maximum,
        "step": step,
        "choices": tuple(choices) if choices is not None else None,
        "hint": hint,
        "infotext": infotext or label,
        "multiline": multiline,
    }
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldInfo:
    """Everything the UI, API and infotext need to know about one setting."""

    name: str
    type: type
    default: Any
    label: str
    section: str
    minimum: float | None
    maximum: float | None
    step: float | None
    choices: tuple[str, ...] | None
    hint: str
    infotext_key: str
    multiline: bool


_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list[str]": list}


@dataclass
class SettingsBase:
    """Validation, dict/list/infotext round trips shared by both settings classes."""

    INFOTEXT_PREFIX: ClassVar[str] = ""
    #: infotext key that carries the enable flag; it is always written when enabled.
    ENABLE_FIELD: ClassVar[str] = "enabled"

    def __post_init__(self) -> None:
        self.validate()

    # ---- introspection -------------------------------------------------
    @classmethod
    def fields_info(cls) -> list[FieldInfo]:
        out = []
        for f in dataclasses.fields(cls):
            meta = f.metadata
            typ = _TYPES[f.type] if isinstance(f.type, str) else f.type
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append(
                FieldInfo(
                    name=f.name,
                    type=typ,
                    default=default,
                    label=meta["label"],
                    section=meta["section"],
                    minimum=meta["minimum"],
                    maximum=meta["maximum"],
                    step=meta["step"],
                    choices=meta["choices"],
                    hint=meta["hint"],
                    infotext_key=f"{cls.INFOTEXT_PREFIX} {meta['infotext']}".strip(),
                    multiline=meta["multiline"],
                )
            )
        return out

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    # ---- validation ----------------------------------------------------
    def validate(self) -> None:
        """Coerce JSON-compatible values to the declared type and check ranges.

        Raises SettingsError naming the field, its value and what is allowed.
        """
        for info in self.fields_info():
            value = getattr(self, info.name)
            object.__setattr__(self, info.name, _coerce(info, value))

    # ---- dict round trip -----------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Flat dict of JSON types, every field."""
        return {name: _copy(getattr(self, name)) for name in self.field_names()}

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any], *, partial: bool = True) -> S:
        """Build from a dict; unknown keys are rejected, missing keys take defaults.

        ``partial=False`` also demands every field (used for exact round-trip checks).
        """
        if not isinstance(data, Mapping):
            raise SettingsError(f"{cls.__name__}: expected a dict of settings, got {type(data).__name__}")
        names = cls.field_names()
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise SettingsError(
                f"{cls.__name__}: unknown setting(s) {', '.join(map(repr, unknown))}; "
                f"known settings are: {', '.join(names)}"
            )
        if not partial:
            missing = [n for n in names if n not in data]
            if missing:
                raise SettingsError(f"{cls.__name__}: missing setting(s) {', '.join(missing)}")
        return cls(**dict(data))

    def replace(self: S, **changes: Any) -> S:
        return self.from_dict({**self.to_dict(), **changes})

    def non_defaults(self) -> dict[str, Any]:
        """The fields whose value differs from the default."""
        return {
            i.name: getattr(self, i.name)
            for i in self.fields_info()
            if getattr(self, i.name) != i.default
        }

    # ---- API args ------------------------------------------------------
    @classmethod
    def from_args(cls: type[S], args: Sequence[Any]) -> S:
        """Accept the API/UI argument forms.

        * ``[{...settings dict...}]`` — one dict (the API's friendly form);
        * ``[v0, v1, ...]`` — positional values in field order (the WebUI UI form);
          a shorter list leaves the remaining fields at their defaults.
        * ``[]`` — all defaults.
        """
        args = list(args)
        if not args:
            return cls()
        if len(args) == 1 and isinstance(args[0], Mapping):
            return cls.from_dict(args[0])
        names = cls.field_names()
        if len(args) > len(names):
            raise SettingsError(
                f"{cls.__name__}: got {len(args)} positional args but there are only {len(names)} settings"
            )
        if any(isinstance(a, Mapping) for a in args):
            raise SettingsError(f"{cls.__name__}: pass either one dict of settings or a list of values, not both")
        return cls.from_dict(dict(zip(names, args)))

    def to_args(self) -> list[Any]:
        """Positional values in field order (inverse of ``from_args`` with a list)."""
        return [_copy(getattr(self, n)) for n in self.field_names()]

    # ---- infotext ------------------------------------------------------
    def to_infotext(self) -> dict[str, str]:
        """``{"<Prefix> <Key>": value}`` for the enable flag and every non-default setting.

        Values are strings: numbers and text as-is, bools as ``True``/``False``,
        lists JSON-encoded. An empty dict when the script is disabled.
        """
        if self.ENABLE_FIELD and not getattr(self, self.ENABLE_FIELD):
            return {}
        out: dict[str, str] = {}
        for info in self.fields_info():
            value = getattr(self, info.name)
            if info.name != self.ENABLE_FIELD and value == info.default:
                continue
            out[info.infotext_key] = _to_text(info, value)
        return out

    @classmethod
    def from_infotext(cls: type[S], params: Mapping[str, Any]) -> S | None:
        """Inverse of ``to_infotext`` over parsed generation parameters.

        Returns None when the params hold no key of this script. Keys absent from the
        params take their defaults, as ``to_infotext`` only wrote non-defaults.
        """
        data: dict[str, Any] = {}
        for info in cls.fields_info():
            if info.infotext_key in params:
                data[info.name] = _from_text(info, params[info.infotext_key])
        if not data:
            return None
        return cls.from_dict(data)


# ---- value helpers ---------------------------------------------------------

def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _coerce(info: FieldInfo, value: Any) -> Any:
    name = info.name
    t = info.type
    try:
        if t is bool:
            if isinstance(value, bool):
                v: Any = value
            elif isinstance(value, (int, float)) and value in (0, 1):
                v = bool(value)
            elif isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                v = value.strip().lower() in ("true", "1", "yes", "on")
            else:
                raise SettingsError(f"setting {name!r}: expected true/false, got {value!r}")
        elif t is int:
            if isinstance(value, bool):
                raise SettingsError(f"setting {name!r}: expected an integer, got {value!r}")
            if isinstance(value, str):
                value = float(value.strip())
            if not isinstance(value, (int, float)) or not math.isfinite(value) or float(value) != int(value):
                raise SettingsError(f"setting {name!r}: expected an integer, got {value!r}")
            v = int(value)
        elif t is float:
            if isinstance(value, bool):
                raise SettingsError(f"setting {name!r}: expected a number, got {value!r}")
            v = float(value.strip()) if isinstance(value, str) else float(value)
            if not math.isfinite(v):
                raise SettingsError(f"setting {name!r}: expected a finite number, got {value!r}")
        elif t is str:
            if not isinstance(value, str):
                raise SettingsError(f"setting {name!r}: expected text, got {value!r}")
            v = value
        elif t is list:
            if isinstance(value, str):
                value = json.loads(value) if value.strip().startswith("[") else [s for s in value.splitlines() if s.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
                raise SettingsError(f"setting {name!r}: expected a list of text, got {value!r}")
            v = list(value)
        else:  # pragma: no cover - declaration error
            raise TypeError(f"unsupported setting type {t} for {name}")
    except SettingsError:
        raise
    except (TypeError, ValueError) as exc:
        kind = {bool: "true/false", int: "an integer", float: "a number", str: "text", list: "a list of text"}[t]
        raise SettingsError(f"setting {name!r}: expected {kind}, got {value!r}") from exc

    if info.choices is not None and v not in info.choices:
        raise SettingsError(f"setting {name!r}: {v!r} is not one of {', '.join(map(repr, info.choices))}")
    if t in (int, float):
        if info.minimum is not None and v < info.minimum:
            raise SettingsError(f"setting {name!r}: {v!r} is below the minimum {info.minimum:g}")
        if info.maximum is not None and v > info.maximum:
            raise SettingsError(f"setting {name!r}: {v!r} is above the maximum {info.maximum:g}")
    return v


def _to_text(info: FieldInfo, value: Any) -> str:
    if info.type is list:
        return json.dumps(value, ensure_ascii=False)
    if info.type is float:
        return repr(float(value))
    return str(value)


def _from_text(info: FieldInfo, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if info.type is list:
        return json.loads(text)
    return text


# ---- the face script -------------------------------------------------------

MATTING_CHOICES = ("modnet", "selfie", "face_oval", "none")
SORT_CHOICES = ("largest", "left_to_right", "score")
SEED_MODES = ("same", "offset", "random")
ENHANCEMENTS = ("Unsharp Mask", "Bilateral Filter", "Median Filter", "Hybrid")
MODES = ("before", "after")


@dataclass
class FaceSettings(SettingsBase):
    """Every setting of the face script. Defaults follow the original FacePop where it had one."""

    INFOTEXT_PREFIX: ClassVar[str] = "FacePop"

    # -- basic
    enabled: bool = setting(False, label="Enable FacePop", infotext="enabled",
                            hint="Refine every face in its own img2img pass, then protect it during the main pass.")
    mode: str = setting("before", label="When to refine", choices=MODES, infotext="mode",
                        hint="before: faces first, main pass protects them (img2img). "
                             "after: refine the faces of the generated image (txt2img and img2img).")
    aggressive: bool = setting(True, label="Aggressive face detection", infotext="aggressive",
                               hint="Search several scales and rotations: finds small, tilted, sideways and "
                                    "upside-down faces. Plain mode is faster but finds mostly large upright faces.")
    confidence: float = setting(0.5, label="Detection confidence", minimum=0.1, maximum=1.0, step=0.05,
                                infotext="confidence",
                                hint="Faces scoring below this (0-1) are ignored.")
    max_faces: int = setting(5, label="Maximum faces", minimum=0, maximum=64, step=1, infotext="max faces",
                             hint="Refine at most this many faces, in the chosen order. 0 = all.")
    min_face_size: int = setting(0, label="Minimum face size (px)", minimum=0, maximum=4096, step=1,
                                 infotext="min face",
                                 hint="Ignore faces narrower than this many image pixels. 0 = no limit.")
    sort_order: str = setting("largest", label="Face order", choices=SORT_CHOICES, infotext="order",
                              hint="Which faces come first when 'Maximum faces' cuts the list.")
    face_width: int = setting(720, label="Face width", minimum=64, maximum=2048, step=8, infotext="width",
                              hint="Working canvas width in pixels that each face is upscaled to before its pass.")
    face_height: int = setting(720, label="Face height", minimum=64, maximum=2048, step=8, infotext="height",
                               hint="Working canvas height in pixels.")
    padding: float = setting(35.0, label="Padding %", minimum=0.0, maximum=200.0, step=1.0, infotext="padding",
                             hint="Context added around the face box on every side, in percent of the face size.")
    keep_aspect: bool = setting(True, label="Keep aspect ratio", infotext="keep aspect",
                                hint="On: the canvas follows the face crop's shape, fitting inside width x height. "
                                     "Off: the canvas is exactly width x height and the crop widens to match. "
                                     "Faces are never stretched either way.")
    only_in_mask: bool = setting(True, label="Only faces inside the inpaint mask", infotext="only in mask",
                                 hint="With an inpaint mask, leave faces outside it untouched.")

    # -- separate face processing
    separate: bool = setting(False, label="Separate face processing", section="face pass", infotext="separate",
                             hint="Use the settings below for face passes instead of the main ones.")
    steps: int = setting(40, label="Face steps", section="face pass", minimum=1, maximum=150, step=1,
                         infotext="steps")
    cfg_scale: float = setting(7.0, label="Face CFG scale", section="face pass", minimum=0.0, maximum=30.0, step=0.5,
                               infotext="cfg")
    denoise: float = setting(0.4, label="Face denoising strength", section="face pass", minimum=0.0, maximum=1.0,
                             step=0.01, infotext="denoise")
    prompt: str = setting("", label="Face prompt", section="face pass", infotext="prompt", multiline=True,
                          hint="Blank = the main prompt.")
    negative_prompt: str = setting("", label="Face negative prompt", section="face pass", infotext="negative",
                                   multiline=True, hint="Blank = the main negative prompt.")
    face_prompts: list[str] = setting([], label="Per-face prompts", section="face pass", infotext="face prompts",
                                      multiline=True,
                                      hint="One line per face, in face order; a blank line uses the face prompt.")
    sampler: str = setting("", label="Face sampler", section="face pass", infotext="sampler",
                           hint="Blank = the main sampler.")
    seed_mode: str = setting("offset", label="Face seed", section="face pass", choices=SEED_MODES, infotext="seed mode",
                             hint="same: the image's seed; offset: seed + face index; random: a new seed per face.")

    # -- advanced
    auto_align: bool = setting(True, label="Auto-align faces", section="advanced", infotext="align",
                               hint="Rotate each face upright from its landmarks before its pass.")
    rotation_threshold: float = setting(10.0, label="Rotation threshold (degrees)", section="advanced",
                                        minimum=0.0, maximum=45.0, step=1.0, infotext="rotation threshold",
                                        hint="Faces tilted less than this are not rotated.")
    matting: str = setting("modnet", label="Face mask", section="advanced", choices=MATTING_CHOICES,
                           infotext="matting",
                           hint="modnet: portrait matting (downloaded once); selfie: bundled mediapipe segmenter; "
                                "face_oval: landmark oval; none: the whole crop.")
    mask_grow: int = setting(0, label="Mask grow/shrink (px)", section="advanced", minimum=-64, maximum=64, step=1,
                             infotext="mask grow",
                             hint="Dilate (+) or erode (-) the face mask, in working-canvas pixels.")
    mask_feather: int = setting(16, label="Mask feather (px)", section="advanced", minimum=0, maximum=128, step=1,
                                infotext="feather",
                                hint="Soft edge of the face mask, in working-canvas pixels.")
    color_match: bool = setting(False, label="Match face colour", section="advanced", infotext="color match",
                                hint="Shift each refined face's Lab mean/std to its surroundings before blending.")
    enhancement: str = setting("Unsharp Mask", label="Preview enhancement", section="advanced", choices=ENHANCEMENTS,
                               infotext="enhancement",
                               hint="Filter used by the CPU preview renderer (CLI).")

    # -- debugging / outputs
    debug: bool = setting(False, label="Save debug images", section="debug", infotext="debug",
                          hint="Landmarks, masks, orientation fixes and overlays go into a Debugging subfolder.")
    output_faces: bool = setting(True, label="Save each face", section="debug", infotext="output faces",
                                 hint="Save each refined face on its own.")
    output_path: str = setting("[date]", label="Output folder", section="debug", infotext="output path",
                               hint="Sub-folder for FacePop's own files; [date] becomes today's date.")

    def validate(self) -> None:
        super().validate()
        for name in ("face_width", "face_height"):
            v = getattr(self, name)
            if v % 8:
                raise SettingsError(f"setting {name!r}: {v} is not a multiple of 8 (Stable Diffusion needs /8 sizes)")


def parse_assignments(pairs: Sequence[str]) -> dict[str, Any]:
    """``["key=value", ...]`` (the CLI's --set) -> dict, values left as text for coercion."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SettingsError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out
