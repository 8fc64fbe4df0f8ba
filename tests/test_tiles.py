"""Tile grids and the feathered tile blend."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.render import IdentityRenderer, RenderInterrupted
from lib_facepop.tiles import TileGrid, axis_weights, grid_weights, plan_grid, render_tiled


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class OffsetRenderer:
    """Adds a different constant to every tile: the worst case for seams."""

    def __init__(self, step: float = 12.0) -> None:
        self.step = step
        self.calls: list[dict] = []

    def render(self, canvas, mask, overrides, seed):
        self.calls.append(dict(overrides))
        k = overrides["facepop_tile"]
        offset = self.step * (1 if k % 2 else -1) + k
        return np.clip(canvas.astype(np.float32) + offset, 0, 255).astype(np.uint8)


class BatchIdentity(IdentityRenderer):
    def __init__(self) -> None:
        self.batches: list[int] = []

    def render(self, canvas, mask, overrides, seed):
        self.batches.append(1)
        return canvas.copy()

    def render_batch(self, canvases, masks, overrides, seeds):
        self.batches.append(len(canvases))
        return [c.copy() for c in canvases]


# ---- grid ------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(
    w=st.integers(1, 700).map(lambda v: v * 8),
    h=st.integers(1, 700).map(lambda v: v * 8),
    tile=st.integers(32, 256).map(lambda v: v * 8),
    frac=st.floats(0.0, 0.5),
)
def test_grid_covers_canvas_with_bounded_tiles(w, h, tile, frac):
    overlap = int(tile * frac) // 8 * 8
    g = plan_grid(w, h, tile, overlap)
    assert g.tile_width <= tile and g.tile_height <= tile
    assert g.tile_width % 8 == 0 and g.tile_height % 8 == 0
    for starts, size, length in ((g.xs, g.tile_width, w), (g.ys, g.tile_height, h)):
        assert starts[0] == 0 and starts[-1] + size == length
        assert list(starts) == sorted(set(starts))
        for a, b in zip(starts, starts[1:], strict=False):
            assert a + size - b >= overlap  # every seam overlaps by at least the asked overlap
        if length <= tile:
            assert len(starts) == 1 and size == length
        else:
            assert size == tile  # full-size tiles, the spare room goes into the overlap
            # fewest tiles: one fewer could not overlap by `overlap`
            n = len(starts)
            assert n == 2 or (n - 1) * tile - (n - 2) * overlap < length


def test_grid_single_tile_when_canvas_fits():
    g = plan_grid(1024, 768, 1024, 128)
    assert g.is_single and g.count == 1 and g.describe() == "1x1"
    assert g.tiles()[0] == g.row_tiles(0)[0]


def test_grid_examples():
    g = plan_grid(4096, 4096, 1024, 128)
    assert (g.cols, g.rows) == (5, 5)
    assert g.xs == (0, 768, 1536, 2304, 3072)
    assert g.describe() == "5x5 of 1024x1024"
    g = plan_grid(1920, 1080, 1024, 128)
    assert (g.cols, g.rows, g.tile_width, g.tile_height) == (2, 2, 1024, 1024)


@pytest.mark.parametrize("args", [(0, 10, 64, 8), (64, 64, 60, 8), (64, 64, 64, 40), (64, 64, 64, -1)])
def test_grid_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        plan_grid(*args)


# ---- weights ---------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(length=st.integers(9, 400).map(lambda v: v * 8), tile=st.integers(8, 64).map(lambda v: v * 8),
       frac=st.floats(0.0, 0.5))
def test_axis_weights_sum_to_one(length, tile, frac):
    overlap = int(tile * frac) // 8 * 8
    g = plan_grid(length, 8, tile, overlap)
    total = np.zeros(length)
    for s, wgt in zip(g.xs, axis_weights(g.xs, g.tile_width, length), strict=True):
        assert wgt.shape == (g.tile_width,) and wgt.dtype == np.float32
        assert np.all(wgt > 0) and np.all(wgt <= 1)
        total[s : s + g.tile_width] += wgt
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_weights_ramp_linearly_over_the_whole_overlap():
    starts, size, length = (0, 96), 160, 256  # overlap [96, 160) = 64 px
    w0, w1 = axis_weights(starts, size, length)
    assert np.all(w0[:96] == 1.0) and np.all(w1[64:] == 1.0)
    ramp_up = w1[:64].astype(np.float64)
    np.testing.assert_allclose(np.diff(ramp_up), 1 / 64, atol=1e-6)  # a straight line across all 64 px
    assert ramp_up[0] == pytest.approx(0.5 / 64) and ramp_up[-1] == pytest.approx(1 - 0.5 / 64)


def test_two_dimensional_weights_sum_to_one():
    g = plan_grid(1000 // 8 * 8, 776, 256, 64)
    wx, wy = grid_weights(g)
    total = np.zeros((g.height, g.width))
    for t in g.tiles():
        total[t.y : t.y + t.height, t.x : t.x + t.width] += np.outer(wy[t.row], wx[t.col])
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_weights_normalise_where_three_tiles_overlap():
    starts = (0, 40, 80)  # every tile overlaps both others in [80, 100)
    ws = axis_weights(starts, 100, 180)
    total = np.zeros(180)
    for s, w in zip(starts, ws, strict=True):
        total[s : s + 100] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


# ---- rendering -------------------------------------------------------------------

@pytest.mark.parametrize("size,tile,overlap", [((512, 384), 128, 32), ((520, 1040), 256, 128), ((264, 200), 64, 0),
                                               ((300, 200), 512, 64)])
def test_identity_renderer_reproduces_input_exactly(size, tile, overlap):
    w, h = size
    img = _image(h, w)
    g = plan_grid(w, h, tile, overlap)
    out = render_tiled(img, g, IdentityRenderer(), {}, 0)
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out, img)


def test_identity_through_a_three_way_overlap_grid():
    img = _image(180, 180)
    g = TileGrid(180, 180, 100, 100, 20, (0, 40, 80), (0, 40, 80))
    np.testing.assert_array_equal(render_tiled(img, g, IdentityRenderer(), {}, 0), img)


def test_in_place_output_matches_separate_output():
    img = _image(400, 520, seed=3)
    g = plan_grid(520, 400, 128, 48)
    expected = render_tiled(img, g, OffsetRenderer(), {}, 0)
    work = img.copy()
    got = render_tiled(work, g, OffsetRenderer(), {}, 0, out=work)
    assert got is work
    np.testing.assert_array_equal(got, expected)


def _seam_jumps(out: np.ndarray, g: TileGrid) -> tuple[float, float]:
    """Largest jump between neighbouring columns at tile edges, and anywhere."""
    col_means = out.astype(np.float64).mean(axis=(0, 2))
    jumps = np.abs(np.diff(col_means))
    edges = sorted({x for x in g.xs[1:]} | {x + g.tile_width for x in g.xs[:-1]})
    return float(max(jumps[e - 1] for e in edges)), float(jumps.max())


def test_per_tile_offsets_blend_without_a_seam():
    flat = np.full((256, 1024, 3), 120, np.uint8)
    g = plan_grid(1024, 256, 256, 128)
    out = render_tiled(flat, g, OffsetRenderer(step=12.0), {}, 0)
    edge_jump, max_jump = _seam_jumps(out, g)
    # neighbouring tile offsets differ by <= 26 levels; spread over >= 128 px that is < 0.25 a column,
    # so the only jumps left are single uint8 rounding steps
    assert max_jump <= 1.0
    assert edge_jump <= 1.0
    # a hard stitch (each pixel from one tile) jumps by ~25 levels at the seam
    hard = flat.astype(np.float32)
    for t in g.tiles():
        k = t.index + 1
        hard[:, t.x + (g.overlap // 2 if t.col else 0):] = 120 + 12.0 * (1 if k % 2 else -1) + k
    assert np.abs(np.diff(hard.mean(axis=(0, 2)))).max() > 20


def test_batch_renderer_gets_row_batches_and_matches_single_calls():
    img = _image(512, 768, seed=1)
    g = plan_grid(768, 512, 256, 64)  # 4 columns x 3 rows
    r = BatchIdentity()
    out = render_tiled(img, g, r, {}, 0, batch=3)
    np.testing.assert_array_equal(out, img)
    assert r.batches == [3, 1] * g.rows  # batches never straddle a row


def test_overrides_and_progress_per_tile():
    img = _image(256, 384)
    g = plan_grid(384, 256, 128, 32)
    r = OffsetRenderer()
    progress = []
    render_tiled(img, g, r, {"steps": 9}, 7, on_tile=lambda d, n: progress.append((d, n)))
    assert [c["facepop_tile"] for c in r.calls] == list(range(1, g.count + 1))
    assert all(c["facepop_tiles"] == g.count and c["steps"] == 9 for c in r.calls)
    assert progress == [(k, g.count) for k in range(1, g.count + 1)]


def test_should_stop_interrupts_between_tiles():
    img = _image(256, 384)
    g = plan_grid(384, 256, 128, 32)
    r = OffsetRenderer()
    with pytest.raises(RenderInterrupted):
        render_tiled(img, g, r, {}, 0, should_stop=lambda: len(r.calls) >= 3)
    assert len(r.calls) == 3


def test_renderer_returning_wrong_size_is_an_error():
    class Bad:
        def render(self, canvas, mask, overrides, seed):
            return canvas[:-8]

    with pytest.raises(ValueError, match="shape"):
        render_tiled(_image(256, 256), plan_grid(256, 256, 128, 32), Bad(), {}, 0)


def test_blend_memory_is_bounded_by_one_row_of_tiles():
    h = w = 2048
    tile = 512
    img = np.zeros((h, w, 3), np.uint8)
    g = plan_grid(w, h, tile, 64)
    tracemalloc.start()
    render_tiled(img, g, IdentityRenderer(), {}, 0, out=img)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row_strip = tile * w * 3 * 4  # one float32 accumulator strip: 12 MiB here
    assert peak < 2.5 * row_strip  # strip + carried overlap + a few tiles, never a float canvas (48 MiB)
