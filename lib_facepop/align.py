"""Upright, padded face crops: the affine from image to working canvas and back.

Conventions used throughout FacePop:

* image coordinates are pixels, x right, y down, pixel centres on integers;
* ``roll`` is in degrees, counter-clockwise positive *as seen on screen*, in (-180, 180];
  an upright face has roll 0, an upside-down face 180;
* an ``Alignment`` maps image pixels to canvas pixels with a similarity transform
  (uniform scale + rotation + translation), so a face is never stretched, and its
  inverse is computed in closed form rather than by a numeric matrix inverse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def normalize_roll(deg: float) -> float:
    """Wrap an angle in degrees into (-180, 180]."""
    r = math.fmod(deg, 360.0)
    if r <= -180.0:
        r += 360.0
    elif r > 180.0:
        r -= 360.0
    return r


def roll_from_eyes(right_eye: tuple[float, float], left_eye: tuple[float, float]) -> float:
    """Roll in degrees from the subject's right eye (image-left when upright) to the left eye.

    On screen (y down), turning a face counter-clockwise by r turns the eye vector
    (1, 0) into (cos r, -sin r), hence ``atan2(-dy, dx)``.
    """
    dx = left_eye[0] - right_eye[0]
    dy = left_eye[1] - right_eye[1]
    return normalize_roll(math.degrees(math.atan2(-dy, dx)))


def rotation_matrix(roll: float) -> np.ndarray:
    """2x2 matrix that turns a face with this roll upright (rotates by -roll on screen)."""
    r = math.radians(roll)
    c, s = math.cos(r), math.sin(r)
    return np.array([[c, -s], [s, c]], dtype=np.float64)


def _snap8(v: float) -> int:
    return max(8, int(round(v / 8.0)) * 8)


@dataclass(frozen=True)
class Alignment:
    """A face's working canvas: ``matrix`` maps image px -> canvas px, ``inverse`` the reverse.

    ``scale`` is canvas pixels per image pixel; ``roll`` the rotation that was undone
    (0 when the face was below the rotation threshold); ``center`` the face centre in
    image pixels; ``crop_size`` the (width, height) of the region covered, in image px.
    """

    matrix: np.ndarray
    inverse: np.ndarray
    canvas_size: tuple[int, int]
    scale: float
    roll: float
    center: tuple[float, float]
    crop_size: tuple[float, float]

    def to_canvas(self, points: np.ndarray) -> np.ndarray:
        """Map Nx2 image points to canvas points."""
        return apply_affine(self.matrix, points)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Map Nx2 canvas points to image points."""
        return apply_affine(self.inverse, points)

    def image_corners(self) -> np.ndarray:
        """The canvas outline in image coordinates (4x2, clockwise from top-left)."""
        w, h = self.canvas_size
        return self.to_image(np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]]))

    def image_bounds(self, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Integer box (x0, y0, x1, y1), clipped to the image, that contains the canvas footprint."""
        c = self.image_corners()
        w, h = image_size
        x0 = max(0, int(math.floor(c[:, 0].min())))
        y0 = max(0, int(math.floor(c[:, 1].min())))
        x1 = min(w, int(math.ceil(c[:, 0].max())) + 1)
        y1 = min(h, int(math.ceil(c[:, 1].max())) + 1)
        return x0, y0, max(x0, x1), max(y0, y1)


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def invert_similarity(m: np.ndarray) -> np.ndarray:
    """Closed-form inverse of a 2x3 similarity ``[sR | t]`` -> ``[R^T/s | -R^T t/s]``."""
    a = m[:, :2]
    s2 = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]  # det = s^2 for a similarity
    a_inv = np.array([[a[1, 1], -a[0, 1]], [-a[1, 0], a[0, 0]]], dtype=np.float64) / s2
    return np.hstack([a_inv, (-a_inv @ m[:, 2]).reshape(2, 1)])


def make_alignment(
    center: tuple[float, float],
    face_size: tuple[float, float],
    roll: float,
    *,
    width: int = 720,
    height: int = 720,
    padding: float = 35.0,
    keep_aspect: bool = True,
    rotation_threshold: float = 10.0,
    auto_align: bool = True,
) -> Alignment:
    """The upright padded crop of a face, scaled to the working canvas.

    ``face_size`` is the face's (width, height) in image pixels measured in its own
    upright frame; ``padding`` adds that percentage of the size on every side.
    With ``keep_aspect`` the canvas follows the crop's aspect and fits inside
    ``width`` x ``height``; without it the canvas is exactly ``width`` x ``height`` and
    the crop widens to that aspect. Canvas sides are multiples of 8. A roll whose
    magnitude is below ``rotation_threshold`` degrees is not undone.
    """
    fw = max(float(face_size[0]), 1.0)
    fh = max(float(face_size[1]), 1.0)
    pad = 1.0 + 2.0 * max(padding, 0.0) / 100.0
    cw, ch = fw * pad, fh * pad
    if keep_aspect:
        s_fit = min(width / cw, height / ch)
        canvas_w = min(_snap8(cw * s_fit), _snap8(width))
        canvas_h = min(_snap8(ch * s_fit), _snap8(height))
    else:
        canvas_w, canvas_h = _snap8(width), _snap8(height)
    scale = min(canvas_w / cw, canvas_h / ch)

    applied = normalize_roll(roll) if auto_align and abs(normalize_roll(roll)) >= rotation_threshold else 0.0
    a = scale * rotation_matrix(applied)
    c = np.asarray(center, dtype=np.float64)
    target = np.array([(canvas_w - 1) / 2.0, (canvas_h - 1) / 2.0])
    t = target - a @ c
    m = np.hstack([a, t.reshape(2, 1)])
    return Alignment(
        matrix=m,
        inverse=invert_similarity(m),
        canvas_size=(canvas_w, canvas_h),
        scale=float(scale),
        roll=applied,
        center=(float(c[0]), float(c[1])),
        crop_size=(canvas_w / scale, canvas_h / scale),
    )


def warp_to_canvas(image: np.ndarray, al: Alignment, *, interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Cut the face's canvas out of ``image`` (HxW or HxWxC).

    Beyond the image border the content is mirrored, so a diffusion pass sees plausible
    context; those pixels never go back into the image.
    When the canvas is smaller than the crop (downscale), the image is area-reduced first
    to avoid aliasing.
    """
    w, h = al.canvas_size
    if al.scale < 0.5:
        f = al.scale * 1.5
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        sx = small.shape[1] / image.shape[1]
        sy = small.shape[0] / image.shape[0]
        pre = np.array([[1.0 / sx, 0, 0], [0, 1.0 / sy, 0], [0, 0, 1]])
        m = np.vstack([al.matrix, [0, 0, 1]]) @ pre
        return cv2.warpAffine(small, m[:2], (w, h), flags=interpolation, borderMode=cv2.BORDER_REFLECT_101)
    return cv2.warpAffine(image, al.matrix, (w, h), flags=interpolation, borderMode=cv2.BORDER_REFLECT_101)


def canvas_inside_mask(al: Alignment, image_size: tuple[int, int]) -> np.ndarray:
    """float32 canvas-sized mask: 1 where the canvas pixel comes from inside the image."""
    w, h = al.canvas_size
    ones = np.ones((image_size[1], image_size[0]), dtype=np.float32)
    return cv2.warpAffine(ones, al.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
