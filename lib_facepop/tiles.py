"""Tile grids and seam-free tiled rendering for the upscale passes.

A pass canvas larger than the model can take at once is cut into overlapping tiles, each
tile is rendered on its own, and the tiles are blended back with linear ramps that span
the *whole* overlap (not just a few pixels of it, which is what leaves the visible seams
users report for SD upscale / Ultimate SD Upscale). The blend weights are separable,
``w(x, y) = wx(x) * wy(y)``, and normalised per axis, so at every pixel the weights of
all tiles covering it sum to exactly 1: a renderer that returns its input unchanged
reproduces the canvas bit for bit, and a renderer that shifts each tile by a constant
turns the step at a seam into a gentle ramp across the overlap.

Memory is bounded: the blend walks the grid one row of tiles at a time and keeps a single
float32 accumulator strip (tile height x canvas width x 3), plus the carried-over overlap
of the previous row. Finished rows are written as uint8 straight into the output canvas,
which may be the input canvas itself (rows are only written once no later tile reads
them). All sizes and positions are in pixels of the pass canvas; tile sizes are
multiples of 8 because Stable Diffusion works in 8-pixel latent cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lib_facepop.render import Renderer, RenderInterrupted

LATENT_CELL = 8  # pixels per latent cell; every tile side is a multiple of this


@dataclass(frozen=True)
class Tile:
    """One tile: its top-left corner and size in canvas pixels, and its grid position."""

    x: int
    y: int
    width: int
    height: int
    row: int
    col: int
    index: int  # row-major, 0-based


@dataclass(frozen=True)
class TileGrid:
    """A grid of equally sized tiles covering a ``width x height`` canvas.

    ``xs``/``ys`` are the left/top edges of the columns/rows. Neighbouring tiles overlap
    by at least ``overlap`` pixels (more where the canvas does not divide evenly); every
    tile is ``tile_width x tile_height``, at most the max tile size, and a multiple of 8
    when the canvas side is.
    """

    width: int
    height: int
    tile_width: int
    tile_height: int
    overlap: int
    xs: tuple[int, ...]
    ys: tuple[int, ...]

    @property
    def cols(self) -> int:
        return len(self.xs)

    @property
    def rows(self) -> int:
        return len(self.ys)

    @property
    def count(self) -> int:
        return self.cols * self.rows

    @property
    def is_single(self) -> bool:
        """True when one tile is the whole canvas (no tiling needed)."""
        return self.count == 1

    def row_tiles(self, row: int) -> list[Tile]:
        y = self.ys[row]
        return [
            Tile(x, y, self.tile_width, self.tile_height, row, c, row * self.cols + c)
            for c, x in enumerate(self.xs)
        ]

    def tiles(self) -> list[Tile]:
        return [t for r in range(self.rows) for t in self.row_tiles(r)]

    def describe(self) -> str:
        """Short text such as ``3x2 of 928x1024`` or ``1x1`` for UI tables."""
        if self.is_single:
            return "1x1"
        return f"{self.cols}x{self.rows} of {self.tile_width}x{self.tile_height}"


def _plan_axis(length: int, max_tile: int, overlap: int) -> tuple[int, tuple[int, ...]]:
    """Tile size and start positions along one axis.

    The fewest tiles of ``max_tile`` px whose neighbours overlap by at least ``overlap``
    px, spread evenly so the spare room becomes extra overlap (as Tiled Diffusion spreads
    its tiles). Tiles stay at the full size because SD models do best near the size they
    were trained at; a side that fits in one tile is not cut.
    """
    if length <= max_tile:
        return length, (0,)
    n = math.ceil((length - overlap) / (max_tile - overlap))
    span = length - max_tile
    # floor division keeps every step <= ceil(span / (n - 1)) <= max_tile - overlap
    starts = tuple((i * span) // (n - 1) for i in range(n))
    return max_tile, starts


def plan_grid(width: int, height: int, max_tile: int, overlap: int) -> TileGrid:
    """The tile grid for a ``width x height`` canvas (pixels).

    A side that fits in ``max_tile`` is not cut (its tiles span it); a longer side is cut
    into tiles of exactly ``max_tile``. Neighbours overlap by at least ``overlap`` px. ``max_tile`` must be a
    multiple of 8 and ``overlap`` at most half of it (so a tile always advances).
    """
    if width < 1 or height < 1:
        raise ValueError(f"canvas {width}x{height} is empty")
    if max_tile < LATENT_CELL or max_tile % LATENT_CELL:
        raise ValueError(f"max tile size {max_tile} must be a positive multiple of {LATENT_CELL}")
    if overlap < 0 or overlap > max_tile // 2:
        raise ValueError(f"tile overlap {overlap} must be between 0 and half the tile size ({max_tile // 2})")
    tw, xs = _plan_axis(width, max_tile, overlap)
    th, ys = _plan_axis(height, max_tile, overlap)
    return TileGrid(width, height, tw, th, overlap, xs, ys)


def axis_weights(starts: Sequence[int], size: int, length: int) -> list[np.ndarray]:
    """Normalised 1-D blend weights, one float32 array of ``size`` per tile.

    Inside the overlap of two neighbours the weights are linear ramps across the full
    overlap (pixel centres, so they never reach exactly 0 or 1 there) and they sum to 1
    at every position of the axis; outside overlaps a tile has weight 1.
    """
    n = len(starts)
    pos = np.arange(length, dtype=np.float64) + 0.5
    raw = np.empty((n, length), dtype=np.float64)
    for i, s in enumerate(starts):
        e = s + size
        w = np.where((pos >= s) & (pos < e), 1.0, 0.0)
        if i > 0:
            prev_end = starts[i - 1] + size
            if prev_end > s:  # rising ramp over [s, prev_end)
                w = np.minimum(w, np.clip((pos - s) / (prev_end - s), 0.0, 1.0))
        if i < n - 1:
            nxt = starts[i + 1]
            if e > nxt:  # falling ramp over [nxt, e)
                w = np.minimum(w, np.clip((e - pos) / (e - nxt), 0.0, 1.0))
        w[(pos < s) | (pos >= e)] = 0.0
        raw[i] = w
    total = raw.sum(axis=0)
    if np.any(total <= 0):
        raise ValueError("tiles do not cover the whole axis")
    raw /= total
    return [raw[i, s : s + size].astype(np.float32) for i, s in enumerate(starts)]


def grid_weights(grid: TileGrid) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-column x weights and per-row y weights of a grid (see ``axis_weights``)."""
    return (
        axis_weights(grid.xs, grid.tile_width, grid.width),
        axis_weights(grid.ys, grid.tile_height, grid.height),
    )


@runtime_checkable
class BatchRenderer(Protocol):
    """Optional renderer extension: several same-size canvases in one call (one SD batch)."""

    def render_batch(
        self,
        canvases: list[np.ndarray],
        masks: list[np.ndarray | None],
        overrides: dict[str, Any],
        seeds: list[int],
    ) -> list[np.ndarray]: ...


#: ``on_tile(tiles_done, n_tiles)`` after each rendered batch of tiles.
TileCallback = Callable[[int, int], None]


def _render_group(
    renderer: Renderer,
    crops: list[np.ndarray],
    tiles: list[Tile],
    overrides: dict[str, Any],
    seed: int,
    n_tiles: int,
) -> list[np.ndarray]:
    def tile_overrides(tile: Tile) -> dict[str, Any]:
        return {**overrides, "facepop_tile": tile.index + 1, "facepop_tiles": n_tiles}

    if len(crops) > 1 and isinstance(renderer, BatchRenderer):
        out = renderer.render_batch(crops, [None] * len(crops), tile_overrides(tiles[0]), [seed] * len(crops))
        out = list(out)
        if len(out) != len(crops):
            raise ValueError(f"render_batch returned {len(out)} images for {len(crops)} tiles")
    else:
        out = [renderer.render(c, None, tile_overrides(t), seed) for c, t in zip(crops, tiles, strict=True)]
    for img, crop in zip(out, crops, strict=True):
        if img.shape != crop.shape:
            raise ValueError(f"renderer returned shape {img.shape} for a tile of shape {crop.shape}")
    return out


def render_tiled(
    canvas: np.ndarray,
    grid: TileGrid,
    renderer: Renderer,
    overrides: dict[str, Any],
    seed: int,
    *,
    batch: int = 1,
    should_stop: Callable[[], bool] | None = None,
    on_tile: TileCallback | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Render ``canvas`` (HxWx3 uint8) tile by tile and blend the tiles seam-free.

    Every tile gets the same ``seed`` (as Ultimate SD Upscale does) and the overrides
    plus ``facepop_tile`` (1-based) and ``facepop_tiles``. With ``batch > 1`` and a
    renderer that has ``render_batch``, up to ``batch`` tiles of one row go in one call.
    ``out`` may be ``canvas`` itself (in-place, saving one canvas of memory): a row of the
    output is written only after every tile that reads it has been rendered.

    Raises RenderInterrupted when ``should_stop()`` turns true between tiles (or when the
    renderer raises it); ``out`` is then partly written and must be discarded.
    """
    if canvas.ndim != 3 or canvas.shape[2] != 3 or canvas.dtype != np.uint8:
        raise ValueError(f"canvas must be HxWx3 uint8, got {canvas.shape} {canvas.dtype}")
    h, w = canvas.shape[:2]
    if (w, h) != (grid.width, grid.height):
        raise ValueError(f"grid is for {grid.width}x{grid.height}, canvas is {w}x{h}")
    if out is None:
        out = np.empty_like(canvas)
    n_tiles = grid.count
    batch = max(1, int(batch))

    if grid.is_single:
        if should_stop is not None and should_stop():
            raise RenderInterrupted("stopped before the tile")
        [img] = _render_group(renderer, [canvas.copy()], grid.tiles(), overrides, seed, 1)
        out[...] = img
        if on_tile is not None:
            on_tile(1, 1)
        return out

    wx, wy = grid_weights(grid)
    th, tw = grid.tile_height, grid.tile_width
    # One float32 strip for the current row of tiles; its first `carried` rows hold the
    # blend, so far, of the overlap with the previous row.
    acc = np.empty((th, w, 3), dtype=np.float32)
    carried = 0
    done = 0
    for r in range(grid.rows):
        y0 = grid.ys[r]
        acc[carried:] = 0.0
        row = grid.row_tiles(r)
        for g in range(0, len(row), batch):
            if should_stop is not None and should_stop():
                raise RenderInterrupted(f"stopped after {done} of {n_tiles} tiles")
            group = row[g : g + batch]
            crops = [np.ascontiguousarray(canvas[t.y : t.y + th, t.x : t.x + tw]) for t in group]
            rendered = _render_group(renderer, crops, group, overrides, seed, n_tiles)
            del crops
            for t, img in zip(group, rendered, strict=True):
                contrib = img.astype(np.float32)
                contrib *= (wy[r][:, None] * wx[t.col][None, :])[:, :, None]
                acc[:, t.x : t.x + tw] += contrib
            del rendered, contrib
            done += len(group)
            if on_tile is not None:
                on_tile(done, n_tiles)
        # rows above the next row's top are final: round, clip and store them as uint8
        final = grid.ys[r + 1] - y0 if r + 1 < grid.rows else th
        done_rows = acc[:final]
        np.rint(done_rows, out=done_rows)
        np.clip(done_rows, 0, 255, out=done_rows)
        out[y0 : y0 + final] = done_rows
        carried = th - final
        if carried:
            acc[:carried] = acc[final:]  # numpy buffers overlapping copies
    return out
