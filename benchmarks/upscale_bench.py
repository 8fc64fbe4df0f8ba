"""Upscale benchmark: schedules and cost, colour drift, seams, peak memory.

Prints, from one run with deterministic renderers (no diffusion model involved):

1. Schedules for one 1024x1024 -> 4096x4096 upscale: per-pass sizes, denoise, effective
   steps and tiles for FacePop's Creative / Faithful / Fast presets against Ultimate SD
   Upscale (defaults, with and without its half-tile + intersections seam fix) and
   Clarity (x2 passes, denoise x0.8, Tiled Diffusion latent tiles 112x144 overlap 4),
   modelled from shared/reference/upscalers.md. "tile-steps" = sum over passes of tiles x
   effective steps (A1111 runs int(denoise x steps)); "MP-steps" = the same weighted by
   the processed tile area in megapixels (a compute proxy: UNet cost ~ pixels).
2. Colour drift over 8 passes (Creative preset, x4 from 256 px) with a renderer that warms
   every tile by 3 % per pass (R x1.03, B x0.97): mean CIEDE2000 and CIE76 in CIELAB (D65)
   against the original Lanczos-upscaled to the output size, per pixel and after a
   15-px box blur (colour only, detail ignored), for each colour fix. Variants: an
   additive cast (R +7.65, B -7.65 levels = 3 % of 255), a 6 % saturation boost, and
   the warm cast plus sharpening (invented detail, which the per-pixel figure counts as
   difference). The identity row is the floor: 8 Lanczos resamples against one.
3. Seam energy: a 2048x2048 stationary texture rendered in tiles by a renderer that adds a
   random per-tile offset (up to +-8 levels per channel): mean squared neighbour
   difference across tile borders divided by the same in the tile interiors, for
   FacePop's feathered blend and for a hard stitch at mid-overlap.
4. Peak memory of a 1024 -> 4096x4096 upscale (Fast and Creative presets, matrix+wavelet
   colour fix) in a fresh subprocess: peak RSS (VmHWM, whole process including Python,
   numpy, cv2, PIL; ru_maxrss off Linux) and the tracemalloc peak of Python/numpy
   allocations.

    python benchmarks/upscale_bench.py [--skip-ram]

Targets: drift after 8 passes with colour fix <= 1.0 mean dE2000; seams <= 1.1x the
interior; peak RAM for a 4096x4096 output <= 2 GB.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import color, data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib_facepop.render import IdentityRenderer  # noqa: E402
from lib_facepop.settings import UpscaleSettings  # noqa: E402
from lib_facepop.tiles import TileGrid, plan_grid, render_tiled  # noqa: E402
from lib_facepop.upscale import (  # noqa: E402
    PRESETS,
    apply_preset,
    effective_steps,
    lanczos_resize,
    plan_upscale,
    upscale_image,
)

SOURCE = (1024, 1024)
TARGET_SCALE = 4.0


# ---- 1. schedules ----------------------------------------------------------------

@dataclass
class PassRow:
    size: tuple[int, int]
    denoise: float
    steps: int
    tiles: int
    tile_px: tuple[int, int]  # processed tile size (what the UNet sees)
    note: str = ""

    @property
    def eff(self) -> int:
        return effective_steps(self.denoise, self.steps)


def facepop_rows(preset: str) -> list[PassRow]:
    s = apply_preset(UpscaleSettings(scale=TARGET_SCALE), preset)
    plan = plan_upscale(s, SOURCE)
    return [PassRow(p.output_size, p.denoise, p.steps, p.tiles, (p.grid.tile_width, p.grid.tile_height))
            for p in plan.passes]


def usdu_rows(seam_fix: bool) -> list[PassRow]:
    """USDU defaults: tile 512, padding 32, one redraw of the pixel-upscaled image.

    Each tile is processed at ceil((512 + 32) / 64) * 64 = 576 px; all tiles share the
    img2img denoise (0.35, the README's advice) and A1111's default 20 steps. The
    half-tile + intersections seam fix adds rows(cols-1) + (rows-1)cols + (rows-1)(cols-1)
    jobs at the seam-fix denoise 0.35.
    """
    w, h = (int(SOURCE[0] * TARGET_SCALE), int(SOURCE[1] * TARGET_SCALE))
    rows, cols = math.ceil(h / 512), math.ceil(w / 512)
    proc = math.ceil((512 + 32) / 64) * 64
    out = [PassRow((w, h), 0.35, 20, rows * cols, (proc, proc), "redraw")]
    if seam_fix:
        jobs = rows * (cols - 1) + (rows - 1) * cols + (rows - 1) * (cols - 1)
        out.append(PassRow((w, h), 0.35, 20, jobs, (proc, proc), "seam fix"))
    return out


def clarity_rows() -> list[PassRow]:
    """Clarity: x2 per pass, creativity 0.35 x0.8 per pass, 18 steps, TD tiles 112x144 latent.

    Tiled Diffusion (MultiDiffusion) runs every latent tile at every step:
    cols = ceil((W - 4) / (112 - 4)), rows = ceil((H - 4) / (144 - 4)) in latent units.
    """
    out = []
    size, d = SOURCE, 0.35
    for _ in range(round(math.log2(TARGET_SCALE))):
        size = (size[0] * 2, size[1] * 2)
        lw, lh = size[0] // 8, size[1] // 8
        cols = 1 if lw <= 112 else math.ceil((lw - 4) / (112 - 4))
        rows = 1 if lh <= 144 else math.ceil((lh - 4) / (144 - 4))
        out.append(PassRow(size, round(d, 4), 18, rows * cols, (min(lw, 112) * 8, min(lh, 144) * 8)))
        d *= 0.8
    return out


def print_schedules() -> None:
    print(f"== 1. Schedules for {SOURCE[0]}x{SOURCE[1]} -> x{TARGET_SCALE:g} "
          f"({int(SOURCE[0] * TARGET_SCALE)}x{int(SOURCE[1] * TARGET_SCALE)}) ==")
    tools = [(f"FacePop {name}", facepop_rows(name)) for name in PRESETS]
    tools += [("USDU (defaults)", usdu_rows(False)), ("USDU + half-tile+int. seam fix", usdu_rows(True)),
              ("Clarity (defaults)", clarity_rows())]
    summary = []
    for name, rows in tools:
        print(f"-- {name}")
        print("   pass  output      denoise  steps  eff  tiles  tile px     tile-steps")
        for i, r in enumerate(rows, 1):
            print(f"   {i:<4}  {r.size[0]}x{r.size[1]:<6} {r.denoise:<7.4g}  {r.steps:<5}  {r.eff:<3}  {r.tiles:<5}  "
                  f"{r.tile_px[0]}x{r.tile_px[1]:<6} {r.eff * r.tiles:>6}  {r.note}")
        tile_steps = sum(r.eff * r.tiles for r in rows)
        mp_steps = sum(r.eff * r.tiles * r.tile_px[0] * r.tile_px[1] for r in rows) / 1e6
        summary.append((name, len(rows), sum(r.tiles for r in rows), tile_steps, mp_steps,
                        min(r.eff for r in rows)))
    print("-- totals")
    print("   tool                             passes  renders  tile-steps  MP-steps  min eff steps/pass")
    for name, n, renders, ts, mps, mineff in summary:
        print(f"   {name:<32} {n:<7} {renders:<8} {ts:<11} {mps:<9.0f} {mineff}")


# ---- 2. colour drift ---------------------------------------------------------------

class CastRenderer:
    """Warms each tile by 3 %: R x1.03, B x0.97 (optionally sharpens: invented detail)."""

    def __init__(self, sharpen: bool = False) -> None:
        self.sharpen = sharpen

    def render(self, canvas, mask, overrides, seed):
        x = canvas.astype(np.float32)
        if self.sharpen:
            x += 0.3 * (x - cv2.GaussianBlur(x, (0, 0), 1.0))
        x *= np.array([1.03, 1.0, 0.97], np.float32)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class AddCastRenderer:
    """Shifts each tile by 3 % of full scale: R +7.65, B -7.65 levels."""

    def render(self, canvas, mask, overrides, seed):
        x = canvas.astype(np.float32) + np.array([7.65, 0.0, -7.65], np.float32)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class SaturateRenderer:
    """Boosts saturation by 6 % around the channel mean (a VAE/CFG-like shift)."""

    def render(self, canvas, mask, overrides, seed):
        x = canvas.astype(np.float32)
        y = x.mean(axis=2, keepdims=True)
        return np.clip(np.rint(y + (x - y) * 1.06), 0, 255).astype(np.uint8)


def delta_e(a: np.ndarray, b: np.ndarray, blur: int = 0) -> tuple[float, float]:
    """Mean CIEDE2000 and CIE76 between two sRGB uint8 images (optionally box-blurred first)."""
    if blur:
        a, b = cv2.blur(a, (blur, blur)), cv2.blur(b, (blur, blur))
    la, lb = color.rgb2lab(a), color.rgb2lab(b)
    return float(color.deltaE_ciede2000(la, lb).mean()), float(color.deltaE_cie76(la, lb).mean())


def print_drift() -> None:
    print("\n== 2. Colour drift over 8 passes (Creative preset, 256 -> 1024 px, tiles 512 / overlap 128) ==")
    print("   mean dE vs the original Lanczos-upscaled to 1024 px; 'blur15' = both images box-blurred 15 px first")
    original = np.ascontiguousarray(cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA))
    fixes = ("none", "adain", "wavelet", "matrix+wavelet")
    renderers = [("identity", IdentityRenderer(), ("none",)), ("warm 3% (gain)", CastRenderer(), fixes),
                 ("shift 3% (add)", AddCastRenderer(), fixes), ("saturation +6%", SaturateRenderer(), fixes),
                 ("warm + sharpen", CastRenderer(sharpen=True), fixes)]
    print("   renderer         colour fix      dE2000  dE76   dE2000 blur15  dE76 blur15   dE2000 after pass 1..8")
    for name, renderer, names in renderers:
        for fix in names:
            s = apply_preset(UpscaleSettings(scale=4.0), "Creative").replace(
                color_fix=fix, tile_size=512, tile_overlap=128)
            per_pass: list[float] = []

            def measure(p, img, _per_pass=per_pass):
                _per_pass.append(delta_e(img, lanczos_resize(original, p.output_size))[0])

            curve_wanted = name.startswith("warm 3%")
            result = upscale_image(original, s, renderer, save_pass=measure if curve_wanted else None)
            ref = lanczos_resize(original, result.plan.target_size)
            de00, de76 = delta_e(result.image, ref)
            b00, b76 = delta_e(result.image, ref, blur=15)
            curve = " ".join(f"{v:.2f}" for v in per_pass)
            print(f"   {name:<16} {fix:<15} {de00:<7.2f} {de76:<6.2f} {b00:<14.2f} {b76:<12.2f}  {curve}")


# ---- 3. seams ------------------------------------------------------------------------

class OffsetRenderer:
    """Adds a random constant per tile and channel (seeded by the tile index)."""

    def render(self, canvas, mask, overrides, seed):
        rng = np.random.default_rng(1000 + overrides["facepop_tile"])
        off = rng.uniform(-8, 8, 3).astype(np.float32)
        return np.clip(canvas.astype(np.float32) + off, 0, 255).astype(np.uint8)


def texture(n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (n, n, 3)).astype(np.float32)
    x = cv2.GaussianBlur(x, (0, 0), 1.5)
    x *= 18.0 / x.std()
    ramp = np.linspace(-30, 30, n, dtype=np.float32)
    x += 128 + ramp[None, :, None] + ramp[:, None, None] * 0.5
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def hard_stitch(canvas: np.ndarray, grid: TileGrid, renderer) -> tuple[np.ndarray, list[int], list[int]]:
    """Each pixel from exactly one tile, cut at the middle of each overlap (no feathering)."""
    out = np.empty_like(canvas)

    def cuts(starts, size):
        return [0] + [(starts[i] + size + starts[i + 1]) // 2 for i in range(len(starts) - 1)] + [None]

    cx, cy = cuts(grid.xs, grid.tile_width), cuts(grid.ys, grid.tile_height)
    for t in grid.tiles():
        crop = canvas[t.y : t.y + t.height, t.x : t.x + t.width]
        img = renderer.render(crop, None, {"facepop_tile": t.index + 1}, 0)
        x0, x1 = cx[t.col], cx[t.col + 1] or grid.width
        y0, y1 = cy[t.row], cy[t.row + 1] or grid.height
        out[y0:y1, x0:x1] = img[y0 - t.y : y1 - t.y, x0 - t.x : x1 - t.x]
    return out, [c for c in cx[1:-1]], [c for c in cy[1:-1]]


def seam_ratio(img: np.ndarray, seams_x: list[int], seams_y: list[int], bands_x, bands_y) -> float:
    """Mean squared neighbour difference across the seam lines / in the interior (both axes)."""
    f = img.astype(np.float64)
    ex = np.square(np.diff(f, axis=1)).mean(axis=(0, 2))  # ex[i]: between columns i and i+1
    ey = np.square(np.diff(f, axis=0)).mean(axis=(1, 2))

    def ratio(e, seams, bands):
        seam = np.mean([e[s - 1] for s in seams])
        inside = np.ones(e.shape[0], bool)
        for a, b in bands:
            inside[max(a - 1, 0) : b] = False
        return seam, e[inside].mean()

    sx, ix = ratio(ex, seams_x, bands_x)
    sy, iy = ratio(ey, seams_y, bands_y)
    return float((sx + sy) / (ix + iy))


def print_seams() -> None:
    print("\n== 3. Seam energy (2048x2048 texture, per-tile offsets up to +-8 levels) ==")
    canvas = texture(2048)
    print("   grid                       blend              border/interior energy")
    for tile, overlap in ((512, 64), (1024, 128)):
        g = plan_grid(2048, 2048, tile, overlap)
        bands_x = [(g.xs[i + 1], g.xs[i] + g.tile_width) for i in range(g.cols - 1)]
        bands_y = [(g.ys[i + 1], g.ys[i] + g.tile_height) for i in range(g.rows - 1)]
        edges_x = sorted({a for a, _ in bands_x} | {b for _, b in bands_x} | {(a + b) // 2 for a, b in bands_x})
        edges_y = sorted({a for a, _ in bands_y} | {b for _, b in bands_y} | {(a + b) // 2 for a, b in bands_y})
        label = f"{g.describe()} ov>={overlap}"
        ident = render_tiled(canvas, g, IdentityRenderer(), {}, 0)
        print(f"   {label:<26} identity (control)  {seam_ratio(ident, edges_x, edges_y, bands_x, bands_y):.3f}")
        feather = render_tiled(canvas, g, OffsetRenderer(), {}, 0)
        print(f"   {label:<26} FacePop feathered   {seam_ratio(feather, edges_x, edges_y, bands_x, bands_y):.3f}"
              f"   (tile edges + mid-overlap lines)")
        hard, cx, cy = hard_stitch(canvas, g, OffsetRenderer())
        print(f"   {label:<26} hard stitch         {seam_ratio(hard, cx, cy, bands_x, bands_y):.3f}"
              f"   (at the cut lines)")


# ---- 4. peak memory -------------------------------------------------------------------

def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB.

    Linux's VmHWM belongs to the current address space; ru_maxrss is not used there
    because Linux carries it over from the parent across fork + exec (the child would
    report the benchmark's own earlier peak).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def ram_child(preset: str, trace: bool) -> None:
    """Run one 1024 -> 4096 upscale and print 'rss_mb traced_mb base_mb seconds'."""
    base = peak_rss_mib()
    src = np.ascontiguousarray(cv2.resize(data.astronaut(), SOURCE, interpolation=cv2.INTER_CUBIC))
    s = apply_preset(UpscaleSettings(scale=TARGET_SCALE), preset)
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    result = upscale_image(src, s, OffsetRenderer())
    secs = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    assert result.image.shape == (4096, 4096, 3)
    rss = peak_rss_mib()
    print(f"{rss:.0f} {traced:.0f} {base:.0f} {secs:.1f}")


def print_ram() -> None:
    print("\n== 4. Peak memory, 1024x1024 -> 4096x4096 (subprocess; 4096^2 RGB uint8 = 48 MiB) ==")
    print("   preset     tracemalloc  peak RSS  after imports  wall s")
    for preset, trace in (("Fast", False), ("Fast", True), ("Creative", False)):
        out = subprocess.run([sys.executable, __file__, "--ram-child", preset] + (["--trace"] if trace else []),
                             capture_output=True, text=True, check=True).stdout.split()
        rss, traced, base, secs = out
        tm = f"{traced} MiB" if trace else "-"
        print(f"   {preset:<10} {tm:<12} {rss} MiB{'':<3} {base} MiB{'':<7} {secs}"
              + ("   (tracemalloc on)" if trace else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-ram", action="store_true", help="skip the 4096x4096 memory runs")
    ap.add_argument("--ram-child", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ram_child:
        ram_child(args.ram_child, args.trace)
        return 0
    t0 = time.perf_counter()
    print_schedules()
    print_drift()
    print_seams()
    if not args.skip_ram:
        print_ram()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
