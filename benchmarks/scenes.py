"""Public synthetic scenes for detection and round-trip benchmarks.

Faces come from offline, public-domain photos that ship with Python packages
(``skimage.data.astronaut()``, matplotlib's ``grace_hopper.jpg``) and their mirror
images. Each face is cut out with a soft oval, scaled so its face box is ``width``
pixels wide, rotated by ``roll`` degrees (counter-clockwise on screen) and pasted on a
1024x768 background (gradients, noise, and textures such as skimage's ``chelsea`` cat,
``coffee``, ``brick``, ``grass``, ``gravel``, ``rocket``). Face-free images use the
same backgrounds. Ground truth (face centre, width, roll from the eye line) comes from
a face-mesh annotation of the large, upright source photo, rotated and scaled with the
face, so the truth is exact to the paste transform.

Usage: ``python benchmarks/scenes.py OUT_DIR`` writes the scenes as PNG plus a
``truth.json`` so other tools can be measured on the same images.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

SCENE_SIZE = (1024, 768)
WIDTHS = (16, 20, 24, 28, 32, 40, 48, 64, 80, 100, 140, 200, 300)


@dataclass(frozen=True)
class SourceFace:
    """A face photo and its annotation, in pixels of the photo (upright source)."""

    name: str
    image: np.ndarray  # RGB uint8
    center: tuple[float, float]  # face box centre
    width: float  # face box width (the detector's notion: about ear to ear)
    height: float
    roll: float  # degrees, from the eye line
    eyes: tuple[tuple[float, float], tuple[float, float]]  # subject's right, left eye centres


@dataclass(frozen=True)
class TruthFace:
    center: tuple[float, float]
    width: float
    roll: float
    eyes: tuple[tuple[float, float], tuple[float, float]]
    source: str


@dataclass
class Scene:
    name: str
    image: np.ndarray
    faces: list[TruthFace]
    background: str


def _annotate(name: str, image: np.ndarray) -> SourceFace:
    """Face box from the full-range detector, eyes from the face mesh (both on the big upright photo)."""
    import mediapipe as mp

    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        det = fd.process(image).detections[0]
    h, w = image.shape[:2]
    bb = det.location_data.relative_bounding_box
    bw, bh = bb.width * w, bb.height * h
    cx, cy = bb.xmin * w + bw / 2, bb.ymin * h + bh / 2
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as fm:
        lm = fm.process(image).multi_face_landmarks[0].landmark
    pts = np.array([(p.x * w, p.y * h) for p in lm])
    # mesh indices of the subject's right eye (image-left) and left eye contours
    right_eye = pts[[33, 133, 159, 145, 160, 144, 158, 153]].mean(axis=0)
    left_eye = pts[[263, 362, 386, 374, 387, 373, 385, 380]].mean(axis=0)
    dx, dy = left_eye - right_eye
    roll = math.degrees(math.atan2(-dy, dx))
    return SourceFace(name, image, (cx, cy), bw, bh, roll,
                      ((float(right_eye[0]), float(right_eye[1])), (float(left_eye[0]), float(left_eye[1]))))


def load_sources() -> list[SourceFace]:
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    astro = np.ascontiguousarray(data.astronaut())
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.asarray(Image.open(f).convert("RGB"))
    out = []
    for name, img in (("astronaut", astro), ("hopper", hopper)):
        out.append(_annotate(name, img))
        out.append(_annotate(name + "_mirror", np.ascontiguousarray(img[:, ::-1])))
    return out


def backgrounds(size: tuple[int, int] = SCENE_SIZE) -> dict[str, np.ndarray]:
    """Deterministic backgrounds, RGB uint8 of ``size`` (w, h)."""
    from skimage import data

    w, h = size
    rng = np.random.default_rng(7)
    out: dict[str, np.ndarray] = {}
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = np.stack([xx / w * 200 + 30, yy / h * 150 + 60, (1 - xx / w) * 180 + 40], axis=-1)
    out["gradient"] = np.clip(grad + rng.normal(0, 6, grad.shape), 0, 255).astype(np.uint8)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3)).astype(np.uint8), (0, 0), 3)
    out["noise"] = cv2.normalize(noise, None, 20, 235, cv2.NORM_MINMAX)

    def textured(img: np.ndarray) -> np.ndarray:
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        img = img[..., :3]
        if img.dtype != np.uint8:
            img = (np.clip(img, 0, 1) * 255).astype(np.uint8) if img.max() <= 1.0 else img.astype(np.uint8)
        reps = (math.ceil(h / img.shape[0]), math.ceil(w / img.shape[1]), 1)
        return np.ascontiguousarray(np.tile(img, reps)[:h, :w])

    out["chelsea"] = cv2.resize(data.chelsea(), (w, h), interpolation=cv2.INTER_CUBIC)
    out["coffee"] = cv2.resize(data.coffee(), (w, h), interpolation=cv2.INTER_CUBIC)
    out["rocket"] = cv2.resize(data.rocket(), (w, h), interpolation=cv2.INTER_CUBIC)
    out["brick"] = textured(data.brick())
    out["grass"] = textured(data.grass())
    out["gravel"] = textured(data.gravel())
    return out


def paste_face(
    canvas: np.ndarray, src: SourceFace, center: tuple[float, float], width: float, roll: float
) -> TruthFace:
    """Paste ``src`` scaled to face width ``width`` px, rolled ``roll`` degrees CCW, centred at ``center``.

    The head is cut with a soft oval 1.8x the face box, so hair and chin come along.
    Modifies ``canvas`` in place and returns the exact ground truth.
    """
    s = width / src.width
    # similarity: source -> scene, rotating CCW (on screen) by `roll` about the face centre
    m = cv2.getRotationMatrix2D(src.center, roll, s)
    m[:, 2] += np.array(center) - np.array(src.center)
    h, w = canvas.shape[:2]
    sh, sw = src.image.shape[:2]
    oval = np.zeros((sh, sw), np.float32)
    axes = (int(src.width * 0.9), int(src.height * 1.1))
    cv2.ellipse(oval, (int(src.center[0]), int(src.center[1] - src.height * 0.08)), axes, 0, 0, 360, 1.0, -1)
    oval = cv2.GaussianBlur(oval, (0, 0), max(2.0, src.width * 0.06))
    # work only inside the footprint
    r = int(math.ceil(max(axes) * 1.3 * s)) + 4
    x0, y0 = max(0, int(center[0]) - r), max(0, int(center[1]) - r)
    x1, y1 = min(w, int(center[0]) + r), min(h, int(center[1]) + r)
    if x1 <= x0 or y1 <= y0:
        raise ValueError("face outside the canvas")
    mm = m.copy()
    mm[:, 2] -= (x0, y0)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    if s < 0.7:  # area-reduce first, then rotate: no aliasing on small faces
        pre = cv2.resize(src.image, None, fx=s * 1.25, fy=s * 1.25, interpolation=cv2.INTER_AREA)
        pre_a = cv2.resize(oval, None, fx=s * 1.25, fy=s * 1.25, interpolation=cv2.INTER_AREA)
        k = np.array([[1 / (s * 1.25), 0, 0], [0, 1 / (s * 1.25), 0], [0, 0, 1]])
        mk = np.vstack([mm, [0, 0, 1]]) @ k
        face = cv2.warpAffine(pre, mk[:2], (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(pre_a, mk[:2], (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    else:
        face = cv2.warpAffine(src.image, mm, (x1 - x0, y1 - y0), flags=interp)
        alpha = cv2.warpAffine(oval, mm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    a = alpha[..., None]
    canvas[y0:y1, x0:x1] = np.clip(face * a + region * (1 - a) + 0.5, 0, 255).astype(np.uint8)

    def tf(p: tuple[float, float]) -> tuple[float, float]:
        q = m @ np.array([p[0], p[1], 1.0])
        return (float(q[0]), float(q[1]))

    eyes = (tf(src.eyes[0]), tf(src.eyes[1]))
    dx, dy = eyes[1][0] - eyes[0][0], eyes[1][1] - eyes[0][1]
    truth_roll = math.degrees(math.atan2(-dy, dx))
    return TruthFace(center=tf(src.center), width=float(width), roll=truth_roll, eyes=eyes, source=src.name)


def make_scenes(
    n_scenes: int = 48,
    faces_per_scene: int = 6,
    n_empty: int = 20,
    widths: tuple[int, ...] = WIDTHS,
    seed: int = 1234,
    sources: list[SourceFace] | None = None,
) -> list[Scene]:
    """Scenes with up to ``faces_per_scene`` non-overlapping faces, then face-free scenes.

    Widths come from a queue cycling through ``widths`` so every width is equally
    represented; a face that finds no free spot (its head disc, radius 1.3x its width,
    may not touch another's, and its face box stays inside the frame) waits for the next
    scene. Rolls are uniform in [0, 360). Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    sources = sources or load_sources()
    bgs = backgrounds()
    names = sorted(bgs)
    scenes: list[Scene] = []
    W, H = SCENE_SIZE
    queue: list[int] = []
    k = 0
    for i in range(n_scenes):
        bg = names[i % len(names)]
        canvas = bgs[bg].copy()
        placed: list[tuple[float, float, float]] = []  # (x, y, radius)
        faces = []
        while len(queue) < faces_per_scene:
            queue.append(widths[k % len(widths)])
            k += 1
        waiting = []
        for width in queue:
            if len(faces) >= faces_per_scene:
                waiting.append(width)
                continue
            radius = 1.3 * width
            spot = None
            for _ in range(300):
                x = rng.uniform(0.6 * width, W - 0.6 * width)
                y = rng.uniform(0.6 * width, H - 0.6 * width)
                if all(math.hypot(x - px, y - py) > radius + pr for px, py, pr in placed):
                    spot = (x, y)
                    break
            if spot is None:
                waiting.append(width)
                continue
            placed.append((spot[0], spot[1], radius))
            src = sources[int(rng.integers(len(sources)))]
            faces.append(paste_face(canvas, src, spot, width, float(rng.uniform(0, 360))))
        queue = waiting
        scenes.append(Scene(f"scene_{i:03d}", canvas, faces, bg))
    for i in range(n_empty):
        bg = names[i % len(names)]
        img = bgs[bg].copy()
        if i % 2:  # vary a little so they are not exact copies
            img = np.ascontiguousarray(img[:, ::-1])
        scenes.append(Scene(f"empty_{i:03d}", img, [], bg))
    return scenes


def sample_image() -> np.ndarray:
    """The bundled CLI sample: the astronaut photo with extra faces at several sizes and rolls."""
    from skimage import data

    sources = load_sources()
    base = cv2.resize(data.astronaut(), (768, 768), interpolation=cv2.INTER_CUBIC)
    canvas = np.zeros((768, 1152, 3), np.uint8)
    canvas[:, :768] = base
    canvas[:, 768:] = backgrounds((384, 768))["gradient"]
    paste_face(canvas, sources[2], (960, 150), 110, 90.0)  # hopper, sideways
    paste_face(canvas, sources[1], (930, 420), 70, 180.0)  # astronaut mirror, upside down
    paste_face(canvas, sources[3], (1040, 640), 44, -25.0)  # hopper mirror, small and tilted
    return canvas


def main(argv: list[str]) -> int:
    from PIL import Image

    out = Path(argv[0] if argv else "out/scenes")
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for sc in make_scenes():
        Image.fromarray(sc.image).save(out / f"{sc.name}.png")
        truth[sc.name] = [asdict(f) for f in sc.faces]
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    print(f"wrote {len(truth)} scenes to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
