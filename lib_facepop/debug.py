"""Debug images, like the original FacePop's ``Debugging`` folder, and a writer that never overwrites.

The drawing functions are pure: each takes arrays and returns a new RGB uint8 HxWx3
image, leaving its inputs unchanged. Labels use ``cv2.putText`` (Hershey fonts built into
OpenCV, so no font files are needed; they have no degree sign, hence "deg").
Line widths and text sizes follow the image size, so a 4K photo and a 128 px canvas
both stay readable. Coordinates are pixels of the image drawn on.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .face import KEYPOINT_NAMES, Face

# RGB colours
BOX_COLOR = (0, 255, 0)
ARROW_COLOR = (255, 64, 64)
TEXT_COLOR = (255, 255, 255)
LANDMARK_COLOR = (0, 255, 0)
ORIGINAL_COLOR = (255, 0, 255)
PROTECT_TINT = (255, 0, 255)
KEYPOINT_COLORS = {
    "right_eye": (255, 0, 0),
    "left_eye": (0, 128, 255),
    "nose_tip": (255, 255, 0),
    "mouth_center": (255, 0, 255),
    "right_ear": (255, 128, 0),
    "left_ear": (0, 255, 255),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A new HxWx3 uint8 RGB copy of an HxW, HxWx1, HxWx3 or HxWx4 image (float 0-1 is scaled by 255)."""
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        f = a.astype(np.float32)
        if np.issubdtype(a.dtype, np.floating):
            f = f * 255.0
        a = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 3:
        return a.copy()
    if a.ndim == 3 and a.shape[2] == 4:
        return a[..., :3].copy()
    raise ValueError(f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {a.shape}")


def _thickness(img: np.ndarray) -> int:
    return max(1, int(round(min(img.shape[:2]) / 300)))


def _font_scale(img: np.ndarray) -> float:
    return max(0.35, min(img.shape[:2]) / 900)


def _pt(p: Sequence[float]) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def put_label(img: np.ndarray, text: str, org: tuple[int, int], *, scale: float | None = None,
              color: tuple[int, int, int] = TEXT_COLOR) -> None:
    """Draw ``text`` with its baseline-left at ``org`` on a dark outline, in place (a helper for the drawers)."""
    s = _font_scale(img) if scale is None else scale
    t = max(1, int(round(s * 2)))
    cv2.putText(img, text, org, _FONT, s, (0, 0, 0), t + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, s, color, t, cv2.LINE_AA)


def draw_detections(image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
    """Faces drawn on a copy of ``image``: box, index and score, a roll arrow and the keypoints.

    The arrow starts at the box centre and points to the top of the head: for roll r
    (degrees, counter-clockwise on screen) that is ``(-sin r, -cos r)``, half a box long.
    Keypoints are dots, one colour per keypoint name (``KEYPOINT_COLORS``).
    """
    out = to_rgb(image)
    t = _thickness(out)
    for i, face in enumerate(faces):
        x0, y0, x1, y1 = face.box
        cv2.rectangle(out, _pt((x0, y0)), _pt((x1, y1)), BOX_COLOR, t, cv2.LINE_AA)
        cx, cy = face.center
        r = math.radians(face.roll)
        length = 0.5 * max(face.width, face.height, 2.0)
        tip = (cx - math.sin(r) * length, cy - math.cos(r) * length)
        cv2.arrowedLine(out, _pt((cx, cy)), _pt(tip), ARROW_COLOR, t, cv2.LINE_AA, tipLength=0.25)
        radius = max(2, t + 1)
        for name in KEYPOINT_NAMES:
            if name in face.keypoints:
                cv2.circle(out, _pt(face.keypoints[name]), radius, KEYPOINT_COLORS[name], -1, cv2.LINE_AA)
        label = f"#{i} {face.score:.2f} {face.roll:+.0f}deg"
        put_label(out, label, (int(round(x0)), max(12, int(round(y0)) - 4)))
    return out


def draw_landmarks(
    canvas: np.ndarray,
    landmarks_canvas: np.ndarray,
    original_positions: np.ndarray | None = None,
) -> np.ndarray:
    """Landmarks (Nx2 canvas pixels) as green dots on a copy of the upright canvas.

    With ``original_positions`` (Nx2, same order) — where the points were before the
    face was rotated upright, mapped into the same canvas frame — those are drawn in
    magenta, each joined to its landmark by a thin line, so the correction can be read
    at a glance.
    """
    out = to_rgb(canvas)
    pts = np.asarray(landmarks_canvas, dtype=np.float64).reshape(-1, 2)
    r = max(1, _thickness(out))
    if original_positions is not None:
        orig = np.asarray(original_positions, dtype=np.float64).reshape(-1, 2)
        if orig.shape != pts.shape:
            raise ValueError(f"draw_landmarks: {orig.shape[0]} original positions for {pts.shape[0]} landmarks")
        for p, q in zip(pts, orig, strict=True):
            cv2.line(out, _pt(q), _pt(p), (160, 160, 160), 1, cv2.LINE_AA)
        for q in orig:
            cv2.circle(out, _pt(q), r, ORIGINAL_COLOR, -1, cv2.LINE_AA)
    for p in pts:
        cv2.circle(out, _pt(p), r, LANDMARK_COLOR, -1, cv2.LINE_AA)
    return out


def _fit_height(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    if h == height:
        return img
    new_w = max(1, int(round(w * height / max(h, 1))))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(img, (new_w, height), interpolation=interp)


def draw_orientation(before_canvas_unrotated: np.ndarray, after_canvas: np.ndarray, roll: float) -> np.ndarray:
    """The orientation correction side by side: the crop as found, and the upright canvas.

    ``roll`` is the rotation that was undone, in degrees; both halves are scaled to the
    taller one's height and labelled ("before: roll +33.0 deg", "after: rotated -33.0 deg").
    """
    a, b = to_rgb(before_canvas_unrotated), to_rgb(after_canvas)
    h = max(a.shape[0], b.shape[0])
    a, b = _fit_height(a, h), _fit_height(b, h)
    gap = np.full((h, max(2, h // 64), 3), 255, np.uint8)
    out = np.concatenate([a, gap, b], axis=1)
    y = max(14, int(round(_font_scale(out) * 30)))
    put_label(out, f"before: roll {roll:+.1f} deg", (4, y))
    put_label(out, f"after: rotated {-roll:+.1f} deg", (a.shape[1] + gap.shape[1] + 4, y))
    return out


def mask_view(alpha: np.ndarray) -> np.ndarray:
    """A mask as a grey RGB image: float 0-1 (or bool) or uint8 0-255 in, white = 1/255."""
    a = np.asarray(alpha)
    if a.ndim != 2:
        raise ValueError(f"mask_view: expected an HxW mask, got {a.shape}")
    return to_rgb(a)


def overlay(image: np.ndarray, protect_mask: np.ndarray, *, strength: float = 0.5) -> np.ndarray:
    """The final image with the protected faces tinted magenta and outlined.

    ``protect_mask`` is uint8 0-255 (255 = fully protected) or float 0-1, the image's
    size; the tint is ``strength`` times the mask, so feathered edges show as fading.
    """
    out = to_rgb(image)
    m = np.asarray(protect_mask)
    if m.shape != out.shape[:2]:
        raise ValueError(f"overlay: mask is {m.shape}, image is {out.shape[:2]}")
    m = m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else m.astype(np.float32)
    w = (np.clip(m, 0.0, 1.0) * strength)[..., None]
    tint = np.array(PROTECT_TINT, np.float32)
    out = np.clip(np.rint(out * (1.0 - w) + tint * w), 0, 255).astype(np.uint8)
    hard = (m >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(hard, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, PROTECT_TINT, _thickness(out), cv2.LINE_AA)
    return out


def contact_sheet(
    tiles: Sequence[tuple[str, np.ndarray]],
    columns: int = 4,
    *,
    tile_height: int = 256,
    margin: int = 8,
    title_height: int = 22,
) -> np.ndarray:
    """One sheet of titled tiles: each image is resized to ``tile_height`` pixels high.

    Tiles fill rows of ``columns``; each column is as wide as its widest tile, and every
    tile has a ``title_height`` strip above it holding its title. The background is dark
    grey. Sheet size: width ``margin + sum(column widths + margin)``, height
    ``margin + rows * (title_height + tile_height + margin)``. No tiles -> a 1-tile-high
    empty sheet.
    """
    if columns < 1:
        raise ValueError(f"contact_sheet: columns must be at least 1, got {columns}")
    imgs = [_fit_height(to_rgb(img), tile_height) for _, img in tiles]
    rows = max(1, math.ceil(len(imgs) / columns))
    col_w = [0] * min(columns, max(1, len(imgs)))
    for i, img in enumerate(imgs):
        col_w[i % columns] = max(col_w[i % columns], img.shape[1])
    col_w = [w or tile_height for w in col_w]
    width = margin + sum(w + margin for w in col_w)
    cell_h = title_height + tile_height + margin
    sheet = np.full((margin + rows * cell_h, width, 3), 40, np.uint8)
    for i, ((title, _), img) in enumerate(zip(tiles, imgs, strict=True)):
        r, c = divmod(i, columns)
        x = margin + sum(w + margin for w in col_w[:c])
        y = margin + r * cell_h
        sheet[y + title_height:y + title_height + tile_height, x:x + img.shape[1]] = img
        put_label(sheet, str(title), (x + 2, y + title_height - 6), scale=0.5)
    return sheet


# ---- writing ----------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(part: str) -> str:
    s = _UNSAFE.sub("_", str(part)).strip("._")
    return s or "image"


class DebugWriter:
    """Writes debug PNGs into ``directory`` as ``<YYYYmmdd-HHMMSS-micro>_<stem>_<kind>.png``.

    A file is never overwritten: files are created with an exclusive open (``'xb'``),
    and a taken name gets a ``_1``, ``_2``, ... suffix, which also holds when another
    process writes into the same folder at the same moment. The directory is created
    on the first write, so a run that writes nothing leaves no empty folder. ``clock``
    (returning a datetime) is injectable for tests. Stems and kinds are reduced to
    ``[A-Za-z0-9._-]``.
    """

    def __init__(self, directory: str | Path, clock: Callable[[], datetime] = datetime.now) -> None:
        self.directory = Path(directory)
        self.clock = clock

    def write(self, image: np.ndarray, stem: str, kind: str) -> Path:
        """Encode ``image`` (any shape ``to_rgb`` accepts) as PNG and write it; returns the path."""
        buf = io.BytesIO()
        Image.fromarray(to_rgb(image)).save(buf, format="PNG")
        data = buf.getvalue()
        self.directory.mkdir(parents=True, exist_ok=True)
        base = f"{self.clock():%Y%m%d-%H%M%S-%f}_{_safe(stem)}_{_safe(kind)}"
        n = 0
        while True:
            path = self.directory / (f"{base}.png" if n == 0 else f"{base}_{n}.png")
            try:
                with open(path, "xb") as fh:
                    fh.write(data)
            except FileExistsError:
                n += 1
                continue
            return path

    def write_all(self, images: Sequence[tuple[str, np.ndarray]], stem: str) -> list[Path]:
        """Write ``(kind, image)`` pairs under one stem; returns the paths in order."""
        return [self.write(img, stem, kind) for kind, img in images]


def write_debug(writer: DebugWriter, stem: str, img, result) -> Path:
    """The original FacePop's Debugging images for one pipeline result, plus a contact sheet.

    ``img`` has ``.rgb`` (the input, RGB uint8) and ``result`` is a ``PipelineResult``: the
    detections, per face the orientation fix, landmarks (where they were and where they
    are on the upright canvas) and mask, then the final overlay and the main-pass mask.
    Returns the contact sheet's path.
    """
    from lib_facepop.align import make_alignment, warp_to_canvas

    tiles: list[tuple[str, np.ndarray]] = []
    det = draw_detections(img.rgb, [r.face for r in result.faces])
    writer.write(det, stem, "detections")
    tiles.append(("detections", det))
    for rec in result.faces:
        al = rec.alignment
        # the same crop without the rotation: what the face looked like before the orientation fix
        unrot = make_alignment(al.center, (al.crop_size[0], al.crop_size[1]), 0.0, width=al.canvas_size[0],
                               height=al.canvas_size[1], padding=0.0, keep_aspect=False, rotation_threshold=0.0)
        before = warp_to_canvas(img.rgb, unrot)
        orient = draw_orientation(before, rec.canvas_before, al.roll)
        writer.write(orient, stem, f"face{rec.index}_orientation")
        if rec.face.landmarks:
            pts = np.array(rec.face.landmarks)
            lm = draw_landmarks(rec.canvas_before, al.to_canvas(pts), unrot.to_canvas(pts))
            writer.write(lm, stem, f"face{rec.index}_landmarks")
            tiles.append((f"face {rec.index} landmarks (roll {rec.face.roll:.1f})", lm))
        tiles.append((f"face {rec.index} orientation", orient))
        if rec.alpha is not None:
            mv = mask_view(rec.alpha)
            writer.write(mv, stem, f"face{rec.index}_mask_{rec.matte_method}")
            tiles.append((f"face {rec.index} mask ({rec.matte_method})", mv))
        if rec.canvas_after is not None:
            tiles.append((f"face {rec.index} refined", rec.canvas_after))
    ov = overlay(result.image, result.protect)
    writer.write(ov, stem, "overlay")
    writer.write(mask_view(result.main_mask), stem, "main_pass_mask")
    tiles += [("final overlay", ov), ("main pass mask", mask_view(result.main_mask))]
    return writer.write(contact_sheet(tiles, columns=4), stem, "contact_sheet")
