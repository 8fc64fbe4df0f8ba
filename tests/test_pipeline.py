"""FacePipeline end to end with real detection and real masks, deterministic renderers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.scenes import backgrounds, paste_face
from lib_facepop.pipeline import FacePipeline, face_overrides, face_seed
from lib_facepop.render import IdentityRenderer, PreviewRenderer, RenderInterrupted
from lib_facepop.settings import FaceSettings


class Tint:
    """A deterministic 'diffusion': shifts every pixel it may repaint, records its calls."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls: list[dict] = []
        self.stop_at = stop_at

    def render(self, canvas, mask, overrides, seed):
        self.calls.append({"shape": canvas.shape, "mask": None if mask is None else mask.copy(),
                           "overrides": dict(overrides), "seed": seed})
        if self.stop_at is not None and len(self.calls) > self.stop_at:
            raise RenderInterrupted()
        out = np.clip(canvas.astype(int) + [40, -30, 20], 0, 255).astype(np.uint8)
        if mask is not None:
            out = np.where(mask[..., None] > 127, out, canvas)
        return out


@pytest.fixture(scope="module")
def scene(sources):
    img = backgrounds((640, 480))["gradient"].copy()
    truths = [paste_face(img, sources[0], (170, 160), 90, 0.0),
              paste_face(img, sources[2], (470, 300), 110, 120.0)]
    return img, truths


@pytest.fixture(scope="module")
def pipe(models):
    from lib_facepop.matting import Matter

    return FacePipeline(models=models, matter=Matter(allow_download=False))


S = FaceSettings(enabled=True, matting="selfie")


def test_identity_leaves_everything_outside_the_faces_bit_identical(scene, pipe):
    img, _ = scene
    res = pipe.run(img, S, IdentityRenderer())
    assert len(res.faces) == 2 and all(r.status == "done" for r in res.faces)
    outside = res.protect == 0
    assert outside.mean() > 0.5
    assert np.array_equal(res.image[outside], img[outside])
    inside = res.protect >= 253
    assert inside.sum() > 1000
    mse = np.mean((res.image[inside].astype(float) - img[inside].astype(float)) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-9)) >= 40


def test_renderer_changes_only_protected_pixels_and_main_mask_excludes_them(scene, pipe):
    img, truths = scene
    r = Tint()
    res = pipe.run(img, S, r, seed=100)
    assert len(r.calls) == 2  # one pass per face
    changed = np.any(res.image != img, axis=2)
    assert not np.any(changed & (res.protect == 0))
    for t in truths:  # the face centres really changed
        x, y = int(t.center[0]), int(t.center[1])
        assert res.protect[y, x] == 255 and changed[y, x]
    # the main pass repaints everything but the faces
    assert np.all(res.main_mask[res.protect == 255] == 0)
    assert np.all(res.main_mask[res.protect == 0][:100] >= 0)
    assert (res.main_mask == 255).mean() > 0.5
    # seeds offset per face, canvases upright at the working size
    assert sorted(c["seed"] for c in r.calls) == [100, 101]
    assert all(max(c["shape"][:2]) == 720 for c in r.calls)


def test_user_mask_limits_faces_and_main_pass(scene, pipe):
    img, truths = scene
    user = np.zeros(img.shape[:2], np.uint8)
    user[:, :320] = 255  # only the left face is inside
    r = Tint()
    res = pipe.run(img, S, r, inpaint_mask=user)
    assert len(r.calls) == 1 and r.calls[0]["mask"] is not None
    assert np.array_equal(res.image[:, 320:], img[:, 320:])
    assert np.all(res.main_mask[:, 320:] == 0)  # main pass: user mask AND NOT protect
    # with only_in_mask off, the face outside the mask is refined too, but the main pass still obeys the mask
    r2 = Tint()
    res2 = pipe.run(img, S.replace(only_in_mask=False), r2, inpaint_mask=user)
    assert len(r2.calls) == 2 and all(c["mask"] is None for c in r2.calls)
    x, y = int(truths[1].center[0]), int(truths[1].center[1])
    assert np.any(res2.image[y, x] != img[y, x])
    assert np.all(res2.main_mask[:, 330:] == 0)


def test_interrupt_keeps_faces_done_and_skips_the_rest(scene, pipe):
    img, _ = scene
    r = Tint(stop_at=1)
    res = pipe.run(img, S, r)
    assert res.interrupted
    assert [f.status for f in res.faces] == ["done", "interrupted"]
    assert any("interrupted" in m for m in res.messages)
    stop = pipe.run(img, S, Tint(), should_stop=lambda: True)
    assert stop.interrupted and all(f.status == "skipped" for f in stop.faces)
    assert np.array_equal(stop.image, img) and not stop.protect.any()


def test_progress_reports_each_face(scene, pipe):
    img, _ = scene
    seen = []
    pipe.run(img, S, IdentityRenderer(), progress=lambda i, n, stage: seen.append((i, n, stage)))
    assert (0, 2, "render") in seen and (1, 2, "render") in seen and (1, 2, "composite") in seen


def test_overrides_follow_the_settings():
    s = FaceSettings(separate=True, steps=12, cfg_scale=4.5, denoise=0.3, prompt="a face", sampler="Euler a",
                     face_prompts=["", "second face, smiling"])
    o0 = face_overrides(s, 0, (720, 712))
    assert o0["steps"] == 12 and o0["cfg_scale"] == 4.5 and o0["denoising_strength"] == 0.3
    assert o0["prompt"] == "a face" and o0["sampler_name"] == "Euler a" and (o0["width"], o0["height"]) == (720, 712)
    assert face_overrides(s, 1, (8, 8))["prompt"] == "second face, smiling"
    plain = face_overrides(FaceSettings(), 0, (720, 720))
    assert "steps" not in plain and "prompt" not in plain  # inherit the main pass
    assert face_seed(FaceSettings(seed_mode="same"), 7, 3) == 7
    assert face_seed(FaceSettings(seed_mode="offset"), 7, 3) == 10


@pytest.mark.parametrize("kind", ["gray", "rgba", "palette", "uint16", "odd"])
def test_odd_inputs_do_not_raise(scene, pipe, kind):
    img, _ = scene
    if kind == "gray":
        x = img.mean(axis=2).astype(np.uint8)
    elif kind == "rgba":
        x = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)])
    elif kind == "palette":
        x = np.asarray(Image.fromarray(img).convert("P").convert("RGB"))
    elif kind == "uint16":
        x = img.astype(np.uint16) * 257
    else:
        x = img[:477, :633]
    res = pipe.run(x, S, PreviewRenderer())
    assert res.image.shape[:2] == x.shape[:2] and res.image.dtype == np.uint8
    assert len(res.faces) >= 1


def test_faces_at_the_border_and_larger_than_the_image(sources, pipe):
    img = backgrounds((320, 240))["noise"].copy()
    paste_face(img, sources[0], (20, 120), 70, 0.0)  # touching the left border
    res = pipe.run(img, S, Tint())
    assert res.image.shape == img.shape
    big = backgrounds((256, 200))["gradient"].copy()
    paste_face(big, sources[1], (128, 100), 230, 0.0)  # wider than the image's short side
    res = pipe.run(big, S, Tint())
    assert len(res.faces) == 1 and res.faces[0].status == "done"
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert pipe.run(tiny, S, Tint()).faces == []


def test_one_pixel_face_box_does_not_raise(scene, pipe):
    from lib_facepop.face import Face

    img, _ = scene
    f = Face(box=(10.0, 10.0, 11.0, 11.0), score=0.9, keypoints={}, roll=33.0, size=(1.0, 1.0))
    res = pipe.run(img, S.replace(matting="none"), Tint(), faces=[f])
    assert res.faces[0].status == "done"
    assert np.array_equal(res.image[res.protect == 0], img[res.protect == 0])
