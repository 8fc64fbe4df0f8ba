"""Paste-back: the refined face canvas goes back into the image, and the main pass learns what to leave alone.

The steps of one face (see DESIGN.md, "One face, top to bottom"), in this module:

* ``region_falloff`` — a soft frame, 1 inside the canvas and 0 on its outermost pixels,
  that the face matte is multiplied by, so the square edge of the crop can never show;
* ``color_match`` (optional) — shift the refined canvas's Lab statistics to the original's
  where the two will be mixed;
* ``uncrop`` — warp the canvas and its alpha back into image space, inside the face's
  bounding box only;
* ``blend`` — alpha-blend that patch into the working image; alpha 0 leaves a pixel
  bit-identical;
* ``protect_mask`` / ``main_pass_mask`` — the union of the pasted faces, and the inpaint
  mask the single main pass then repaints (A1111 semantics: 255 = repaint).

Images here are uint8 RGB, HxWx3, as the pipeline converts every input to that before
compositing. ``uncrop`` and ``blend`` also accept single-channel (HxW) and four-channel
images when the canvas and the image agree on the channel count, and ``blend`` pastes an
RGB patch into an RGBA image keeping the image's own alpha channel. Anything else (for
example an RGB patch into a grayscale image) raises ``ValueError`` naming the shapes,
rather than broadcasting silently. Alphas and masks: float32 0-1 for a face's alpha,
uint8 0-255 for image-wide masks. Sizes are (width, height) in pixels, boxes
(x0, y0, x1, y1) with x1/y1 exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .align import Alignment

Box = tuple[int, int, int, int]

#: Above this many canvas pixels per image pixel the canvas is area-reduced before the
#: warp back: point-sampling a canvas several times finer than the image would alias
#: the detail diffusion added at canvas resolution (moire on hair, crawling edges).
AREA_REDUCE_ABOVE = 2.0
#: Canvas pixels per image pixel after that reduction. 1.5 keeps some resolution for the
#: cubic warp that follows (a 1:1 reduction of a rotated grid would blur twice); the
#: identity round trip of skimage's astronaut at 720 px stays above 40 dB PSNR.
AREA_REDUCE_TO = 2.0


# ---- the face region ------------------------------------------------------------

def region_falloff(canvas_size: tuple[int, int], feather_px: float) -> np.ndarray:
    """float32 HxW, 1 in the canvas interior, easing to exactly 0 on the outermost pixel ring.

    ``canvas_size`` is (width, height) and ``feather_px`` the width of the ramp, both in
    canvas pixels. The value is a smoothstep of the distance from the outermost pixel
    centres, so the ring at the border is 0 and pixels ``feather_px`` or more inside are 1.
    Multiplying the face matte by this guarantees the crop's straight edges never reach
    the image, even when the matte (or the whole-crop "none" matting) is 1 up to the
    border. ``feather_px`` below 1 is treated as 1: the outermost ring is still 0, which
    also keeps bilinear sampling at the canvas edge from leaking a hard line.
    """
    w, h = int(canvas_size[0]), int(canvas_size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"region_falloff: canvas size must be positive, got {canvas_size!r}")
    f = max(float(feather_px), 1.0)
    x = np.arange(w, dtype=np.float32)
    y = np.arange(h, dtype=np.float32)
    dx = np.minimum(x, (w - 1) - x)
    dy = np.minimum(y, (h - 1) - y)
    d = np.minimum(dy[:, None], dx[None, :])
    t = np.clip(d / f, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def head_region(canvas_size: tuple[int, int], face_size: tuple[float, float], feather_px: float) -> np.ndarray:
    """float32 HxW soft ellipse over the head of the upright face at the canvas centre.

    Portrait matting (MODNet, the selfie segmenter) returns the whole person, neck and
    shoulders included; the face pass should only replace the head (face and hair), so
    the matte is intersected with this ellipse. ``face_size`` is the face's (width,
    height) in canvas pixels; the ellipse spans 1.5x the face width and 1.9x its height,
    raised by 0.1x the height to take the hair, with a ``feather_px`` soft edge.
    """
    w, h = int(canvas_size[0]), int(canvas_size[1])
    fw, fh = max(float(face_size[0]), 1.0), max(float(face_size[1]), 1.0)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0 - 0.1 * fh
    ax, ay = 0.75 * fw, 0.95 * fh
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # distance outside the ellipse, approximately in pixels
    r = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
    d = (r - 1.0) * min(ax, ay)
    f = max(float(feather_px), 1.0)
    t = np.clip(0.5 - d / (2.0 * f), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


# ---- colour ---------------------------------------------------------------------

def feather_band(alpha: np.ndarray, *, min_pixels: int = 64) -> np.ndarray:
    """bool HxW: where a face will be mixed with its surroundings.

    That is ``0 < alpha < 1`` (with a small margin so numerical noise does not count).
    When the matte is nearly hard and that band has fewer than ``min_pixels`` pixels, a
    ring around the ``alpha > 0.5`` region is used instead, about 3 % of the canvas's
    short side wide on each side of the edge.
    """
    a = np.asarray(alpha, dtype=np.float32)
    band = (a > 0.02) & (a < 0.98)
    if int(band.sum()) >= min_pixels:
        return band
    core = (a > 0.5).astype(np.uint8)
    r = max(2, int(round(0.03 * min(a.shape[:2]))))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = cv2.dilate(core, k).astype(bool) & ~cv2.erode(core, k).astype(bool)
    return ring


def color_match(
    canvas: np.ndarray,
    reference_canvas: np.ndarray,
    alpha: np.ndarray,
    band: np.ndarray | None = None,
    *,
    max_gain: float = 2.0,
) -> np.ndarray:
    """The refined ``canvas`` with its Lab mean/std moved to the original's over ``band``.

    Why: at moderate denoise a diffusion pass often shifts a face's brightness or tint
    a little. Where the alpha feathers, refined and original pixels are mixed, and a
    colour difference there shows as a halo or a visible seam around the face. Matching
    the per-channel Lab mean and standard deviation of the refined canvas to the original
    canvas *over the pixels that will be mixed* removes that seam while keeping the new
    detail (a global affine per channel changes no structure).

    ``canvas`` and ``reference_canvas`` are HxWx3 uint8 RGB of the same size (refined and
    original), ``alpha`` float32 0-1 HxW, ``band`` an optional bool HxW selecting the
    pixels to measure (default: ``feather_band(alpha)``). The per-channel gain
    (std ratio) is clipped to [1/max_gain, max_gain] so a flat band cannot blow up the
    contrast. Returns a new uint8 canvas; with an empty band the canvas is returned
    unchanged (as a copy).
    """
    canvas = np.asarray(canvas)
    reference_canvas = np.asarray(reference_canvas)
    if canvas.shape != reference_canvas.shape or canvas.ndim != 3 or canvas.shape[2] != 3:
        raise ValueError(
            f"color_match: canvas and reference must both be HxWx3, got {canvas.shape} and {reference_canvas.shape}"
        )
    if canvas.dtype != np.uint8 or reference_canvas.dtype != np.uint8:
        raise TypeError("color_match: canvases must be uint8 RGB")
    if band is None:
        band = feather_band(alpha)
    band = np.asarray(band, dtype=bool)
    if band.shape != canvas.shape[:2]:
        raise ValueError(f"color_match: band is {band.shape}, canvas is {canvas.shape[:2]}")
    if int(band.sum()) < 2:
        return canvas.copy()

    lab = cv2.cvtColor(canvas.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    ref = cv2.cvtColor(reference_canvas.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    src_px = lab[band].astype(np.float64)
    ref_px = ref[band].astype(np.float64)
    mu_s, sd_s = src_px.mean(axis=0), src_px.std(axis=0)
    mu_r, sd_r = ref_px.mean(axis=0), ref_px.std(axis=0)
    gain = np.where(sd_s > 1e-6, sd_r / np.maximum(sd_s, 1e-6), 1.0)
    gain = np.clip(gain, 1.0 / max_gain, max_gain)
    out = (lab - mu_s.astype(np.float32)) * gain.astype(np.float32) + mu_r.astype(np.float32)
    out[..., 0] = np.clip(out[..., 0], 0.0, 100.0)
    rgb = cv2.cvtColor(out, cv2.COLOR_LAB2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


# ---- canvas -> image --------------------------------------------------------------

def _channels(a: np.ndarray) -> int:
    return 1 if a.ndim == 2 else int(a.shape[2])


def uncrop(
    canvas: np.ndarray,
    alpha: np.ndarray,
    alignment: Alignment,
    image_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, Box]:
    """Warp a (refined) canvas and its alpha back into the image, inside the face's box only.

    ``canvas`` is the canvas image (HxWx3 uint8; HxW and HxWx4 also work), ``alpha``
    float32 0-1 of the canvas size, ``image_size`` the target image's (width, height).
    Returns ``(patch, patch_alpha, box)``: ``box = alignment.image_bounds(image_size)``
    and the patch (uint8, canvas channels) and its alpha (float32 0-1) cover exactly that
    box. Only the box is warped, never the full image.

    Each image pixel samples the canvas at ``alignment.matrix`` applied to its own
    position (``WARP_INVERSE_MAP``), so no numeric inverse is involved. The patch is
    sampled with bicubic interpolation and a replicated border; the alpha bilinearly
    with a zero border and then cut to the canvas footprint (image pixels whose canvas
    position is within [-0.5, size-0.5)), so it is exactly 0 outside the canvas.
    When the canvas has more than ``AREA_REDUCE_ABOVE`` canvas pixels per image pixel
    it is first area-reduced to ``AREA_REDUCE_TO``, and the matrix adjusted for the
    resize's pixel-centre convention, so the detail diffusion painted at canvas
    resolution is averaged instead of aliased.
    """
    canvas = np.asarray(canvas)
    alpha = np.asarray(alpha, dtype=np.float32)
    cw, ch = alignment.canvas_size
    if canvas.shape[:2] != (ch, cw):
        raise ValueError(f"uncrop: canvas is {canvas.shape[1::-1]} (w, h) but the alignment's canvas is {(cw, ch)}")
    if alpha.shape != (ch, cw):
        raise ValueError(f"uncrop: alpha must be HxW {(ch, cw)}, got {alpha.shape}")
    if canvas.dtype != np.uint8:
        raise TypeError(f"uncrop: canvas must be uint8, got {canvas.dtype}")
    if canvas.ndim == 3 and canvas.shape[2] not in (1, 3, 4):
        raise ValueError(f"uncrop: canvas must have 1, 3 or 4 channels, got {canvas.shape}")

    box = alignment.image_bounds(image_size)
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    c = _channels(canvas)
    if bw <= 0 or bh <= 0:
        shape = (max(bh, 0), max(bw, 0)) if canvas.ndim == 2 else (max(bh, 0), max(bw, 0), c)
        return np.zeros(shape, np.uint8), np.zeros((max(bh, 0), max(bw, 0)), np.float32), box

    # box pixel (u, v) -> canvas pixel
    m = alignment.matrix.astype(np.float64).copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)

    src = canvas.astype(np.float32)
    src_alpha = alpha
    m_src = m
    if alignment.scale > AREA_REDUCE_ABOVE:
        f = AREA_REDUCE_TO / alignment.scale
        sw, sh = max(1, int(round(cw * f))), max(1, int(round(ch * f)))
        src = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
        src_alpha = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA)
        fx, fy = sw / cw, sh / ch
        # resize maps canvas px c to small px (c + 0.5) * f - 0.5
        d = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5], [0.0, 0.0, 1.0]])
        m_src = (d @ np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    if src.ndim == 3 and src.shape[2] == 1:
        src = src[..., 0]

    patch = cv2.warpAffine(
        src, m_src, (bw, bh), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    patch_alpha = cv2.warpAffine(
        src_alpha, m_src, (bw, bh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    inside = cv2.warpAffine(
        np.ones((ch, cw), np.uint8), m, (bw, bh), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    patch_alpha = np.clip(patch_alpha, 0.0, 1.0) * inside
    patch = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
    if canvas.ndim == 3 and patch.ndim == 2:
        patch = patch[..., None]
    return patch, patch_alpha.astype(np.float32), box


def blend(image: np.ndarray, patch: np.ndarray, patch_alpha: np.ndarray, box: Box) -> np.ndarray:
    """A new image: ``patch`` alpha-blended into ``image`` at ``box``; the inputs are not changed.

    ``image`` is uint8 HxWx3 (HxW and HxWx4 also work), ``patch`` uint8 of the box's size
    with the image's channel count, or RGB into an RGBA image (the image's alpha channel
    is kept), ``patch_alpha`` float32 0-1 of the box's size. Pixels whose alpha is
    exactly 0 — and every pixel outside the box — are copied bit-identically; alpha 1
    gives the patch pixel exactly; in between ``round(image + (patch - image) * alpha)``.
    """
    image = np.asarray(image)
    patch = np.asarray(patch)
    a = np.asarray(patch_alpha, dtype=np.float32)
    if image.dtype != np.uint8 or patch.dtype != np.uint8:
        raise TypeError(f"blend: image and patch must be uint8, got {image.dtype} and {patch.dtype}")
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 <= x1 <= image.shape[1] and 0 <= y0 <= y1 <= image.shape[0]):
        raise ValueError(f"blend: box {box} is outside the image of size {image.shape[1::-1]}")
    bh, bw = y1 - y0, x1 - x0
    if patch.shape[:2] != (bh, bw) or a.shape != (bh, bw):
        raise ValueError(f"blend: box {box} is {bw}x{bh} but patch is {patch.shape} and alpha {a.shape}")
    ci, cp = _channels(image), _channels(patch)
    if not (ci == cp or (ci == 4 and cp == 3)):
        raise ValueError(
            f"blend: cannot paste a {cp}-channel patch into a {ci}-channel image "
            f"(image {image.shape}, patch {patch.shape}); convert both to RGB uint8 first"
        )
    out = image.copy()
    if bw == 0 or bh == 0:
        return out
    region = out[y0:y1, x0:x1]
    if region.ndim == 2:
        region = region[..., None]
    p = patch if patch.ndim == 3 else patch[..., None]
    dst = region[..., : p.shape[2]]
    mixed = dst.astype(np.float32) + (p.astype(np.float32) - dst.astype(np.float32)) * a[..., None]
    mixed = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    touched = a > 0
    dst[touched] = mixed[touched]
    return out


# ---- masks for the main pass --------------------------------------------------------

def protect_mask(alphas_in_image: Sequence[tuple[np.ndarray, Box]], image_size: tuple[int, int]) -> np.ndarray:
    """uint8 HxW: the union (max) of the pasted face alphas, 255 = that pixel is entirely a refined face.

    ``alphas_in_image`` holds ``(patch_alpha, box)`` pairs as ``uncrop`` returns them,
    ``image_size`` is (width, height). Alphas are scaled to 0-255 and rounded.
    """
    w, h = int(image_size[0]), int(image_size[1])
    out = np.zeros((h, w), np.uint8)
    for patch_alpha, box in alphas_in_image:
        x0, y0, x1, y1 = (int(v) for v in box)
        a = np.asarray(patch_alpha, dtype=np.float32)
        if a.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"protect_mask: alpha {a.shape} does not match box {box}")
        if a.size == 0:
            continue
        a8 = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
        np.maximum(out[y0:y1, x0:x1], a8, out=out[y0:y1, x0:x1])
    return out


def main_pass_mask(protect: np.ndarray, user_mask: np.ndarray | None, feather_px: float) -> np.ndarray:
    """uint8 HxW inpaint mask for the main pass (A1111 ``p.image_mask``: 255 = repaint).

    The main pass repaints ``user_mask AND NOT protect``: ``min(user_mask, 255 - protect')``
    where a missing ``user_mask`` means "everything". ``protect'`` is the protect mask
    feathered *outward only*: it is grey-dilated by about ``feather_px / 2`` image
    pixels, blurred over about the same, and then never allowed below the original
    protect mask. So wherever ``protect == 255`` the result is exactly 0 — the refined
    face is never repainted — and the soft transition lies entirely in the repaint
    region, about ``feather_px`` wide, where the main pass can blend its new pixels
    into the face's edge. The user's mask is not feathered here: A1111's own "mask blur"
    does that. Note that A1111 blurs ``p.image_mask`` again by its mask blur, which
    reaches about ``2.5 * mask_blur`` px into the protected core; that band is the
    caller's to budget for.
    """
    protect = np.asarray(protect)
    if protect.ndim != 2 or protect.dtype != np.uint8:
        raise ValueError(f"main_pass_mask: protect must be a uint8 HxW mask, got {protect.dtype} {protect.shape}")
    keep = protect
    r = int(round(float(feather_px) / 2.0))
    if r >= 1 and protect.any():
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        grown = cv2.dilate(protect, k).astype(np.float32)
        soft = cv2.GaussianBlur(grown, (2 * r + 1, 2 * r + 1), sigmaX=r / 2.0, borderType=cv2.BORDER_REPLICATE)
        keep = np.maximum(protect, np.clip(np.rint(soft), 0, 255).astype(np.uint8))
    repaint = 255 - keep
    if user_mask is not None:
        user = np.asarray(user_mask)
        if user.ndim == 3:
            raise ValueError(f"main_pass_mask: user mask must be a single-channel HxW mask, got {user.shape}")
        if user.shape != protect.shape:
            raise ValueError(f"main_pass_mask: user mask is {user.shape}, protect mask is {protect.shape}")
        if user.dtype == bool:
            user = user.astype(np.uint8) * 255
        repaint = np.minimum(repaint, user.astype(np.uint8))
    return repaint.astype(np.uint8)
