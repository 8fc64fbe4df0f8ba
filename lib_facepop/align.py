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
        # only the region under the canvas is reduced (clipped to the image, so mirroring at
        # the image border is unchanged), not the whole image
        x0, y0, x1, y1 = al.image_bounds((image.shape[1], image.shape[0]))
        x0, y0 = max(0, x0 - 2), max(0, y0 - 2)
        x1, y1 = min(image.shape[1], x1 + 2), min(image.shape[0], y1 + 2)
        if x1 - x0 < 2 or y1 - y0 < 2:
            x0, y0, x1, y1 = 0, 0, image.shape[1], image.shape[0]
        sub = image[y0:y1, x0:x1]
        f = al.scale * 1.5
        small = cv2.resize(sub, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        sx = small.shape[1] / sub.shape[1]
        sy = small.shape[0] / sub.shape[0]
        # small -> image pixels, with resize's pixel-centre convention: x = (x_s + 0.5) / sx - 0.5 + x0
        pre = np.array([[1.0 / sx, 0, 0.5 / sx - 0.5 + x0], [0, 1.0 / sy, 0.5 / sy - 0.5 + y0], [0, 0, 1]])
        m = np.vstack([al.matrix, [0, 0, 1]]) @ pre
        return cv2.warpAffine(small, m[:2], (w, h), flags=interpolation, borderMode=cv2.BORDER_REFLECT_101)
    return cv2.warpAffine(image, al.matrix, (w, h), flags=interpolation, borderMode=cv2.BORDER_REFLECT_101)


def canvas_inside_mask(al: Alignment, image_size: tuple[int, int]) -> np.ndarray:
    """float32 canvas-sized mask: 1 where the canvas pixel comes from inside the image."""
    w, h = al.canvas_size
    ones = np.ones((image_size[1], image_size[0]), dtype=np.float32)
    return cv2.warpAffine(ones, al.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# ---- measuring a face on a loose crop ------------------------------------------

#: face-mesh (468 points) indices: eye contours, nose tip, lips, cheek edges, forehead, chin
RIGHT_EYE = (33, 133, 159, 145, 160, 144, 158, 153)
LEFT_EYE = (263, 362, 386, 374, 387, 373, 385, 380)
NOSE_TIP = 1
MOUTH = (13, 14)
RIGHT_CHEEK, LEFT_CHEEK = 234, 454
FOREHEAD, CHIN = 10, 152
#: the mesh's face-oval extent is narrower than mediapipe's detection box; this factor
#: converts it so ``Face.size`` speaks the detector's units (measured on the bundled photos)
MESH_TO_BOX = (1.12, 1.0)

#: loose crop side, in multiples of the candidate box side, and its pixel size
LOOSE = 2.2
CROP_PX = 192
MESH_PX = 256
#: minimum detector score of the upright, re-framed face for a candidate to count as a face
VERIFY_SCORE = 0.6


def _crop(rgb: np.ndarray, center: tuple[float, float], side: float, roll: float, out: int) -> Alignment:
    return make_alignment(center, (side, side), roll, width=out, height=out, padding=0.0,
                          rotation_threshold=0.0)


def _central_detection(graph, crop: np.ndarray, max_offset: float):
    """Best detection whose centre is within ``max_offset`` (fraction of the crop) of the centre."""
    from lib_facepop.detect import _run_detector

    best = None
    for (x0, y0, x1, y1), score, kp in _run_detector(graph, crop):
        if abs((x0 + x1) / 2 - 0.5) > max_offset or abs((y0 + y1) / 2 - 0.5) > max_offset:
            continue
        if best is None or score > best[1]:
            best = ((x0, y0, x1, y1), score, kp)
    return best


#: a turn whose detection is this sure, this central and this level is taken without trying the rest
SURE_SCORE, SURE_OFFSET, SURE_RESIDUAL = 0.85, 0.08, 30.0


def _turn_order(first_guess: float | None) -> tuple[float, ...]:
    """The four turns, the one nearest ``first_guess`` (degrees) first."""
    turns = (0.0, 90.0, 180.0, -90.0)
    if first_guess is None:
        return turns
    return tuple(sorted(turns, key=lambda t: abs(normalize_roll(t - first_guess))))


def _best_turn(rgb: np.ndarray, center: tuple[float, float], side: float, max_offset: float, models,
               first_guess: float | None = None):
    """Score the loose crop at 0/90/180/270 degrees -> (alignment, turn, detection) of the best, or None.

    Turns are tried nearest ``first_guess`` first, and a detection that is very sure, centred
    and nearly level ends the search early: that saves up to three detector calls per face.
    A wrong turn rarely looks like that - its box lands off the face centre.
    """
    best = None
    for turn in _turn_order(first_guess):
        al = _crop(rgb, center, side, turn, CROP_PX)
        crop = warp_to_canvas(rgb, al, interpolation=cv2.INTER_AREA if al.scale < 1 else cv2.INTER_LINEAR)
        hit = _central_detection(models.short, crop, max_offset)
        if hit is None:
            continue
        if best is None or hit[1] > best[2][1]:
            best = (al, turn, hit)
        (x0, y0, x1, y1), score, kp = hit
        if (score >= SURE_SCORE and abs((x0 + x1) / 2 - 0.5) <= SURE_OFFSET and abs((y0 + y1) / 2 - 0.5) <= SURE_OFFSET
                and abs(roll_from_eyes(tuple(kp[0]), tuple(kp[1]))) <= SURE_RESIDUAL):
            return (al, turn, hit)
    return best


def _coarse_orientation(rgb: np.ndarray, cand, models):
    """Best of 0/90/180/270 turns of the loose crop -> (centre, face side px, roll, score) or None.

    The detector is roll-robust but its eye keypoints flip past ~90 degrees, so the turn
    with the best score (face within ~45 degrees of upright) gives a trustworthy coarse
    roll from those keypoints. Only detections near the crop centre count: at a wrong
    turn the detector's box lands off the face centre, which is what rules those turns
    out. When a tile box was off (large faces), no turn has a central detection; the
    crop is then re-centred once on the best off-centre detection and scored again.
    """
    side = cand.side * LOOSE
    guess = roll_from_eyes(tuple(cand.keypoints[0]), tuple(cand.keypoints[1]))
    best = _best_turn(rgb, cand.center, side, 0.22, models, guess)
    if best is None:
        loose = _best_turn(rgb, cand.center, side, 0.45, models)
        if loose is None:
            return None
        al, _turn, (rbox, _score, _kp) = loose
        rc = np.array([[(rbox[0] + rbox[2]) / 2 * CROP_PX, (rbox[1] + rbox[3]) / 2 * CROP_PX]])
        center = tuple(float(v) for v in al.to_image(rc)[0])
        side = max(rbox[2] - rbox[0], rbox[3] - rbox[1]) * side * LOOSE
        best = _best_turn(rgb, center, side, 0.22, models)
        if best is None:
            return None
    al, turn, (rbox, score, kp) = best
    residual = roll_from_eyes(tuple(kp[0]), tuple(kp[1]))
    rc = np.array([[(rbox[0] + rbox[2]) / 2 * CROP_PX, (rbox[1] + rbox[3]) / 2 * CROP_PX]])
    center = tuple(float(v) for v in al.to_image(rc)[0])
    face_side = max(rbox[2] - rbox[0], rbox[3] - rbox[1]) * al.crop_size[0]
    return center, face_side, normalize_roll(turn + residual), score


def _mesh_fit(rgb: np.ndarray, center: tuple[float, float], face_side: float, roll: float, models):
    """Face mesh on the crop turned by ``roll`` -> (alignment, Nx2 canvas points, N depths) or None."""
    al = _crop(rgb, center, face_side * LOOSE, roll, MESH_PX)
    crop = warp_to_canvas(rgb, al, interpolation=cv2.INTER_AREA if al.scale < 1 else cv2.INTER_CUBIC)
    res = models.mesh.process(crop)
    if not res.multi_face_landmarks:
        return None
    lm = res.multi_face_landmarks[0].landmark
    pts = np.array([(p.x * MESH_PX, p.y * MESH_PX) for p in lm], dtype=np.float64)
    if np.abs(pts.mean(axis=0) - MESH_PX / 2).max() > 0.25 * MESH_PX:
        return None  # the mesh locked onto something else in the crop
    z = np.array([p.z * MESH_PX for p in lm], dtype=np.float64)
    return al, pts, z


def _upright_frame(al: Alignment, pts: np.ndarray, fine: float):
    """Face centre (image px) and upright (width, height) in image px, from mesh points."""
    mid = pts.mean(axis=0)
    rot = rotation_matrix(fine)
    up = (pts - mid) @ rot.T
    lo, hi = up.min(axis=0), up.max(axis=0)
    size = ((hi[0] - lo[0]) * MESH_TO_BOX[0] / al.scale, (hi[1] - lo[1]) * MESH_TO_BOX[1] / al.scale)
    c_canvas = mid + rot.T @ ((lo + hi) / 2)
    return tuple(float(v) for v in al.to_image(c_canvas.reshape(1, 2))[0]), size, up


def measure_face(rgb: np.ndarray, cand, models):
    """Verify a candidate and measure it: roll (exact), keypoints, size, yaw/pitch.

    1. Coarse orientation from the best cardinal turn (``_coarse_orientation``).
    2. The crop is turned by that estimate and the face mesh run on it; the mesh's eye
       line gives the residual roll. A residual above 8 degrees means the first crop was
       off, so the mesh runs once more on the corrected crop (accuracy well under a degree).
    3. Verification: the face, now upright and framed like the detector's training data,
       must be re-detected at its measured place and size with score >= VERIFY_SCORE.
       False candidates (textures, a cat's face seen sideways) pass the mesh but fail
       here; real faces score >= 0.7.
    Returns None for a false candidate.
    """
    from lib_facepop.face import KEYPOINT_NAMES, Face

    with models.lock:
        coarse = _coarse_orientation(rgb, cand, models)
        if coarse is None:
            return None
        center, face_side, roll, score = coarse
        for _ in range(2):
            fit = _mesh_fit(rgb, center, face_side, roll, models)
            if fit is None:
                return None
            al, pts, z = fit
            fine = roll_from_eyes(tuple(pts[list(RIGHT_EYE)].mean(axis=0)), tuple(pts[list(LEFT_EYE)].mean(axis=0)))
            roll = normalize_roll(roll + fine)
            center, size, up = _upright_frame(al, pts, fine)
            face_side = max(size)
            if abs(fine) <= 8.0:
                break

        side_v = face_side * LOOSE
        al_v = _crop(rgb, center, side_v, roll, CROP_PX)
        crop_v = warp_to_canvas(rgb, al_v, interpolation=cv2.INTER_AREA if al_v.scale < 1 else cv2.INTER_LINEAR)
        hit = _central_detection(models.short, crop_v, 0.15)
    if hit is None or hit[1] < VERIFY_SCORE:
        return None
    vb = hit[0]
    if not 0.5 <= max(vb[2] - vb[0], vb[3] - vb[1]) * LOOSE <= 2.0:
        return None  # the detector sees a face of another size there: not this one
    score = max(score, hit[1])

    reye, leye = pts[list(RIGHT_EYE)].mean(axis=0), pts[list(LEFT_EYE)].mean(axis=0)
    kp_canvas = np.array([reye, leye, pts[NOSE_TIP], pts[list(MOUTH)].mean(axis=0), pts[RIGHT_CHEEK], pts[LEFT_CHEEK]])
    keypoints = {n: (float(x), float(y)) for n, (x, y) in zip(KEYPOINT_NAMES, al.to_image(kp_canvas))}
    w_up, h_up = size
    r = np.radians(roll)
    hw = 0.5 * (abs(np.cos(r)) * w_up + abs(np.sin(r)) * h_up)
    hh = 0.5 * (abs(np.sin(r)) * w_up + abs(np.cos(r)) * h_up)
    box = (center[0] - hw, center[1] - hh, center[0] + hw, center[1] + hh)
    # head turn from the mesh's depth: the cheek line in x-z, the forehead-chin line in y-z
    yaw = float(np.degrees(np.arctan2(z[LEFT_CHEEK] - z[RIGHT_CHEEK], up[LEFT_CHEEK, 0] - up[RIGHT_CHEEK, 0])))
    pitch = float(np.degrees(np.arctan2(z[CHIN] - z[FOREHEAD], up[CHIN, 1] - up[FOREHEAD, 1])))
    return Face(
        box=tuple(float(v) for v in box),
        score=float(score),
        keypoints=keypoints,
        roll=roll,
        size=(float(w_up), float(h_up)),
        landmarks=tuple((float(x), float(y)) for x, y in al.to_image(pts)),
        yaw=yaw,
        pitch=pitch,
    )


def align_face(face, s) -> Alignment:
    """The working-canvas alignment of a detected face under FaceSettings ``s``."""
    return make_alignment(
        face.center,
        face.size,
        face.roll,
        width=s.face_width,
        height=s.face_height,
        padding=s.padding,
        keep_aspect=s.keep_aspect,
        rotation_threshold=s.rotation_threshold,
        auto_align=s.auto_align,
    )
