"""The img2img main pass around FacePop: the user's mask in, the faces protected, ``p`` put back.

In "before" mode FacePop runs in ``process()``, which the WebUI calls before ``p.init()``
reads ``p.init_images`` and ``p.image_mask`` (A1111 processing.py L915 / L921). So:

1. ``user_mask`` turns the user's inpaint mask into what the WebUI would have painted
   with: binarised like ``create_binary_mask``, inverted for "Inpaint not masked", blurred
   by the mask blur (kernel ``2*int(2.5*blur+0.5)+1``), at the init image's size;
2. the engine composites the refined faces and returns ``main_mask`` = user mask AND NOT
   the faces, feathered outward only (``compose.main_pass_mask``);
3. ``MainPassPatch.apply`` sets ``p.init_images`` to the composites and ``p.image_mask`` to
   that mask, with the WebUI's own mask blur and inversion turned off (already applied,
   and a blur of the protect mask would reach ``2.5 * blur`` px into the faces). Without a
   user mask the main pass is a plain img2img of everything but the faces: "Whole picture",
   masked content "original". The WebUI then pastes the composite back over every pixel
   the mask leaves at 0 (``apply_overlay``), so a fully protected face pixel leaves the
   main pass bit-identical;
4. ``MainPassPatch.restore`` (from ``postprocess``) puts every touched field back, so a ``p``
   reused by the img2img Batch tab does not see FacePop's mask, overlay or latent mask as
   the next image's own.

The infotext keeps what the user set: "Mask blur" and "Mask mode" are written here because
``p.init()`` no longer sees them, so pasting the image back gives the same job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

#: fields of p that the main pass setup or ``p.init()`` may change and that must not outlive the job
PATCHED_FIELDS = ("init_images", "image_mask", "mask_blur_x", "mask_blur_y", "inpainting_mask_invert",
                  "inpainting_fill", "inpaint_full_res", "overlay_images", "mask_for_overlay", "paste_to",
                  "mask", "nmask", "latent_mask")


def _binary(mask: Image.Image, round_mask: bool) -> Image.Image:
    """``processing.create_binary_mask``: an RGBA mask with real transparency -> its alpha
    (thresholded at 128 when ``round_mask``); anything else -> grey."""
    if mask.mode == "RGBA" and mask.getextrema()[-1] != (255, 255):
        alpha = mask.split()[-1].convert("L")
        return alpha.point(lambda x: 255 if x > 128 else 0) if round_mask else alpha
    return mask.convert("L")


def blur_mask(mask: np.ndarray, blur_x: int, blur_y: int) -> np.ndarray:
    """The WebUI's separable Gaussian mask blur (``Img2Img.init``): sigma = blur in pixels,
    kernel ``2*int(2.5*sigma+0.5)+1`` along each axis."""
    out = mask
    if blur_x > 0:
        k = 2 * int(2.5 * blur_x + 0.5) + 1
        out = cv2.GaussianBlur(out, (k, 1), blur_x)
    if blur_y > 0:
        k = 2 * int(2.5 * blur_y + 0.5) + 1
        out = cv2.GaussianBlur(out, (1, k), blur_y)
    return out


def user_mask(p: Any, size: tuple[int, int]) -> np.ndarray | None:
    """The user's inpaint mask as the WebUI would repaint it (uint8, 255 = repaint), at
    ``size`` = (width, height) of the init image; None when the job has no mask."""
    mask = getattr(p, "image_mask", None)
    if mask is None:
        return None
    if not isinstance(mask, Image.Image):
        mask = Image.fromarray(np.asarray(mask))
    mask = _binary(mask, bool(getattr(p, "mask_round", True)))
    if getattr(p, "inpainting_mask_invert", 0):
        mask = ImageOps.invert(mask)
    if mask.size != tuple(size):
        mask = mask.resize(tuple(size), Image.Resampling.BILINEAR)
    arr = np.asarray(mask, dtype=np.uint8)
    return blur_mask(arr, int(getattr(p, "mask_blur_x", 0) or 0), int(getattr(p, "mask_blur_y", 0) or 0))


@dataclass
class MainPassPatch:
    """The fields of one ``p`` as they were before FacePop, and the main pass setup."""

    saved: dict[str, Any] = field(default_factory=dict)
    applied: bool = False

    @classmethod
    def snapshot(cls, p: Any) -> MainPassPatch:
        return cls({name: getattr(p, name) for name in PATCHED_FIELDS if hasattr(p, name)})

    def apply(self, p: Any, composites: list[Image.Image], main_mask: np.ndarray, had_user_mask: bool) -> None:
        """Point the main pass at the composites, repainting only ``main_mask`` (255 = repaint)."""
        user_blur = getattr(p, "mask_blur", None)
        inverted = bool(getattr(p, "inpainting_mask_invert", 0))
        p.init_images = list(composites)
        p.image_mask = Image.fromarray(np.asarray(main_mask, dtype=np.uint8), "L")
        p.mask_blur_x = 0
        p.mask_blur_y = 0
        p.inpainting_mask_invert = 0
        if had_user_mask:
            if getattr(p, "inpaint_full_res", False) and not np.any(main_mask):
                # the faces covered all the user asked for; a blank mask with "Only masked" would
                # make the WebUI fall back to repainting the whole picture
                p.inpaint_full_res = False
            if user_blur:
                p.extra_generation_params["Mask blur"] = user_blur
            if inverted:
                p.extra_generation_params["Mask mode"] = "Inpaint not masked"
        else:
            p.inpainting_fill = 1
            p.inpaint_full_res = False
        self.applied = True

    def restore(self, p: Any) -> None:
        """Put every patched field back as it was before FacePop."""
        for name, value in self.saved.items():
            setattr(p, name, value)
        self.applied = False
