"""Paste-back: geometry round trip, untouched pixels, masks for the main pass, colour match."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from lib_facepop import compose
from lib_facepop.align import Alignment, make_alignment, warp_to_canvas

#: skimage's astronaut: face box centre and size from mediapipe's full-range detector.
ASTRONAUT_FACE_CENTER = (225.6, 119.7)
ASTRONAUT_FACE_SIZE = (104.0, 104.0)


def _paste(image: np.ndarray, canvas: np.ndarray, alpha: np.ndarray, al: Alignment):
    h, w = image.shape[:2]
    patch, patch_alpha, box = compose.uncrop(canvas, alpha, al, (w, h))
    out = compose.blend(image, patch, patch_alpha, box)
    full = np.zeros((h, w), np.float32)
    full[box[1]:box[3], box[0]:box[2]] = patch_alpha
    return out, full, (patch, patch_alpha, box)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _footprint(al: Alignment, image_size: tuple[int, int]) -> np.ndarray:
    """bool HxW: image pixels whose canvas position lies on the canvas, computed independently."""
    w, h = image_size
    ys, xs = np.mgrid[0:h, 0:w]
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    c = al.to_canvas(pts)
    cw, ch = al.canvas_size
    inside = (c[:, 0] >= -0.5 - 1e-3) & (c[:, 0] < cw - 0.5 + 1e-3) & (c[:, 1] >= -0.5 - 1e-3) & (c[:, 1] < ch - 0.5 + 1e-3)
    return inside.reshape(h, w)


# ---- region falloff ---------------------------------------------------------------

def test_region_falloff_is_zero_on_the_border_and_one_inside():
    f = compose.region_falloff((96, 64), 10)
    assert f.shape == (64, 96) and f.dtype == np.float32
    assert f[0].max() == 0 and f[-1].max() == 0 and f[:, 0].max() == 0 and f[:, -1].max() == 0
    assert np.all(f[10:-10, 10:-10] == 1.0)
    assert 0 < f[5, 48] < 1
    # monotone from the border inward along a row through the middle
    assert np.all(np.diff(f[32, :48]) >= 0)


def test_region_falloff_without_feather_still_clears_the_edge():
    f = compose.region_falloff((16, 8), 0)
    assert f[0].max() == 0 and f[:, -1].max() == 0
    assert np.all(f[1:-1, 1:-1] == 1.0)


# ---- uncrop + blend ---------------------------------------------------------------

def test_blend_alpha_zero_bit_identical_and_alpha_one_is_patch():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    before = image.copy()
    patch = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a = np.zeros((20, 30), np.float32)
    a[:, 10:20] = 1.0
    a[:, 20:] = 0.5
    a[0, 0] = 1e-7
    out = compose.blend(image, patch, a, (5, 10, 35, 30))
    assert np.array_equal(image, before), "blend must not mutate its input"
    region = out[10:30, 5:35]
    assert np.array_equal(region[:, :10][a[:, :10] == 0], image[10:30, 5:15][a[:, :10] == 0])
    assert np.array_equal(region[:, 10:20], patch[:, 10:20])
    expected = np.rint(image[10:30, 25:35].astype(np.float32) * 0.5 + patch[:, 20:].astype(np.float32) * 0.5)
    assert np.abs(region[:, 20:].astype(int) - expected.astype(int)).max() <= 1
    outside = np.ones(image.shape[:2], bool)
    outside[10:30, 5:35] = False
    assert np.array_equal(out[outside], image[outside])


def test_random_alignments_leave_alpha_zero_pixels_bit_identical():
    """A 'render' that replaces the canvas by noise: only pixels with alpha > 0 may change."""
    rng = np.random.default_rng(1234)
    for _ in range(40):
        w, h = int(rng.integers(31, 400)), int(rng.integers(31, 400))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        center = (float(rng.uniform(-40, w + 40)), float(rng.uniform(-40, h + 40)))
        size = float(rng.uniform(1, 1.5 * max(w, h)))
        al = make_alignment(
            center, (size, size * float(rng.uniform(0.7, 1.4))), float(rng.uniform(-180, 180)),
            width=int(rng.choice([64, 128, 256])), height=int(rng.choice([64, 128, 256])),
            padding=float(rng.uniform(0, 100)), keep_aspect=bool(rng.integers(0, 2)),
        )
        cw, ch = al.canvas_size
        rendered = rng.integers(0, 256, (ch, cw, 3), dtype=np.uint8)
        alpha = compose.region_falloff(al.canvas_size, float(rng.uniform(0, 24)))
        out, full_alpha, (_, patch_alpha, box) = _paste(image, rendered, alpha, al)
        assert out.shape == image.shape and out.dtype == np.uint8
        untouched = full_alpha == 0
        assert np.array_equal(out[untouched], image[untouched])
        # alpha is 0 outside the canvas footprint, and within 0-1
        assert patch_alpha.min() >= 0 and patch_alpha.max() <= 1
        assert not np.any(full_alpha[~_footprint(al, (w, h))] > 0)


def test_identity_round_trip_psnr_on_a_natural_photo():
    """skimage's astronaut, face upscaled to a 720 canvas and pasted back unchanged."""
    image = data.astronaut()
    h, w = image.shape[:2]
    for roll in (0.0, 23.0, 90.0, 180.0):
        al = make_alignment(ASTRONAUT_FACE_CENTER, ASTRONAUT_FACE_SIZE, roll, rotation_threshold=0.0)
        assert al.canvas_size == (720, 720) and al.scale > compose.AREA_REDUCE_ABOVE
        canvas = warp_to_canvas(image, al)
        alpha = compose.region_falloff(al.canvas_size, 16)
        out, full_alpha, _ = _paste(image, canvas, alpha, al)
        face = full_alpha > 0.99
        assert face.sum() > 150 * 150
        assert _psnr(out[face], image[face]) >= 40.0, roll
        assert np.array_equal(out[full_alpha == 0], image[full_alpha == 0])


def test_identity_round_trip_when_canvas_is_smaller_than_the_face():
    """A face larger than the canvas (downscale): no area reduction, still a faithful round trip."""
    rng = np.random.default_rng(5)
    image = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (0, 0), 3)
    al = make_alignment((200, 150), (250, 250), 30.0, width=128, height=128)
    assert al.scale < 1
    canvas = warp_to_canvas(image, al)
    out, full_alpha, _ = _paste(image, canvas, compose.region_falloff(al.canvas_size, 8), al)
    face = full_alpha > 0.99
    assert _psnr(out[face], image[face]) > 30.0


def test_area_reduction_averages_detail_finer_than_the_image_grid():
    """A canvas 4x finer than the image carrying a 2-pixel checkerboard pastes back as flat grey, not moire."""
    al = make_alignment((100, 100), (90, 90), 17.0, width=512, height=512, padding=10, rotation_threshold=0)
    assert al.scale > 4
    cw, ch = al.canvas_size
    checker = ((np.indices((ch, cw)).sum(axis=0) % 2) * 255).astype(np.uint8)
    canvas = np.repeat(checker[..., None], 3, axis=2)
    patch, patch_alpha, _ = compose.uncrop(canvas, np.ones((ch, cw), np.float32), al, (200, 200))
    core = patch[patch_alpha > 0.99].astype(np.float64)
    assert abs(core.mean() - 127.5) < 3
    assert core.std() < 12


def test_edge_cases_do_not_raise():
    rng = np.random.default_rng(7)
    cases = [
        ((101, 77), (3.0, 40.0), (60.0, 60.0), 0.0),  # touching the left border
        ((101, 77), (50.0, 38.0), (300.0, 300.0), 45.0),  # larger than the short side
        ((101, 77), (50.0, 38.0), (1.0, 1.0), 0.0),  # one-pixel face box
        ((1, 1), (0.0, 0.0), (1.0, 1.0), 12.0),  # one-pixel image
        ((333, 211), (-500.0, -500.0), (20.0, 20.0), 0.0),  # entirely off the image
    ]
    for (w, h), center, size, roll in cases:
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        al = make_alignment(center, size, roll, width=128, height=128)
        canvas = warp_to_canvas(image, al)
        out, full_alpha, (patch, patch_alpha, box) = _paste(image, canvas, compose.region_falloff(al.canvas_size, 8), al)
        assert out.shape == image.shape
        assert patch.shape[:2] == patch_alpha.shape == (box[3] - box[1], box[2] - box[0])
        assert np.array_equal(out[full_alpha == 0], image[full_alpha == 0])
        pm = compose.protect_mask([(patch_alpha, box)], (w, h))
        assert pm.shape == (h, w)


def test_grayscale_and_rgba_inputs():
    rng = np.random.default_rng(3)
    al = make_alignment((40, 30), (30, 30), 20.0, width=64, height=64)
    alpha = compose.region_falloff(al.canvas_size, 6)
    # grayscale image with a grayscale canvas
    gray = rng.integers(0, 256, (61, 83), dtype=np.uint8)
    patch, pa, box = compose.uncrop(warp_to_canvas(gray, al), alpha, al, (83, 61))
    assert patch.ndim == 2
    out = compose.blend(gray, patch, pa, box)
    assert out.shape == gray.shape
    # an RGB patch cannot go into a grayscale image: a clear error, not a broadcast
    rgb_canvas = rng.integers(0, 256, (*al.canvas_size[::-1], 3), dtype=np.uint8)
    patch3, pa3, box3 = compose.uncrop(rgb_canvas, alpha, al, (83, 61))
    with pytest.raises(ValueError, match="convert both to RGB"):
        compose.blend(gray, patch3, pa3, box3)
    # RGB patch into an RGBA image keeps the image's alpha channel
    rgba = rng.integers(0, 256, (61, 83, 4), dtype=np.uint8)
    out = compose.blend(rgba, patch3, pa3, box3)
    assert out.shape == rgba.shape
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert not np.array_equal(out[..., :3], rgba[..., :3])
    # RGBA canvas into an RGBA image
    patch4, pa4, box4 = compose.uncrop(warp_to_canvas(rgba, al), alpha, al, (83, 61))
    assert patch4.shape[2] == 4
    compose.blend(rgba, patch4, pa4, box4)


def test_bad_inputs_raise_clear_errors():
    al = make_alignment((40, 30), (30, 30), 0.0, width=64, height=64)
    cw, ch = al.canvas_size
    with pytest.raises(ValueError, match="canvas"):
        compose.uncrop(np.zeros((ch + 8, cw, 3), np.uint8), np.ones((ch + 8, cw), np.float32), al, (80, 60))
    with pytest.raises(ValueError, match="alpha"):
        compose.uncrop(np.zeros((ch, cw, 3), np.uint8), np.ones((ch, cw + 1), np.float32), al, (80, 60))
    with pytest.raises(TypeError):
        compose.uncrop(np.zeros((ch, cw, 3), np.float32), np.ones((ch, cw), np.float32), al, (80, 60))
    with pytest.raises(ValueError, match="outside"):
        compose.blend(np.zeros((10, 10, 3), np.uint8), np.zeros((5, 5, 3), np.uint8), np.ones((5, 5), np.float32), (8, 8, 13, 13))


# ---- protect + main-pass masks ------------------------------------------------------

def test_protect_mask_is_the_union_of_face_alphas():
    a1 = np.full((10, 10), 0.5, np.float32)
    a2 = np.ones((10, 10), np.float32)
    a2[0, 0] = 0.0
    pm = compose.protect_mask([(a1, (0, 0, 10, 10)), (a2, (5, 5, 15, 15))], (20, 16))
    assert pm.shape == (16, 20) and pm.dtype == np.uint8
    assert pm[0, 0] == 128 and pm[5, 5] == 128  # a2 is 0 there, a1 0.5
    assert pm[6, 6] == 255 and pm[14, 14] == 255
    assert pm[15, 19] == 0 and pm[0, 15] == 0


def test_main_pass_mask_without_user_mask_repaints_everything_but_the_faces():
    protect = np.zeros((100, 120), np.uint8)
    protect[30:60, 40:80] = 255
    m = compose.main_pass_mask(protect, None, 0)
    assert np.array_equal(m, 255 - protect)
    mf = compose.main_pass_mask(protect, None, 12)
    assert np.all(mf[protect == 255] == 0), "the feather must not bleed into the protected core"
    assert mf[45, 80] < 255 and mf[45, 81] < 255  # soft just outside the face
    assert mf[45, 95] == 255 and mf[5, 5] == 255  # far away: repainted fully
    row = mf[45, 80:100].astype(int)
    assert np.all(np.diff(row) >= 0), "rises monotonically away from the face"


def test_main_pass_mask_with_user_mask_is_user_and_not_protect():
    protect = np.zeros((50, 50), np.uint8)
    protect[10:30, 10:30] = 255
    protect[10:30, 30] = 100  # soft edge
    user = np.zeros((50, 50), np.uint8)
    user[:, 20:] = 255  # repaint the right part only
    m = compose.main_pass_mask(protect, user, 0)
    assert np.all(m[:, :20] == 0)  # user said keep
    assert np.all(m[10:30, 20:30] == 0)  # face protected inside the user mask
    assert np.all(m[10:30, 30] == 155)  # partly protected
    assert np.all(m[40:, 20:] == 255)
    mb = compose.main_pass_mask(protect, user.astype(bool), 6)
    assert np.all(mb[:, :20] == 0) and np.all(mb[protect == 255] == 0)
    assert np.all(mb[45:, 25:] == 255)


# ---- colour match -------------------------------------------------------------------

def test_color_match_moves_a_tinted_face_towards_the_reference():
    image = data.astronaut()
    al = make_alignment(ASTRONAUT_FACE_CENTER, ASTRONAUT_FACE_SIZE, 0.0, width=256, height=256)
    original = warp_to_canvas(image, al)
    tinted = np.clip(original.astype(np.int16) + np.array([40, -10, -25]), 0, 255).astype(np.uint8)
    h, w = original.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2), (w // 3, h // 3), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 8) * compose.region_falloff((w, h), 8)
    band = compose.feather_band(alpha)
    assert band.sum() > 1000

    matched = compose.color_match(tinted, original, alpha)
    assert matched.shape == tinted.shape and matched.dtype == np.uint8

    def lab_mean(img: np.ndarray, where: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[where].mean(axis=0)

    ref = lab_mean(original, band)
    before = np.linalg.norm(lab_mean(tinted, band) - ref)
    after = np.linalg.norm(lab_mean(matched, band) - ref)
    assert before > 10 and after < 0.25 * before
    # the face interior moves too, the same way
    face = alpha > 0.99
    assert np.linalg.norm(lab_mean(matched, face) - lab_mean(original, face)) < 0.5 * np.linalg.norm(
        lab_mean(tinted, face) - lab_mean(original, face)
    )


def test_color_match_hard_matte_uses_a_ring_and_empty_band_is_a_no_op():
    rng = np.random.default_rng(2)
    canvas = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    alpha = np.zeros((64, 64), np.float32)
    alpha[16:48, 16:48] = 1.0
    band = compose.feather_band(alpha)
    assert band.any() and band[32, 16] and not band[32, 32] and not band[0, 0]
    same = compose.color_match(canvas, canvas, np.zeros((64, 64), np.float32), np.zeros((64, 64), bool))
    assert np.array_equal(same, canvas)
    identical = compose.color_match(canvas, canvas, alpha)
    assert np.abs(identical.astype(int) - canvas.astype(int)).max() <= 2
