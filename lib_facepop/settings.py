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
    if info.type is str and (value != value.strip() or value == "" or (value[:1] == '"' and value[-1:] == '"')):
        # the infotext line drops surrounding spaces and unquotes "..."; a JSON literal survives both
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _from_text(info: FieldInfo, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if info.type is list:
        return json.loads(text)
    if info.type is str and len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            return text
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
                         infotext="steps",
                         hint="Sampling steps of each face pass (img2img runs about steps x denoise of them).")
    cfg_scale: float = setting(7.0, label="Face CFG scale", section="face pass", minimum=0.0, maximum=30.0, step=0.5,
                               infotext="cfg", hint="How closely each face pass follows its prompt.")
    denoise: float = setting(0.4, label="Face denoising strength", section="face pass", minimum=0.0, maximum=1.0,
                             step=0.01, infotext="denoise",
                             hint="How much each face may change (0-1): 0.3-0.45 keeps the identity, higher "
                                  "re-imagines the face.")
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


# ---- the upscale script ----------------------------------------------------

UPSCALE_SIZE_MODES = ("scale", "size")
UPSCALE_SPLITS = ("geometric", "linear")
UPSCALE_DENOISE_SCHEDULES = ("geometric", "linear", "cosine")
UPSCALE_SEED_MODES = ("increment", "fixed")
UPSCALE_COLOR_FIXES = ("matrix+wavelet", "wavelet", "adain", "none")
#: ControlNet tile preprocessors (same names in sd-webui-controlnet and Forge's built-in ControlNet)
UPSCALE_CN_MODULES = ("tile_resample", "tile_colorfix", "tile_colorfix+sharp")
#: ControlNet control modes, as ControlNet's ``ControlMode`` enum values
UPSCALE_CN_MODES = ("Balanced", "My prompt is more important", "ControlNet is more important")


@dataclass
class UpscaleSettings(SettingsBase):
    """Every setting of the multi-pass upscale script (planned by ``lib_facepop.upscale``).

    Defaults are a Clarity-like two-pass upscale (denoise 0.35 decaying x0.8, CFG 6,
    ControlNet tile 0.6) with the fixes from the upscaler research: effective steps kept
    up, wide tile overlap with full-overlap feathering, and a wavelet colour fix against
    the original after every pass. Sizes are pixels; denoise is 0-1.
    """

    INFOTEXT_PREFIX: ClassVar[str] = "FacePop Upscale"

    # -- basic
    enabled: bool = setting(False, label="Enable FacePop Upscale", infotext="enabled",
                            hint="Upscale in several img2img passes, each one re-rendering the image at a larger size.")
    size_mode: str = setting("scale", label="Target", choices=UPSCALE_SIZE_MODES, infotext="size mode",
                             hint="scale: multiply the image size by 'Scale'. size: reach 'Target width/height'.")
    scale: float = setting(2.0, label="Scale", minimum=1.0, maximum=16.0, step=0.05, infotext="scale",
                           hint="Total upscale factor over all passes (final sides are rounded to multiples of 8).")
    target_width: int = setting(0, label="Target width", minimum=0, maximum=16384, step=8, infotext="width",
                                hint="Final width in pixels, a multiple of 8. 0 = follow the height, keeping the "
                                     "aspect ratio.")
    target_height: int = setting(0, label="Target height", minimum=0, maximum=16384, step=8, infotext="height",
                                 hint="Final height in pixels, a multiple of 8. 0 = follow the width, keeping the "
                                      "aspect ratio.")
    passes: int = setting(2, label="Passes", minimum=1, maximum=10, step=1, infotext="passes",
                          hint="How many img2img passes share the upscale. More passes = smaller steps, more "
                               "chances to add detail, more time.")
    scale_split: str = setting("geometric", label="Scale split", choices=UPSCALE_SPLITS, infotext="split",
                               hint="geometric: every pass grows the image by the same factor. linear: every pass "
                                    "adds the same number of pixels (later passes grow by smaller factors).")
    pixel_upscaler: str = setting("Lanczos", label="Pixel upscaler", infotext="upscaler",
                                  hint="Upscaler that enlarges the image before each pass (e.g. an ESRGAN model "
                                       "name); Lanczos = plain resampling.")

    # -- schedule
    denoise_start: float = setting(0.35, label="Denoise (first pass)", section="schedule", minimum=0.01,
                                   maximum=1.0, step=0.01, infotext="denoise",
                                   hint="Denoising strength of the first pass (0-1). Higher = more new detail, "
                                        "less resemblance.")
    denoise_schedule: str = setting("geometric", label="Denoise schedule", section="schedule",
                                    choices=UPSCALE_DENOISE_SCHEDULES, infotext="denoise schedule",
                                    hint="geometric: multiply by 'Denoise decay' each pass, never below the floor. "
                                         "linear / cosine: go from the first-pass value to the floor on the last "
                                         "pass in a straight line / an S-curve.")
    denoise_decay: float = setting(0.8, label="Denoise decay", section="schedule", minimum=0.1, maximum=1.0,
                                   step=0.01, infotext="denoise decay",
                                   hint="Geometric schedule: each pass's denoise = the previous pass's x this "
                                        "(Clarity uses 0.8).")
    denoise_floor: float = setting(0.15, label="Denoise floor / last pass", section="schedule", minimum=0.01,
                                   maximum=1.0, step=0.01, infotext="denoise floor",
                                   hint="Geometric: the lowest denoise any pass gets. Linear/cosine: the last "
                                        "pass's denoise. Must not exceed the first-pass denoise.")
    steps: int = setting(20, label="Steps", section="schedule", minimum=1, maximum=150, step=1, infotext="steps",
                         hint="Sampling steps asked for each pass (raised when needed, see below).")
    min_effective_steps: int = setting(8, label="Minimum effective steps", section="schedule", minimum=0,
                                       maximum=50, step=1, infotext="min steps",
                                       hint="img2img only runs int(denoise x steps) steps; a pass's steps are "
                                            "raised until that is at least this many. 0 = never raise.")
    cfg_start: float = setting(6.0, label="CFG (first pass)", section="schedule", minimum=0.0, maximum=30.0,
                               step=0.5, infotext="cfg",
                               hint="CFG scale of the first pass.")
    cfg_end: float = setting(6.0, label="CFG (last pass)", section="schedule", minimum=0.0, maximum=30.0,
                             step=0.5, infotext="cfg end",
                             hint="CFG scale of the last pass; passes in between go in a straight line. A "
                                  "slightly lower value avoids contrast building up over passes.")
    seed: int = setting(-1, label="Seed", section="schedule", minimum=-1, maximum=4294967295, step=1,
                        infotext="seed",
                        hint="Seed of the first pass. -1 = the image's seed.")
    seed_mode: str = setting("increment", label="Seed per pass", section="schedule", choices=UPSCALE_SEED_MODES,
                             infotext="seed mode",
                             hint="increment: pass k uses seed + k (as Clarity and Loopback do). fixed: every "
                                  "pass uses the same seed.")
    loras: list[str] = setting([], label="LoRA per pass", section="schedule", infotext="loras", multiline=True,
                               hint="One LoRA per line: 'name:weight' on every pass; 'name:0.6@1-3' on passes "
                                    "1 to 3 only ('@2', '@3-', '@-2', '@1,4-5' also work); 'name:0.8,0.6,0.4' "
                                    "one weight per pass (the last one repeats); 'name:0.8..0.2' a straight "
                                    "ramp from the first to the last chosen pass. Passes count from 1.")
    controlnet_weight_start: float = setting(0.6, label="ControlNet weight (first pass)", section="schedule",
                                             minimum=0.0, maximum=2.0, step=0.05, infotext="cn weight",
                                             hint="Weight of the ControlNet tile unit on the first pass; 0 = no "
                                                  "ControlNet. Higher = closer to the input image.")
    controlnet_weight_end: float = setting(0.6, label="ControlNet weight (last pass)", section="schedule",
                                           minimum=0.0, maximum=2.0, step=0.05, infotext="cn weight end",
                                           hint="Weight on the last pass; passes in between go in a straight line.")
    controlnet_module: str = setting("tile_resample", label="ControlNet preprocessor", section="schedule",
                                     choices=UPSCALE_CN_MODULES, infotext="cn module",
                                     hint="Preprocessor of the ControlNet tile unit (WebUI only). tile_colorfix also "
                                          "locks colours to the pass input inside the sampler.")
    controlnet_mode: str = setting("My prompt is more important", label="ControlNet control mode",
                                   section="schedule", choices=UPSCALE_CN_MODES, infotext="cn mode",
                                   hint="'My prompt is more important' lets new detail in (creative); 'Balanced' "
                                        "holds the picture closer (faithful).")

    # -- tiles
    tile_size: int = setting(1024, label="Tile size", section="tiles", minimum=256, maximum=4096, step=8,
                             infotext="tile",
                             hint="A pass canvas side longer than this many pixels is rendered in tiles of this "
                                  "size, spread evenly. SD1.5: 768-1152, SDXL: about 1024.")
    tile_overlap: int = setting(128, label="Tile overlap", section="tiles", minimum=0, maximum=2048, step=8,
                                infotext="overlap",
                                hint="Minimum overlap of neighbouring tiles in pixels, blended with a ramp over "
                                     "its whole width. At most half the tile size; 64-128 hides seams.")
    tile_batch: int = setting(1, label="Tiles per batch", section="tiles", minimum=1, maximum=16, step=1,
                              infotext="tile batch",
                              hint="Render up to this many tiles of a row in one batch (needs VRAM).")

    # -- colour and output
    color_fix: str = setting("matrix+wavelet", label="Colour fix", section="colour", choices=UPSCALE_COLOR_FIXES,
                             infotext="color fix",
                             hint="After each pass, pull colours back to the original's. wavelet (StableSR): keep "
                                  "the new detail, take the broad colour from the original. matrix+wavelet: first "
                                  "undo a global colour cast everywhere, fine detail included, so it cannot build "
                                  "up over passes. adain: match channel mean/contrast only.")
    color_fix_strength: float = setting(1.0, label="Colour fix strength", section="colour", minimum=0.0,
                                        maximum=1.0, step=0.05, infotext="color fix strength",
                                        hint="0 = off, 1 = full. Lower it to keep intended relighting.")
    face_refine: bool = setting(False, label="Refine faces on the last pass", section="output",
                                infotext="face refine",
                                hint="Run FacePop's face pass on the final image.")
    save_passes: bool = setting(False, label="Save every pass", section="output", infotext="save passes",
                                hint="Also save the image after each pass.")

    def validate(self) -> None:
        super().validate()
        for name in ("target_width", "target_height", "tile_size", "tile_overlap"):
            v = getattr(self, name)
            if v % 8:
                raise SettingsError(f"setting {name!r}: {v} is not a multiple of 8 (Stable Diffusion needs /8 sizes)")
        if self.size_mode == "size" and not (self.target_width or self.target_height):
            raise SettingsError("setting 'size_mode': 'size' needs a target width or height (both are 0)")
        if self.tile_overlap > self.tile_size // 2:
            raise SettingsError(
                f"setting 'tile_overlap': {self.tile_overlap} is more than half the tile size ({self.tile_size // 2})"
            )
        if self.denoise_floor > self.denoise_start:
            raise SettingsError(
                f"setting 'denoise_floor': {self.denoise_floor} is above the first-pass denoise {self.denoise_start}"
            )
        # Syntax only: whether the named passes exist is checked when the passes are planned,
        # so changing 'passes' (or applying a preset) does not make the LoRA lines invalid here.
        from lib_facepop.upscale import parse_lora_lines  # lazy: upscale imports this module

        parse_lora_lines(self.loras)
