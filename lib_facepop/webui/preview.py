"""The "Preview faces" button: detection and alignment on an image, no diffusion at all.

It shows what a generation would work on: the image with every face that would be
refined (box, index, score, roll arrow, keypoints; ``debug.draw_detections``) and each
face's upright working canvas exactly as the face pass would receive it. It takes about
as long as the detection (tens to hundreds of milliseconds), so settings such as the
detection confidence, maximum faces, padding or the canvas size can be tuned on the
image before spending a generation on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.align import align_face, warp_to_canvas
from lib_facepop.debug import draw_detections
from lib_facepop.pipeline import FacePipeline, as_rgb8
from lib_facepop.settings import FaceSettings


@dataclass
class Preview:
    """``annotated``: the image with the faces drawn on it; ``crops``: ``(canvas, caption)``
    per face, in face order; ``message``: one line for the user."""

    annotated: np.ndarray | None
    crops: list[tuple[np.ndarray, str]]
    message: str


def image_and_mask(value: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """An image control's value -> (RGB array, inpaint mask or None).

    Accepts a PIL image, an array, or the sketch/inpaint dict of gradio 3
    (``{"image": ..., "mask": ...}``) and gradio 4 (``{"background": ..., "layers": [...]}``).
    """
    if value is None:
        return None, None
    mask = None
    if isinstance(value, Mapping):
        raw_mask = value.get("mask")
        if raw_mask is None and value.get("layers"):
            raw_mask = value["layers"][0]
        image = value.get("image", value.get("background"))
        if raw_mask is not None:
            m = np.asarray(raw_mask.convert("RGBA") if isinstance(raw_mask, Image.Image) else raw_mask)
            m = m[..., 3] if (m.ndim == 3 and m.shape[2] == 4 and m[..., 3].min() < 255) else (
                m if m.ndim == 2 else m[..., :3].max(axis=2))
            mask = np.where(m > 127, 255, 0).astype(np.uint8) if m.any() else None
        value = image
        if value is None:
            return None, None
    arr = np.asarray(value.convert("RGB") if isinstance(value, Image.Image) else value)
    return as_rgb8(arr), mask


def preview_faces(pipeline: FacePipeline, image: np.ndarray, settings: FaceSettings,
                  inpaint_mask: np.ndarray | None = None) -> Preview:
    """Detect and align the faces of ``image`` (RGB uint8) as a generation would."""
    rgb = as_rgb8(image)
    mask = inpaint_mask
    if mask is not None and mask.shape != rgb.shape[:2]:
        mask = np.asarray(Image.fromarray(mask).resize((rgb.shape[1], rgb.shape[0]), Image.Resampling.NEAREST))
    faces = pipeline.detect(rgb, settings, mask)
    crops = []
    for i, face in enumerate(faces):
        al = align_face(face, settings)
        canvas = warp_to_canvas(rgb, al)
        w, h = al.canvas_size
        crops.append((canvas, f"face {i + 1}: {face.width:.0f} px, roll {face.roll:+.0f} deg, "
                              f"score {face.score:.2f} -> {w}x{h}"))
    n = len(faces)
    message = f"{n} face{'s' if n != 1 else ''} would be refined" if n else "No face found with these settings."
    return Preview(draw_detections(rgb, faces), crops, message)
