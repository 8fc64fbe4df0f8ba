"""Colour fix: wavelet (StableSR), AdaIN, none."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from lib_facepop.colorfix import adain_color_fix, color_fix, fit_color_matrix, wavelet_color_fix, wavelet_lowpass


def _reference_lowpass(img: np.ndarray, levels: int = 5) -> np.ndarray:
    """StableSR's wavelet_blur loop with a literal 3x3 dilated kernel and replicate padding."""
    k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float64) / 16
    img = img.astype(np.float64)
    h, w = img.shape[:2]
    for i in range(levels):
        r = 2**i
        p = np.pad(img, ((r, r), (r, r), (0, 0)), mode="edge")
        img = sum(k[dy, dx] * p[dy * r : dy * r + h, dx * r : dx * r + w] for dy in range(3) for dx in range(3))
    return img


def _cast(img: np.ndarray, gains=(1.12, 1.0, 0.88), shift=(6, 0, -6)) -> np.ndarray:
    return np.clip(img.astype(np.float32) * np.array(gains) + np.array(shift), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(70, 50, 3), (9, 13, 3)])  # small sides: dilation 16 exceeds the image
def test_lowpass_matches_stablesr_kernel(shape):
    a = np.random.default_rng(0).random(shape).astype(np.float32) * 255
    np.testing.assert_allclose(wavelet_lowpass(a), _reference_lowpass(a), atol=1e-3)


def test_strips_give_the_same_result_as_the_whole_image():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    ref = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    whole = wavelet_color_fix(x, ref, strip_rows=1000)
    for rows in (1, 37, 64):
        np.testing.assert_array_equal(wavelet_color_fix(x, ref, strip_rows=rows), whole)
    # and equal to the definition: x - L(x) + L(ref)
    expected = np.clip(np.rint(x - _reference_lowpass(x) + _reference_lowpass(ref)), 0, 255)
    assert np.abs(whole.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("method", ["wavelet", "matrix+wavelet"])
def test_wavelet_removes_a_cast_and_keeps_the_detail(method):
    ref = data.astronaut()[::2, ::2]
    detail = np.random.default_rng(2).normal(0, 6, ref.shape)  # "new detail" the pass invented
    result = _cast(np.clip(ref + detail, 0, 255).astype(np.uint8))
    fixed = color_fix(result, ref, method)
    cast_before = np.abs(result.reshape(-1, 3).mean(0) - ref.reshape(-1, 3).mean(0)).max()
    cast_after = np.abs(fixed.reshape(-1, 3).mean(0) - ref.reshape(-1, 3).mean(0)).max()
    assert cast_before > 8 and cast_after < 1.0
    # the fine detail survives: the fixed image still carries most of the added noise
    kept = np.corrcoef((fixed.astype(float) - ref).ravel(), detail.ravel())[0, 1]
    assert kept > 0.6


def _highpass(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) - _reference_lowpass(img)


def test_colour_matrix_recovers_a_global_colour_change():
    ref = data.astronaut()[::2, ::2]
    x = ref.astype(np.float64)
    y = x.mean(axis=2, keepdims=True)
    shifted = np.clip((y + (x - y) * 1.1) * np.array([1.04, 1.0, 0.95]) + np.array([3, 0, -2]), 0, 255)
    m = fit_color_matrix(shifted.astype(np.uint8), ref)
    mapped = np.clip(shifted.reshape(-1, 3) @ m[:3] + m[3], 0, 255).reshape(ref.shape)
    unclipped = (shifted > 5).all(2) & (shifted < 250).all(2)
    assert np.abs(mapped - x)[unclipped].mean() < 1.0  # undone to within a level


def test_colour_matrix_falls_back_to_identity():
    ref = data.astronaut()[::4, ::4]
    identity = np.vstack([np.eye(3), np.zeros((1, 3))])
    np.testing.assert_array_equal(fit_color_matrix(255 - ref, ref), identity)  # a negative "gain": implausible
    np.testing.assert_array_equal(fit_color_matrix(np.zeros_like(ref), ref), identity)  # all clipped
    flat = np.full((64, 64, 3), 120, np.uint8)
    m = fit_color_matrix(flat, np.full_like(flat, 130))  # no variance: still solvable, shifts the level
    assert np.all(np.isfinite(m))
    assert color_fix(flat, np.full_like(flat, 130)).mean() == pytest.approx(130, abs=0.5)


def test_matrix_first_also_fixes_the_cast_in_the_fine_detail():
    ref = data.astronaut()[::2, ::2]
    result = _cast(ref, shift=(0, 0, 0))  # a pure per-channel gain: it scales the detail too
    err_wavelet = np.abs(_highpass(color_fix(result, ref, "wavelet")) - _highpass(ref)).mean()
    err_matrix = np.abs(_highpass(color_fix(result, ref, "matrix+wavelet")) - _highpass(ref)).mean()
    assert err_matrix < 0.5 * err_wavelet
    m = fit_color_matrix(result, ref)
    for rows in (7, 100):
        np.testing.assert_array_equal(wavelet_color_fix(result, ref, matrix=m, strip_rows=rows),
                                      wavelet_color_fix(result, ref, matrix=m, strip_rows=10_000))


def test_adain_matches_channel_mean_and_std():
    ref = data.astronaut()[::2, ::2]
    fixed = adain_color_fix(_cast(ref), ref)
    f, r = fixed.reshape(-1, 3).astype(float), ref.reshape(-1, 3).astype(float)
    np.testing.assert_allclose(f.mean(0), r.mean(0), atol=1.0)
    np.testing.assert_allclose(f.std(0), r.std(0), atol=1.5)


@pytest.mark.parametrize("method", ["matrix+wavelet", "wavelet", "adain"])
def test_strength_blends_between_result_and_fixed(method):
    ref = data.astronaut()[::4, ::4]
    result = _cast(ref)
    full = color_fix(result, ref, method, 1.0).astype(float)
    half = color_fix(result, ref, method, 0.5).astype(float)
    unclipped = (full > 0) & (full < 255)  # the blend is linear where the full fix did not clip
    assert np.abs(half - (result + full) / 2)[unclipped].max() <= 1.0
    assert color_fix(result, ref, method, 0.0) is result


def test_none_and_errors():
    a = np.zeros((8, 8, 3), np.uint8)
    assert color_fix(a, a, "none") is a
    with pytest.raises(ValueError, match="one of"):
        color_fix(a, a, "lab")
    with pytest.raises(ValueError, match="strength"):
        color_fix(a, a, "wavelet", 1.5)
    with pytest.raises(ValueError, match="differs"):
        color_fix(a, np.zeros((8, 16, 3), np.uint8), "wavelet")
    with pytest.raises(ValueError, match="uint8"):
        color_fix(a.astype(np.float32), a, "adain")
