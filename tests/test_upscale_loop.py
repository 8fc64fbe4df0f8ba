"""The upscale pass loop: pre-upscale, tiled render, colour fix, callbacks, interruption."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from lib_facepop.render import IdentityRenderer, RenderInterrupted
from lib_facepop.settings import UpscaleSettings
from lib_facepop.upscale import lanczos_resize, plan_upscale, upscale_image


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[::4, ::4])  # 128x128 with a face


def _settings(**changes) -> UpscaleSettings:
    base = {"scale": 4.0, "passes": 3, "tile_size": 256, "tile_overlap": 64, "color_fix": "none"}
    return UpscaleSettings(**{**base, **changes})


class Recorder(IdentityRenderer):
    def __init__(self) -> None:
        self.calls: list[tuple[dict, tuple, int]] = []

    def render(self, canvas, mask, overrides, seed):
        self.calls.append((dict(overrides), canvas.shape, seed))
        return canvas.copy()


class CastRenderer:
    """Warms every tile by 3 % (R up, B down), like a drifting model."""

    def render(self, canvas, mask, overrides, seed):
        return np.clip(canvas * np.array([1.03, 1.0, 0.97]), 0, 255).astype(np.uint8)


class InterruptAt:
    def __init__(self, pass_number: int, tile: int) -> None:
        self.at = (pass_number, tile)
        self.renders = 0

    def render(self, canvas, mask, overrides, seed):
        if (overrides["facepop_pass"], overrides["facepop_tile"]) == self.at:
            raise RenderInterrupted("user pressed Interrupt")
        self.renders += 1
        return canvas.copy()


def test_identity_renderer_gives_the_lanczos_chain(source):
    s = _settings()
    result = upscale_image(source, s, IdentityRenderer())
    expected = source
    for p in result.plan.passes:
        expected = lanczos_resize(expected, p.output_size)
    assert result.image.shape == (512, 512, 3) and not result.interrupted and result.completed_passes == 3
    np.testing.assert_array_equal(result.image, expected)
    assert [t.index for t in result.timings] == [0, 1, 2]
    assert all(t.total_s >= t.render_s >= 0 for t in result.timings)


def test_renderer_gets_each_pass_schedule_per_tile(source):
    s = _settings(loras=["detail:0.5@2-"], controlnet_weight_start=0.4, controlnet_weight_end=0.8)
    r = Recorder()
    result = upscale_image(source, s, r, seed=10)
    plan = result.plan
    assert len(r.calls) == plan.tile_renders
    for overrides, shape, seed in r.calls:
        p = plan.passes[overrides["facepop_pass"] - 1]
        assert overrides["denoising_strength"] == p.denoise and overrides["steps"] == p.steps
        assert overrides["cfg_scale"] == p.cfg and overrides["controlnet_weight"] == p.controlnet_weight
        assert overrides["lora"] == dict(p.lora) and seed == p.seed
        assert shape == (p.grid.tile_height, p.grid.tile_width, 3)
    assert {c[0]["facepop_pass"]: c[0]["lora"] for c in r.calls} == {1: {}, 2: {"detail": 0.5}, 3: {"detail": 0.5}}
    assert [c[2] for c in r.calls][0] == 10


def test_progress_save_pass_and_face_refiner(source):
    s = _settings()
    events, saved, faces = [], [], []

    def refine(img):
        faces.append(img.shape)
        return 255 - img

    result = upscale_image(source, s, IdentityRenderer(), progress=lambda *a: events.append(a),
                           save_pass=lambda p, img: saved.append((p.number, img.shape, img.copy())),
                           face_refiner=refine, keep_pass_images=True)
    plan = result.plan
    for p in plan.passes:
        mine = [e for e in events if e[0] == p.number]
        assert mine[0] == (p.number, 3, 0, p.tiles) and mine[-1] == (p.number, 3, p.tiles, p.tiles)
    assert [(n, shape) for n, shape, _ in saved] == [(p.number, (*p.output_size[::-1], 3)) for p in plan.passes]
    assert faces == [(512, 512, 3)]  # the face refiner runs once, on the last pass
    np.testing.assert_array_equal(saved[-1][2], result.image)  # saved after the face pass
    assert len(result.pass_images) == 3 and result.pass_images[-1] is result.image


def test_should_stop_between_passes_returns_the_last_finished_pass(source):
    done = []
    result = upscale_image(source, _settings(), IdentityRenderer(), save_pass=lambda p, img: done.append(img),
                           should_stop=lambda: len(done) >= 1)
    assert result.interrupted and result.completed_passes == 1
    assert result.image.shape[:2] == result.plan.passes[0].output_size[::-1]
    np.testing.assert_array_equal(result.image, done[0])


def test_interrupt_mid_pass_returns_the_previous_pass(source):
    r = InterruptAt(pass_number=3, tile=2)
    keep = []
    result = upscale_image(source, _settings(), r, save_pass=lambda p, img: keep.append(img))
    assert result.interrupted and result.completed_passes == 2
    assert result.image.shape == (*result.plan.passes[1].output_size[::-1], 3)
    np.testing.assert_array_equal(result.image, keep[-1])
    assert r.renders == sum(p.tiles for p in result.plan.passes[:2]) + 1


def test_interrupt_in_the_first_pass_returns_the_source(source):
    result = upscale_image(source, _settings(), InterruptAt(1, 1))
    assert result.interrupted and result.completed_passes == 0
    np.testing.assert_array_equal(result.image, source)


def test_interrupt_in_the_face_refiner_keeps_the_last_pass(source):
    def refine(img):
        raise RenderInterrupted

    result = upscale_image(source, _settings(), IdentityRenderer(), face_refiner=refine)
    assert result.interrupted and result.completed_passes == 3 and result.image.shape == (512, 512, 3)


@pytest.mark.parametrize("method", ["matrix+wavelet", "wavelet", "adain"])
def test_colour_fix_stops_drift_over_passes(source, method):
    ref = lanczos_resize(source, (512, 512)).reshape(-1, 3).mean(0)

    def drift(color_fix: str) -> float:
        s = _settings(passes=4, color_fix=color_fix)
        out = upscale_image(source, s, CastRenderer()).image
        return float(np.abs(out.reshape(-1, 3).mean(0) - ref).max())

    assert drift("none") > 8  # 1.03**4: R gains ~12 %
    assert drift(method) < 1.0


def test_custom_pixel_upscaler_is_finished_to_the_exact_size(source):
    sizes = []

    def nearest_x2(img, size):
        sizes.append(size)
        return np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)  # a model's fixed x2, not the pass size

    result = upscale_image(source, _settings(passes=2), IdentityRenderer(), pixel_upscaler=nearest_x2)
    assert sizes == [p.output_size for p in result.plan.passes]
    assert result.image.shape == (512, 512, 3)


def test_pixel_upscaler_returning_its_input_does_not_let_the_render_touch_the_source(source):
    before = source.copy()
    s = UpscaleSettings(scale=1.0, passes=2, tile_size=256, tile_overlap=64, color_fix="none")

    class Brighten:
        def render(self, canvas, mask, overrides, seed):
            return np.clip(canvas.astype(int) + 10, 0, 255).astype(np.uint8)

    result = upscale_image(source, s, Brighten(), pixel_upscaler=lambda img, size: img)
    np.testing.assert_array_equal(source, before)
    assert result.image.mean() > source.mean() + 15


def test_batch_renderer_and_rgba_input(source):
    class Batch(IdentityRenderer):
        sizes: list[int] = []

        def render_batch(self, canvases, masks, overrides, seeds):
            self.sizes.append(len(canvases))
            return [c.copy() for c in canvases]

    rgba = np.dstack([source, np.full(source.shape[:2], 255, np.uint8)])
    r = Batch()
    result = upscale_image(rgba, _settings(tile_batch=4), r)
    assert result.image.shape == (512, 512, 3) and max(r.sizes) > 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="uint8"):
        upscale_image(np.zeros((8, 8), np.uint8), _settings(), IdentityRenderer())

    class Shrinks:
        def render(self, canvas, mask, overrides, seed):
            return canvas[::2, ::2]

    with pytest.raises(ValueError, match="shape"):
        upscale_image(np.zeros((64, 64, 3), np.uint8), _settings(), Shrinks())


def test_plan_from_the_loop_matches_the_planner(source):
    s = _settings()
    assert upscale_image(source, s, IdentityRenderer(), seed=5).plan == plan_upscale(s, (128, 128), seed=5)
