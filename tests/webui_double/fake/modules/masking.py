"""``modules.masking`` (A1111 v1.10.1 modules/masking.py), written from its behaviour, plus the
separable Gaussian blur that ``Img2Img.init`` applies to the inpaint mask (processing.py L1621-1631:
kernel ``2*int(2.5*sigma+0.5)+1``, ``cv2.GaussianBlur``). OpenCV is used when importable (bit-exact);
otherwise a numpy version with the same kernel and BORDER_REFLECT_101 edges (rounding may differ by 1).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter, ImageOps


def get_crop_region_v2(mask, pad: int = 0):
    """Bounding box of the non-zero mask, padded and clamped; None if the mask is empty."""
    mask = mask if isinstance(mask, Image.Image) else Image.fromarray(mask)
    box = mask.getbbox()
    if not box:
        return None
    if not pad:
        return box
    x1, y1, x2, y2 = box
    return max(x1 - pad, 0), max(y1 - pad, 0), min(x2 + pad, mask.size[0]), min(y2 + pad, mask.size[1])


def get_crop_region(mask, pad: int = 0):
    """Like v2 but returns an inverted box for an empty mask (kept for compatibility)."""
    mask = mask if isinstance(mask, Image.Image) else Image.fromarray(mask)
    box = get_crop_region_v2(mask, pad)
    if box:
        return box
    x1, y1 = mask.size
    return max(x1 - pad, 0), max(y1 - pad, 0), min(pad, mask.size[0]), min(pad, mask.size[1])


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


def fill(image: Image.Image, mask: Image.Image) -> Image.Image:
    """"fill" masked content: masked area replaced by blurred surroundings (L80-95)."""
    image_mod = Image.new("RGBA", (image.width, image.height))
    image_masked = Image.new("RGBa", (image.width, image.height))
    image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert("L")))
    image_masked = image_masked.convert("RGBa")
    for radius, repeats in [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]:
        blurred = image_masked.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            image_mod.alpha_composite(blurred)
    return image_mod.convert("RGB")


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
