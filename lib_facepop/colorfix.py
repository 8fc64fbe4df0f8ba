"""Colour fidelity after each upscale pass: matrix + wavelet colour fix, wavelet, AdaIN, none.

Diffusion passes drift in colour (ControlNet tile's known colour offset, VAE round trips,
the sampler's pull towards an average brightness), and over several passes the drift
accumulates. After every pass the whole image is pulled back towards a *reference*: the
original image Lanczos-resized to the pass size, so drift cannot build up from pass to
pass (A1111's Loopback keeps its colour reference from the original for the same reason).

* ``wavelet`` — StableSR's colour fix, also used by Clarity-style workflows: split both
  images with a 5-level à-trous wavelet (3x3 binomial blur at dilations 1, 2, 4, 8, 16,
  replicate borders) and keep the result's high frequencies with the reference's low
  frequencies. Because the low-pass ``L`` is linear this is ``out = x + L(ref - x)``,
  computed here with one buffer and separable numpy shifts.
* ``matrix+wavelet`` (the default) — first a global colour matrix (3x3 + offset, least
  squares between downsized copies of result and reference), applied at every frequency,
  then the wavelet fix. The wavelet fix alone keeps the result's fine detail *with its
  colour*: a per-channel gain or a saturation shift survives in the detail, and over
  passes it compounds (8 passes of a 3 % warm cast leave about 2 dE2000 with wavelet
  alone, about 0.8 with the matrix first; see benchmarks/upscale_bench.py). The matrix
  undoes any global linear colour change; the wavelet step then fixes uneven ones.
* ``adain`` — match each channel's mean and standard deviation to the reference
  (global, cheap; fixes a uniform cast, not an uneven one).
* ``none`` — unchanged.

``strength`` (0-1) blends between the result (0) and the fully fixed image (1). Images are
HxWx3 uint8; the work is done in float32 in horizontal strips (with a halo wide enough
for the blur) so a 4096x4096 image needs tens of MB, not a GB, of scratch memory. The
strip result is identical to a whole-image computation.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOR_FIX_METHODS = ("matrix+wavelet", "wavelet", "adain", "none")
MATRIX_FIT_SIDE = 256  # long side of the downsized copies the colour matrix is fitted on
WAVELET_LEVELS = 5
STRIP_ROWS = 256  # output rows per strip; scratch ~ (rows + 2 * halo) * width * 3 * 4 bytes


def _wavelet_halo(levels: int) -> int:
    """Rows of context the low-pass needs on each side: the sum of the dilations."""
    return sum(2**i for i in range(levels))


def _blur_axis(a: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """``[1, 2, 1] / 4`` at dilation ``radius`` along ``axis`` (0 or 1), replicate borders."""
    n = a.shape[axis]
    r = min(radius, n)

    def sl(start: int | None, stop: int | None) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    out = a * 2.0
    # a[i - r], clamped at the first element
    if r < n:
        out[sl(r, None)] += a[sl(None, n - r)]
    out[sl(None, r)] += a[sl(0, 1)]
    # a[i + r], clamped at the last element
    if r < n:
        out[sl(None, n - r)] += a[sl(r, None)]
    out[sl(n - r, None)] += a[sl(n - 1, n)]
    out *= 0.25
    return out


def wavelet_lowpass(a: np.ndarray, levels: int = WAVELET_LEVELS) -> np.ndarray:
    """The low-frequency residual of StableSR's ``wavelet_decomposition`` (float32 HxWxC).

    Each level blurs the previous level's low-pass with the 3x3 binomial kernel at
    dilation ``2**level``; the separable form equals the 2-D kernel with replicate
    padding exactly.
    """
    out = a.astype(np.float32, copy=True)
    for i in range(levels):
        r = 2**i
        out = _blur_axis(out, r, axis=0)
        out = _blur_axis(out, r, axis=1)
    return out


def _check_pair(result: np.ndarray, reference: np.ndarray) -> None:
    for name, img in (("result", result), ("reference", reference)):
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"{name} must be HxWx3 uint8, got {img.shape} {img.dtype}")
    if result.shape != reference.shape:
        raise ValueError(f"reference shape {reference.shape} differs from the result's {result.shape}")


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def fit_color_matrix(result: np.ndarray, reference: np.ndarray, *, fit_side: int = MATRIX_FIT_SIDE) -> np.ndarray:
    """Least-squares affine colour map (4x3: rows 0-2 the matrix, row 3 the offset, 0-255 units).

    Fitted between area-downsized copies (long side ``fit_side``) so new fine detail
    hardly biases it; samples near 0 or 255 in either image are left out, because
    clipping is not linear. Falls back to the identity when too few samples remain or
    the fit is implausible (a channel gain outside 0.5-2, a cross term above 0.5), so a
    pass that really changed the picture is not "corrected" into something strange.
    """
    identity = np.vstack([np.eye(3), np.zeros((1, 3))])
    h, w = result.shape[:2]
    f = min(1.0, fit_side / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    sx = cv2.resize(result, size, interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float64)
    sr = cv2.resize(reference, size, interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float64)
    keep = (sx.min(1) > 4) & (sx.max(1) < 251) & (sr.min(1) > 4) & (sr.max(1) < 251)
    if keep.sum() < 64:
        return identity
    sx, sr = sx[keep], sr[keep]
    n = sx.shape[0]
    x = np.hstack([sx, np.ones((n, 1))])
    # a whisker of ridge towards the identity keeps flat images (zero variance) solvable
    reg = 1e-3 * n * np.diag(np.r_[sx.var(axis=0) + 1.0, 0.0])
    m = np.linalg.solve(x.T @ x + reg, x.T @ sr + reg @ identity)
    diag = np.diag(m[:3])
    off = m[:3] - np.diag(diag)
    if not np.all(np.isfinite(m)) or np.any(diag < 0.5) or np.any(diag > 2.0) or np.abs(off).max() > 0.5:
        return identity
    return m


def wavelet_color_fix(
    result: np.ndarray,
    reference: np.ndarray,
    strength: float = 1.0,
    *,
    matrix: np.ndarray | None = None,
    levels: int = WAVELET_LEVELS,
    strip_rows: int = STRIP_ROWS,
) -> np.ndarray:
    """Result's high frequencies + reference's low frequencies, blended by ``strength``.

    With ``matrix`` (from ``fit_color_matrix``) the result is first mapped through it.
    """
    _check_pair(result, reference)
    h = result.shape[0]
    halo = _wavelet_halo(levels)
    out = np.empty_like(result)
    for y0 in range(0, h, strip_rows):
        y1 = min(h, y0 + strip_rows)
        a0, a1 = max(0, y0 - halo), min(h, y1 + halo)
        x = result[a0:a1].astype(np.float32)
        if matrix is not None:
            x = x @ matrix[:3].astype(np.float32)
            x += matrix[3].astype(np.float32)
            np.clip(x, 0, 255, out=x)
        diff = reference[a0:a1].astype(np.float32)
        diff -= x
        fixed = wavelet_lowpass(diff, levels)[y0 - a0 : y1 - a0]
        fixed += x[y0 - a0 : y1 - a0]
        if strength != 1.0:  # blend with the untouched result
            base = result[y0:y1].astype(np.float32)
            fixed -= base
            fixed *= float(strength)
            fixed += base
        out[y0:y1] = _to_uint8(fixed)
    return out


def _channel_stats(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (float64), accumulated over row strips."""
    n = img.shape[0] * img.shape[1]
    s = np.zeros(3)
    s2 = np.zeros(3)
    for y0 in range(0, img.shape[0], STRIP_ROWS):
        part = img[y0 : y0 + STRIP_ROWS].reshape(-1, 3).astype(np.float64)
        s += part.sum(axis=0)
        s2 += np.square(part).sum(axis=0)
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean**2, 0.0))
    return mean, std


def adain_color_fix(result: np.ndarray, reference: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Shift/scale each channel of ``result`` to the reference's mean and std."""
    _check_pair(result, reference)
    mu_x, sd_x = _channel_stats(result)
    mu_r, sd_r = _channel_stats(reference)
    gain = np.where(sd_x > 1e-6, sd_r / np.maximum(sd_x, 1e-6), 1.0)
    # out = x + s * ((x - mu_x) * gain + mu_r - x) = x * (1 + s*(gain-1)) + s*(mu_r - mu_x*gain)
    scale = (1.0 + strength * (gain - 1.0)).astype(np.float32)
    offset = (strength * (mu_r - mu_x * gain)).astype(np.float32)
    out = np.empty_like(result)
    for y0 in range(0, result.shape[0], STRIP_ROWS):
        part = result[y0 : y0 + STRIP_ROWS].astype(np.float32)
        part *= scale
        part += offset
        out[y0 : y0 + STRIP_ROWS] = _to_uint8(part)
    return out


def color_fix(result: np.ndarray, reference: np.ndarray, method: str = "matrix+wavelet", strength: float = 1.0) -> np.ndarray:
    """Apply ``method`` (one of ``COLOR_FIX_METHODS``) at ``strength`` (0-1).

    ``none`` or a zero strength returns ``result`` itself (no copy).
    """
    if method not in COLOR_FIX_METHODS:
        raise ValueError(f"colour fix {method!r} is not one of {', '.join(COLOR_FIX_METHODS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"colour fix strength {strength} must be between 0 and 1")
    if method == "none" or strength == 0.0:
        return result
    if method == "matrix+wavelet":
        return wavelet_color_fix(result, reference, strength, matrix=fit_color_matrix(result, reference))
    if method == "wavelet":
        return wavelet_color_fix(result, reference, strength)
    return adain_color_fix(result, reference, strength)
