"""``modules.masking`` (A1111 v1.10.1 modules/masking.py), written from its behaviour, plus the
separable Gaussian blur that ``Img2Img.init`` applies to the inpaint mask (processing.py L1621-1631:
kernel ``2*int(2.5*sigma+0.5)+1``, ``cv2.GaussianBlur``). OpenCV is used when importable (bit-exact);
otherwise a numpy version with the same kernel and BORDER_REFLECT_101 edges (rounding may differ by 1).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter, ImageOps


def _as_image(mask) -> Image.Image:
    """Masks may come as PIL images or as numpy arrays."""
    if isinstance(mask, Image.Image):
        return mask
    return Image.fromarray(mask)


def get_crop_region_v2(mask, pad: int = 0):
    """Bounding box of the non-zero mask, padded and clamped; None if the mask is empty."""
    mask = _as_image(mask)
    box = mask.getbbox()
    if not box or not pad:
        return box or None
    width, height = mask.size
    left, top, right, bottom = box
    return max(left - pad, 0), max(top - pad, 0), min(right + pad, width), min(bottom + pad, height)


def get_crop_region(mask, pad: int = 0):
    """Like v2 but returns an inverted box for an empty mask (kept for compatibility)."""
    mask = _as_image(mask)
    box = get_crop_region_v2(mask, pad)
    if box:
        return box
    width, height = mask.size  # empty: "from the far corner to (pad, pad)"
    return max(width - pad, 0), max(height - pad, 0), min(pad, width), min(pad, height)


def _expand_axis(a1: int, a2: int, desired: float, limit: int) -> tuple[int, int]:
    diff = int(desired - (a2 - a1))
    a1 -= diff // 2
    a2 += diff - diff // 2
    if a2 >= limit:
        shift = a2 - limit
        a2 -= shift
        a1 -= shift
    if a1 < 0:
        a2 -= a1
        a1 = 0
    if a2 >= limit:
        a2 = limit
    return a1, a2


def expand_crop_region(crop_region, processing_width: int, processing_height: int, image_width: int, image_height: int):
    """Grow the box to the processing aspect ratio, shifting it back inside the image (L39-77)."""
    x1, y1, x2, y2 = crop_region
    ratio_crop = (x2 - x1) / (y2 - y1)
    ratio_processing = processing_width / processing_height
    if ratio_crop > ratio_processing:
        y1, y2 = _expand_axis(y1, y2, (x2 - x1) / ratio_processing, image_height)
    else:
        x1, x2 = _expand_axis(x1, x2, (y2 - y1) * ratio_processing, image_width)
    return x1, y1, x2, y2


_FILL_PASSES = ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1))
"""``(blur radius, times composited)``, widest first: far pixels get a coarse colour, near ones a sharp one."""


def fill(image: Image.Image, mask: Image.Image) -> Image.Image:
    """"fill" masked content: masked area replaced by blurred surroundings (L80-95)."""
    size = (image.width, image.height)
    outside = ImageOps.invert(mask.convert("L"))
    surroundings = Image.composite(image.convert("RGBA").convert("RGBa"), Image.new("RGBa", size), outside)
    blurred = [(surroundings.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA"), times)
               for radius, times in _FILL_PASSES]
    layered = Image.new("RGBA", size)
    for layer in (layer for layer, times in blurred for _ in range(times)):
        layered.alpha_composite(layer)
    return layered.convert("RGB")


def blur_kernel_size(sigma: float) -> int:
    return 2 * int(2.5 * sigma + 0.5) + 1


def gaussian_blur_axis(np_mask: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """1-D Gaussian blur of a uint8 HxW array along ``axis`` (1 = x, 0 = y), cv2 semantics."""
    ksize = blur_kernel_size(sigma)
    try:
        import cv2

        shape = (ksize, 1) if axis == 1 else (1, ksize)
        return cv2.GaussianBlur(np_mask, shape, sigma)
    except ImportError:
        pass
    radius = ksize // 2
    xs = np.arange(ksize, dtype=np.float64) - radius
    kernel = np.exp(-(xs ** 2) / (2 * sigma * sigma))
    kernel /= kernel.sum()
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    padded = np.pad(np_mask.astype(np.float64), pad, mode="reflect")
    out = np.zeros(np_mask.shape, dtype=np.float64)
    n = np_mask.shape[axis]
    for i, k in enumerate(kernel):
        out += k * (padded[:, i:i + n] if axis == 1 else padded[i:i + n, :])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
