"""Multi-pass upscale: a pure pass planner and the pass loop over a Renderer.

The planner turns ``UpscaleSettings`` and a source size into an ``UpscalePlan``: per pass
the input and output size (multiples of 8, growing to exactly the target), the denoise,
steps, CFG, seed, LoRA weights, ControlNet weight and tile grid. It never touches pixels,
so the WebUI can show the plan (``UpscalePlan.table()``) before anything runs.

Why the schedule looks like it does (see the upscaler research):
* the scale is split geometrically by default, so no pass is a tiny remainder (Clarity's
  2, 2, ..., remainder split leaves e.g. x1.25 last);
* denoise decays over passes: early passes see most of the picture per tile, later passes
  see small parts of the subject, where high denoise invents extra limbs and faces;
* img2img runs only ``int(denoise * steps)`` steps (A1111 ``setup_img2img_steps``), so a
  pass's steps are raised until that effective count reaches a minimum (Clarity's
  defaults run only 6 and 5);
* seeds go up by one per pass (Clarity, Loopback) unless fixed.

``upscale_image`` runs the plan: for each pass a pixel pre-upscale (Lanczos or a model),
a render of the whole canvas or of feathered tiles (``tiles.py``), a colour fix against
the original resized to the pass size (``colorfix.py``), then the caller's callbacks.
Sizes are ``(width, height)`` in pixels throughout; images are HxWx3 uint8 RGB.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.colorfix import color_fix
from lib_facepop.render import Renderer, RenderInterrupted
from lib_facepop.settings import SettingsError, UpscaleSettings
from lib_facepop.tiles import TileGrid, plan_grid, render_tiled

Size = tuple[int, int]  # (width, height) in pixels

#: A1111's steps slider maximum; raising steps stops here (the plan then warns).
MAX_STEPS = 150
#: img2img clamps denoise to this before computing its step count.
A1111_DENOISE_CLAMP = 0.999


# ---- LoRA schedule ---------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RAMP_RE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*$")
_RANGE_RE = re.compile(r"^\s*(\d*)\s*(-?)\s*(\d*)\s*$")


@dataclass(frozen=True)
class LoraSpec:
    """One parsed LoRA line.

    ``weights`` are assigned to the chosen passes in order (the last repeats); with
    ``ramp`` set they are the two ends of a straight ramp instead. ``ranges`` holds
    1-based inclusive ``(first, last)`` pass ranges; ``last`` None = up to the last pass;
    an empty tuple = every pass.
    """

    name: str
    weights: tuple[float, ...]
    ramp: bool
    ranges: tuple[tuple[int, int | None], ...]
    text: str


def _lora_error(text: str, why: str) -> SettingsError:
    return SettingsError(
        f"LoRA line {text!r}: {why}. Write 'name:weight', 'name:weight@1-3', 'name:0.8,0.6,0.4' or "
        f"'name:0.8..0.2' (passes count from 1)"
    )


def _parse_number(text: str, entry: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise _lora_error(entry, f"{text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise _lora_error(entry, f"{text.strip()!r} is not a finite number")
    return v


def parse_lora(entry: str) -> LoraSpec:
    """Parse one LoRA line; raises SettingsError saying what is wrong and what works."""
    text = entry.strip()
    body, at, passes = text.partition("@")
    name, colon, weights_text = body.rpartition(":")
    name = name.strip()
    if not colon or not name:
        raise _lora_error(entry, "expected a name, a colon and a weight")
    if any(ch in name for ch in "<>@"):
        raise _lora_error(entry, "the name must not contain '<', '>' or '@' (write the bare LoRA name)")
    ramp_m = _RAMP_RE.match(weights_text)
    if ramp_m:
        weights = (_parse_number(ramp_m.group(1), entry), _parse_number(ramp_m.group(2), entry))
        ramp = True
    else:
        parts = weights_text.split(",")
        if not weights_text.strip() or any(not p.strip() for p in parts):
            raise _lora_error(entry, "missing weight")
        weights = tuple(_parse_number(p, entry) for p in parts)
        ramp = False
    ranges: list[tuple[int, int | None]] = []
    if at:
        if not passes.strip():
            raise _lora_error(entry, "nothing after '@'")
        for part in passes.split(","):
            m = _RANGE_RE.match(part)
            if not m or not (m.group(1) or m.group(3)):
                raise _lora_error(entry, f"{part.strip()!r} is not a pass or a pass range")
            lo_s, dash, hi_s = m.groups()
            lo = int(lo_s) if lo_s else 1
            hi: int | None = int(hi_s) if hi_s else (None if dash else lo)
            if lo < 1 or (hi is not None and hi < lo):
                raise _lora_error(entry, f"pass range {part.strip()!r} is empty or starts below 1")
            ranges.append((lo, hi))
    return LoraSpec(name=name, weights=weights, ramp=ramp, ranges=tuple(ranges), text=text)


def _split_lines(lines: Sequence[str]) -> list[str]:
    out = []
    for line in lines:
        for piece in line.split(";"):
            piece = piece.strip()
            if piece and not piece.startswith("#"):
                out.append(piece)
    return out


def parse_lora_lines(lines: Sequence[str]) -> list[LoraSpec]:
    """Parse every entry of the settings' lines (syntax only; raises SettingsError)."""
    return [parse_lora(entry) for entry in _split_lines(lines)]


def lora_schedule(lines: Sequence[str], n_passes: int) -> list[dict[str, float]]:
    """Per-pass ``{lora name: weight}`` (index 0 = first pass) from the settings' lines.

    Lines may also hold several entries separated by ';'; '#' starts a comment line.
    A LoRA absent from a pass's dict is not applied on that pass. Naming a pass beyond
    ``n_passes``, giving more weights than chosen passes, or choosing a pass twice for
    one LoRA is an error (SettingsError).
    """
    per_pass: list[dict[str, float]] = [{} for _ in range(n_passes)]
    for spec in parse_lora_lines(lines):
        chosen: list[int] = []
        for lo, hi in spec.ranges or ((1, None),):
            if lo > n_passes or (hi is not None and hi > n_passes):
                bad = hi if hi is not None and hi > n_passes else lo
                raise _lora_error(spec.text, f"pass {bad} does not exist, the upscale has {n_passes} pass(es)")
            chosen.extend(range(lo, (hi if hi is not None else n_passes) + 1))
        if len(set(chosen)) != len(chosen):
            raise _lora_error(spec.text, "a pass is chosen twice")
        chosen.sort()
        if spec.ramp:
            a, b = spec.weights
            k = len(chosen)
            weights = [a + (b - a) * (i / (k - 1) if k > 1 else 0.0) for i in range(k)]
        else:
            if len(spec.weights) > len(chosen):
                raise _lora_error(spec.text, f"{len(spec.weights)} weights for {len(chosen)} pass(es)")
            weights = [spec.weights[min(i, len(spec.weights) - 1)] for i in range(len(chosen))]
        for p, w in zip(chosen, weights, strict=True):
            if spec.name in per_pass[p - 1]:
                raise _lora_error(spec.text, f"pass {p} already has a weight for {spec.name!r}")
            per_pass[p - 1][spec.name] = round(w, 4)
    return per_pass


# ---- schedules -------------------------------------------------------------------

def round8(value: float) -> int:
    """Nearest multiple of 8 (at least 8): SD sizes are whole latent cells."""
    return max(8, int(round(value / 8.0)) * 8)


def resolve_target(settings: UpscaleSettings, source: Size) -> Size:
    """The final size (multiples of 8) from a scale or a target width/height."""
    w, h = source
    if w < 1 or h < 1:
        raise ValueError(f"source size {w}x{h} is empty")
    if settings.size_mode == "scale":
        return round8(w * settings.scale), round8(h * settings.scale)
    tw, th = settings.target_width, settings.target_height
    if not tw:
        tw = round8(w * th / h)
    if not th:
        th = round8(h * tw / w)
    if tw < w - 7 or th < h - 7:
        raise SettingsError(f"target size {tw}x{th} is smaller than the source {w}x{h}: nothing to upscale")
    return tw, th


def split_sizes(source: Size, target: Size, n_passes: int, mode: str = "geometric") -> list[Size]:
    """Output size of every pass: multiples of 8, non-decreasing, the last exactly ``target``.

    ``geometric``: each axis grows by the same factor every pass, ``(T/S) ** (1/n)``
    (Impact Pack's geometric mode); ``linear``: by the same number of pixels (its
    ``simple`` mode).
    """
    if n_passes < 1:
        raise ValueError("at least one pass")
    if mode not in ("geometric", "linear"):
        raise ValueError(f"scale split {mode!r} is not 'geometric' or 'linear'")
    sizes: list[Size] = []
    prev = (0, 0)
    for k in range(1, n_passes + 1):
        t = k / n_passes
        dims = []
        for s, e, p in zip(source, target, prev, strict=True):
            if k == n_passes:
                v = e
            elif mode == "geometric":
                v = round8(s * (e / s) ** t)
            else:
                v = round8(s + (e - s) * t)
            dims.append(min(max(v, p), e))
        prev = (dims[0], dims[1])
        sizes.append(prev)
    return sizes


def ramp(start: float, end: float, n: int) -> list[float]:
    """``n`` values in a straight line from ``start`` (first pass) to ``end`` (last)."""
    return [start + (end - start) * (k / (n - 1) if n > 1 else 0.0) for k in range(n)]


def denoise_values(start: float, floor: float, n: int, schedule: str = "geometric", decay: float = 0.8) -> list[float]:
    """Denoise per pass (0-1), rounded to 4 decimals.

    geometric: ``max(floor, start * decay**k)``; linear: straight from ``start`` to
    ``floor``; cosine: ``floor + (start - floor) * (1 + cos(pi * k / (n-1))) / 2``, flat at
    both ends (like Loopback's eased curves).
    """
    out = []
    for k in range(n):
        t = k / (n - 1) if n > 1 else 0.0
        if schedule == "geometric":
            d = max(floor, start * decay**k)
        elif schedule == "linear":
            d = start + (floor - start) * t
        elif schedule == "cosine":
            d = floor + (start - floor) * (1.0 + math.cos(math.pi * t)) / 2.0
        else:
            raise ValueError(f"denoise schedule {schedule!r} is not geometric, linear or cosine")
        out.append(round(d, 4))
    return out


def effective_steps(denoise: float, steps: int) -> int:
    """Steps img2img actually runs in A1111 with default settings: ``int(min(d, .999) * steps)``."""
    return int(min(denoise, A1111_DENOISE_CLAMP) * steps)


def steps_for(denoise: float, steps: int, min_effective: int, max_steps: int = MAX_STEPS) -> int:
    """The smallest steps >= ``steps`` whose effective count is >= ``min_effective``.

    Capped at ``max_steps``; the caller checks ``effective_steps`` to see if it fell short.
    """
    if denoise <= 0 or effective_steps(denoise, steps) >= min_effective:
        return steps
    s = max(steps, math.ceil(min_effective / min(denoise, A1111_DENOISE_CLAMP)) - 1)
    while s < max_steps and effective_steps(denoise, s) < min_effective:
        s += 1
    return min(s, max_steps)


# ---- the plan ----------------------------------------------------------------------

@dataclass(frozen=True)
class PassPlan:
    """Everything one pass needs. ``index`` is 0-based; ``number`` (1-based) is for people."""

    index: int
    input_size: Size
    output_size: Size
    scale: float  # area-linear growth factor of this pass, sqrt(out_area / in_area)
    denoise: float
    steps: int  # steps asked of the sampler (raised to keep effective_steps up)
    effective_steps: int  # int(denoise * steps): steps img2img really runs
    cfg: float
    seed: int
    lora: Mapping[str, float]
    controlnet_weight: float
    grid: TileGrid

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def tiles(self) -> int:
        return self.grid.count

    def overrides(self, n_passes: int) -> dict[str, Any]:
        """Renderer overrides in WebUI payload names, plus FacePop's per-pass extras."""
        return {
            "denoising_strength": self.denoise,
            "steps": self.steps,
            "cfg_scale": self.cfg,
            "facepop_pass": self.number,
            "facepop_passes": n_passes,
            "lora": dict(self.lora),
            "controlnet_weight": self.controlnet_weight,
        }


TABLE_COLUMNS = ("pass", "input", "output", "scale", "denoise", "steps", "effective steps", "cfg", "seed",
                 "lora", "controlnet", "tiles")


@dataclass(frozen=True)
class UpscalePlan:
    """The passes of one upscale, from ``source_size`` to exactly ``target_size``."""

    source_size: Size
    target_size: Size
    passes: tuple[PassPlan, ...]
    warnings: tuple[str, ...] = ()

    @property
    def tile_renders(self) -> int:
        """Renderer calls (one per tile per pass)."""
        return sum(p.tiles for p in self.passes)

    @property
    def sampler_steps(self) -> int:
        """Total denoising steps run, summed over passes and tiles (a cost measure)."""
        return sum(p.effective_steps * p.tiles for p in self.passes)

    def table(self) -> list[dict[str, Any]]:
        """One row per pass, keys ``TABLE_COLUMNS``; values are display-ready str/int/float."""
        rows = []
        for p in self.passes:
            rows.append({
                "pass": p.number,
                "input": f"{p.input_size[0]}x{p.input_size[1]}",
                "output": f"{p.output_size[0]}x{p.output_size[1]}",
                "scale": round(p.scale, 3),
                "denoise": p.denoise,
                "steps": p.steps,
                "effective steps": p.effective_steps,
                "cfg": p.cfg,
                "seed": p.seed,
                "lora": " ".join(f"{k}:{v:g}" for k, v in p.lora.items()),
                "controlnet": p.controlnet_weight,
                "tiles": p.grid.describe(),
            })
        return rows

    def table_text(self) -> str:
        """The table as aligned plain text (CLI, logs), with totals and warnings below."""
        rows = [list(TABLE_COLUMNS)] + [[str(v) for v in r.values()] for r in self.table()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
        lines = ["  ".join(c.ljust(wd) for c, wd in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.append(
            f"{len(self.passes)} pass(es), {self.source_size[0]}x{self.source_size[1]} -> "
            f"{self.target_size[0]}x{self.target_size[1]}, {self.tile_renders} tile renders, "
            f"{self.sampler_steps} sampler steps"
        )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def summary(self) -> str:
        """One line per plan without commas or colons (safe as an infotext value)."""
        return " | ".join(
            f"{p.output_size[0]}x{p.output_size[1]} d{p.denoise:g} s{p.steps}/{p.effective_steps} "
            f"cfg{p.cfg:g} seed{p.seed} cn{p.controlnet_weight:g} t{p.grid.cols}x{p.grid.rows}"
            for p in self.passes
        )

    def to_infotext(self) -> dict[str, str]:
        """``{"FacePop Upscale plan": summary}`` to add next to the settings' infotext."""
        return {f"{UpscaleSettings.INFOTEXT_PREFIX} plan": self.summary()}


def plan_upscale(settings: UpscaleSettings, source_size: Size, *, seed: int | None = None) -> UpscalePlan:
    """Plan every pass of an upscale of a ``source_size`` (width, height) image.

    The first pass's seed is ``settings.seed`` when >= 0, else ``seed`` (the image's seed
    from the caller), else 0. Pure: no pixels, no randomness.
    """
    n = settings.passes
    target = resolve_target(settings, source_size)
    sizes = split_sizes(source_size, target, n, settings.scale_split)
    denoise = denoise_values(settings.denoise_start, settings.denoise_floor, n, settings.denoise_schedule,
                             settings.denoise_decay)
    cfgs = ramp(settings.cfg_start, settings.cfg_end, n)
    cns = ramp(settings.controlnet_weight_start, settings.controlnet_weight_end, n)
    loras = lora_schedule(settings.loras, n)
    base_seed = settings.seed if settings.seed >= 0 else (seed if seed is not None and seed >= 0 else 0)
    warnings: list[str] = []
    passes = []
    prev = source_size
    for k in range(n):
        out = sizes[k]
        steps = steps_for(denoise[k], settings.steps, settings.min_effective_steps)
        eff = effective_steps(denoise[k], steps)
        if eff < settings.min_effective_steps:
            warnings.append(f"pass {k + 1}: denoise {denoise[k]:g} gives only {eff} effective steps at the "
                            f"{MAX_STEPS}-step cap")
        if out == prev and k > 0:
            warnings.append(f"pass {k + 1}: no growth left at {out[0]}x{out[1]} (it only re-renders)")
        passes.append(PassPlan(
            index=k,
            input_size=prev,
            output_size=out,
            scale=math.sqrt((out[0] * out[1]) / (prev[0] * prev[1])),
            denoise=denoise[k],
            steps=steps,
            effective_steps=eff,
            cfg=round(cfgs[k], 3),
            seed=(base_seed + k if settings.seed_mode == "increment" else base_seed) % 2**32,
            lora=MappingProxyType(loras[k]),
            controlnet_weight=round(cns[k], 3),
            grid=plan_grid(out[0], out[1], settings.tile_size, settings.tile_overlap),
        ))
        prev = out
    return UpscalePlan(source_size=tuple(source_size), target_size=target, passes=tuple(passes),  # type: ignore[arg-type]
                       warnings=tuple(warnings))


# ---- presets -------------------------------------------------------------------

#: Settings each preset replaces; everything else (size, LoRAs, upscaler...) is kept.
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    # Many small steps (x1.19 per pass for x4), strong early denoise decaying to a floor,
    # ControlNet tightening as tiles cover less of the subject, CFG easing off so
    # contrast does not pile up, matrix + wavelet colour fix against the original every pass.
    "Creative": MappingProxyType({
        "passes": 8, "scale_split": "geometric",
        "denoise_start": 0.45, "denoise_schedule": "geometric", "denoise_decay": 0.85, "denoise_floor": 0.2,
        "steps": 24, "min_effective_steps": 10, "cfg_start": 7.0, "cfg_end": 5.0, "seed_mode": "increment",
        "controlnet_weight_start": 0.5, "controlnet_weight_end": 0.7,
        "tile_size": 1024, "tile_overlap": 128, "color_fix": "matrix+wavelet", "color_fix_strength": 1.0,
        "controlnet_module": "tile_resample", "controlnet_mode": "My prompt is more important",
    }),
    # Small growth per pass (x1.41 for x4, under the 1.5 'faithful' cap), low denoise,
    # strong ControlNet, low CFG: keeps the picture, sharpens it.
    "Faithful": MappingProxyType({
        "passes": 4, "scale_split": "geometric",
        "denoise_start": 0.3, "denoise_schedule": "geometric", "denoise_decay": 0.8, "denoise_floor": 0.15,
        "steps": 30, "min_effective_steps": 10, "cfg_start": 5.0, "cfg_end": 5.0, "seed_mode": "increment",
        "controlnet_weight_start": 0.9, "controlnet_weight_end": 0.9,
        "tile_size": 1024, "tile_overlap": 128, "color_fix": "matrix+wavelet", "color_fix_strength": 1.0,
        "controlnet_module": "tile_colorfix", "controlnet_mode": "Balanced",
    }),
    # Clarity's schedule (0.35 x0.8, CFG 6, CN 0.6) in two passes, with effective steps
    # kept at 8 and a wider overlap than Clarity's 32 px.
    "Fast": MappingProxyType({
        "passes": 2, "scale_split": "geometric",
        "denoise_start": 0.35, "denoise_schedule": "geometric", "denoise_decay": 0.8, "denoise_floor": 0.2,
        "steps": 20, "min_effective_steps": 8, "cfg_start": 6.0, "cfg_end": 6.0, "seed_mode": "increment",
        "controlnet_weight_start": 0.6, "controlnet_weight_end": 0.6,
        "tile_size": 1024, "tile_overlap": 96, "color_fix": "matrix+wavelet", "color_fix_strength": 1.0,
        "controlnet_module": "tile_resample", "controlnet_mode": "My prompt is more important",
    }),
})


def apply_preset(settings: UpscaleSettings, name: str) -> UpscaleSettings:
    """A copy of ``settings`` with the preset's fields replaced."""
    if name not in PRESETS:
        raise SettingsError(f"unknown upscale preset {name!r}; presets are {', '.join(PRESETS)}")
    return settings.replace(**PRESETS[name])


# ---- the pass loop ---------------------------------------------------------------

#: ``pixel_upscaler(image, (width, height)) -> image`` of (ideally) that size.
PixelUpscaler = Callable[[np.ndarray, Size], np.ndarray]
#: ``progress(pass_number, n_passes, tiles_done, n_tiles)``; pass_number is 1-based,
#: called with tiles_done=0 when a pass starts and after every rendered tile batch.
Progress = Callable[[int, int, int, int], None]


def lanczos_resize(image: np.ndarray, size: Size) -> np.ndarray:
    """Lanczos resample to ``size`` (width, height) with PIL (A1111's final resampler)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image.copy()
    return np.array(Image.fromarray(image).resize(tuple(size), Image.LANCZOS))


@dataclass(frozen=True)
class PassTiming:
    """Wall-clock seconds spent in each stage of one pass."""

    index: int
    pixel_upscale_s: float
    render_s: float
    color_fix_s: float
    face_s: float

    @property
    def total_s(self) -> float:
        return self.pixel_upscale_s + self.render_s + self.color_fix_s + self.face_s


@dataclass
class UpscaleResult:
    """The upscaled image (or the best image so far when interrupted) and what happened.

    ``image`` is the output of the last completed pass; when the user stopped before any
    pass completed it is the source image, unchanged. ``pass_images`` holds each
    completed pass's image only when ``keep_pass_images`` was asked for.
    """

    image: np.ndarray
    plan: UpscalePlan
    interrupted: bool = False
    completed_passes: int = 0
    pass_images: list[np.ndarray] = field(default_factory=list)
    timings: list[PassTiming] = field(default_factory=list)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be HxWx3 (or x4) uint8, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image[..., :3])


def _pixel_upscale(image: np.ndarray, size: Size, upscaler: PixelUpscaler | None) -> np.ndarray:
    if upscaler is None:
        return lanczos_resize(image, size)
    out = np.asarray(upscaler(image, size))
    if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] < 3:
        raise ValueError(f"pixel upscaler returned {out.shape} {out.dtype}, expected HxWx3 uint8")
    out = out[..., :3]
    if (out.shape[1], out.shape[0]) != tuple(size):  # a model's fixed factor: finish with Lanczos
        out = lanczos_resize(np.ascontiguousarray(out), size)
    if not out.flags.writeable or not out.flags.c_contiguous or np.may_share_memory(out, image):
        out = np.array(out, copy=True)  # the tiled render writes into it in place
    return out


def upscale_image(
    image: np.ndarray,
    settings: UpscaleSettings,
    renderer: Renderer,
    *,
    pixel_upscaler: PixelUpscaler | None = None,
    face_refiner: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    save_pass: Callable[[PassPlan, np.ndarray], None] | None = None,
    seed: int | None = None,
    keep_pass_images: bool = False,
) -> UpscaleResult:
    """Run every pass of ``plan_upscale(settings, size, seed=seed)`` on ``image``.

    Per pass: pixel pre-upscale to the pass size, render (whole canvas, or tiles blended
    by ``tiles.render_tiled`` once the canvas exceeds the tile size), colour fix against
    the original Lanczos-resized to the pass size, ``face_refiner`` on the last pass (when
    given; adapters pass one only when ``settings.face_refine`` is on), then
    ``save_pass(pass_plan, image)``. ``should_stop()`` is checked between tiles and passes;
    it, or ``RenderInterrupted`` from the renderer or face refiner, ends the loop and the
    result carries the last completed pass's image with ``interrupted=True``.

    ``settings.pixel_upscaler`` only names an upscaler: the caller resolves it into
    ``pixel_upscaler`` (None = Lanczos). ``seed`` is the image's seed, used when
    ``settings.seed`` is -1. Memory: the source, the current pass canvas (rendered in
    place), one float32 row of tiles and strip-wise colour-fix scratch; a 1024 -> 4096
    upscale peaks at about 0.36 GiB RSS in the benchmark.
    """
    original = _as_rgb(image)
    h0, w0 = original.shape[:2]
    plan = plan_upscale(settings, (w0, h0), seed=seed)
    n = len(plan.passes)
    result = UpscaleResult(image=original, plan=plan)
    current = original

    def stopped() -> bool:
        return should_stop is not None and bool(should_stop())

    for p in plan.passes:
        if stopped():
            result.interrupted = True
            break
        if progress is not None:
            progress(p.number, n, 0, p.tiles)
        t0 = time.perf_counter()
        canvas = _pixel_upscale(current, p.output_size, pixel_upscaler)
        t1 = time.perf_counter()
        on_tile = (lambda done, total, _k=p.number: progress(_k, n, done, total)) if progress is not None else None
        try:
            rendered = render_tiled(canvas, p.grid, renderer, p.overrides(n), p.seed, batch=settings.tile_batch,
                                    should_stop=should_stop, on_tile=on_tile, out=canvas)
        except RenderInterrupted:
            result.interrupted = True
            break
        t2 = time.perf_counter()
        if settings.color_fix != "none" and settings.color_fix_strength > 0:
            reference = lanczos_resize(original, p.output_size)
            rendered = color_fix(rendered, reference, settings.color_fix, settings.color_fix_strength)
            del reference
        t3 = time.perf_counter()
        if face_refiner is not None and p.number == n:
            try:
                refined = np.asarray(face_refiner(rendered))
            except RenderInterrupted:
                refined = None
                result.interrupted = True
            if refined is not None:
                if refined.shape != rendered.shape or refined.dtype != np.uint8:
                    raise ValueError(f"face refiner returned {refined.shape} {refined.dtype}, "
                                     f"expected {rendered.shape} uint8")
                rendered = refined
        t4 = time.perf_counter()
        current = rendered
        result.image = current
        result.completed_passes = p.number
        result.timings.append(PassTiming(p.index, t1 - t0, t2 - t1, t3 - t2, t4 - t3))
        if keep_pass_images:
            result.pass_images.append(current)
        if save_pass is not None:
            save_pass(p, current)
        if result.interrupted:
            break
    return result
