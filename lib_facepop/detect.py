"""Face detection that misses nothing: every scale, every roll, no duplicates.

Why a search and not one call: mediapipe's short-range detector (128x128 input)
finds a face at any roll, upside-down included, but only while the face spans about
15-80% of its input; on a whole 1024x768 frame that means faces >= ~150 px. So
aggressive mode scans a pyramid of overlapping tiles, each resized to the model's
128 px input, sized so every face of 24 px and up is wholly inside some tile at
15-50% of its width. The full-range model adds upright mid-size faces cheaply.

Candidates from all passes are merged (a face seen by several tiles is one face), then
each is *verified* and its roll measured on a loose crop (``align.measure_face``):
the detector's own keypoints flip past ~90 degrees of roll, so the crop is first turned
to the best of 0/90/180/270 degrees, then the face mesh gives the exact eye line. A
candidate the mesh can't confirm is dropped: that is what keeps false positives down.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from lib_facepop.face import Face

T = TypeVar("T")
R = TypeVar("R")

#: the short-range model's input side, pixels
SHORT_INPUT = 128
#: face width as a fraction of the detector input that the short-range model finds reliably
MIN_FACE_FRACTION = 0.15
#: tile stride as a fraction of tile size: faces up to (1 - this) of a tile fit wholly in one
TILE_STRIDE = 0.6
#: also scan every tile turned upside down: the detector is weakest on small upside-down faces
UPSIDE_DOWN_PASS = True
#: in aggressive mode, candidates scoring below this are not measured. With the upside-down
#: pass every real face of 24 px and up had a candidate scoring >= 0.65 on the benchmark
#: scenes, while 80% of false candidates score 0.5-0.6; measuring costs up to 7 model calls.
#: (A face is only kept when its upright re-detection scores >= align.VERIFY_SCORE anyway.)
AGGRESSIVE_CANDIDATE_FLOOR = 0.6


def _solutions():
    try:
        import mediapipe as mp

        return mp.solutions
    except (ImportError, AttributeError) as exc:  # mediapipe >= 0.10.30 has no `solutions`
        raise RuntimeError(
            "FacePop needs mediapipe 0.10.9-0.10.21 (the releases that bundle the legacy face models); "
            f"this environment has none usable ({exc})"
        ) from exc


class Lane:
    """One set of mediapipe graphs (short-range, full-range detector, face mesh), created on first use.

    A graph is not thread-safe, so a lane serves one thread at a time (``lock``).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._short = None
        self._full = None
        self._mesh = None

    @property
    def short(self):
        if self._short is None:
            # the legacy graph ignores thresholds below ~0.5; FacePop filters scores itself
            self._short = _solutions().face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.3)
        return self._short

    @property
    def full(self):
        if self._full is None:
            self._full = _solutions().face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.3)
        return self._full

    @property
    def mesh(self):
        if self._mesh is None:
            self._mesh = _solutions().face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.3
            )
        return self._mesh

    def close(self) -> None:
        with self.lock:
            for g in (self._short, self._full, self._mesh):
                if g is not None:
                    g.close()
            self._short = self._full = self._mesh = None


class Models:
    """The mediapipe graphs of a process, created once and reused (an explicit cache object).

    There is one ``Lane`` of graphs per worker thread: a mediapipe call releases the GIL,
    so two lanes scan tiles and measure faces on both cores of a 2-core machine at once
    (about 1.8x faster than one). ``workers`` defaults to min(2, CPU count). The first
    lane's graphs are also reachable as ``models.short``/``full``/``mesh``/``lock``.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
        self.lanes = [Lane() for _ in range(self.workers)]
        self._free: queue.SimpleQueue[Lane] = queue.SimpleQueue()
        for lane in self.lanes:
            self._free.put(lane)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # the first lane, for callers that run one thing at a time
    @property
    def lock(self):
        return self.lanes[0].lock

    @property
    def short(self):
        return self.lanes[0].short

    @property
    def full(self):
        return self.lanes[0].full

    @property
    def mesh(self):
        return self.lanes[0].mesh

    def map(self, fn: Callable[[Lane, T], R], items: Sequence[T]) -> list[R]:
        """``[fn(lane, item) for item in items]``, spread over the lanes; results in input order."""
        if self.workers == 1 or len(items) < 2:
            lane = self.lanes[0]
            with lane.lock:
                return [fn(lane, it) for it in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="facepop-detect")
            pool = self._pool

        def run(it: T) -> R:
            lane = self._free.get()
            try:
                with lane.lock:
                    return fn(lane, it)
            finally:
                self._free.put(lane)

        return list(pool.map(run, items))

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        for lane in self.lanes:
            lane.close()


@dataclass(frozen=True)
class Candidate:
    """A raw detection, in image pixels: box, score, the 6 detector keypoints (6x2)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray
    clipped: bool  # touched the border of the tile it came from (may be a partial face)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0)

    @property
    def side(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


@dataclass(frozen=True)
class DetectParams:
    """What to look for. Sizes in image pixels, confidence 0-1."""

    aggressive: bool = True
    confidence: float = 0.5
    max_faces: int = 0
    min_face_size: int = 0
    sort_order: str = "largest"

    @classmethod
    def from_settings(cls, s) -> DetectParams:
        return cls(
            aggressive=s.aggressive,
            confidence=s.confidence,
            max_faces=s.max_faces,
            min_face_size=s.min_face_size,
            sort_order=s.sort_order,
        )


def _run_detector(graph, rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
    """One mediapipe call -> [(relative box x0,y0,x1,y1, score, 6x2 relative keypoints)]."""
    res = graph.process(rgb)
    out = []
    for d in res.detections or ():
        bb = d.location_data.relative_bounding_box
        kp = np.array([(k.x, k.y) for k in d.location_data.relative_keypoints], dtype=np.float64)
        out.append(((bb.xmin, bb.ymin, bb.xmin + bb.width, bb.ymin + bb.height), float(d.score[0]), kp))
    return out


def _tile_starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / stride)) + 1
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


def pyramid_tiles(width: int, height: int, min_face: float = 24.0) -> Iterator[tuple[float, int, int]]:
    """(scale, x0, y0) of every 128x128 tile of the aggressive scan.

    Level k resizes the image by ``scale`` so a tile spans ``128/scale`` image px. The
    smallest level makes a ``min_face`` px face 15% of a tile; each next level grows the
    tile by the ratio that keeps the levels' face ranges overlapping, until one tile
    covers the whole image (that last level is the whole-image call, not yielded here).
    """
    tile_px = min_face / MIN_FACE_FRACTION
    # each level covers faces of 15-40% of its tile; x2.4 keeps consecutive ranges touching
    ratio = 2.4
    longest = max(width, height)
    while tile_px < longest:
        scale = SHORT_INPUT / tile_px
        sw, sh = max(1, int(round(width * scale))), max(1, int(round(height * scale)))
        stride = max(1, int(SHORT_INPUT * TILE_STRIDE))
        for y0 in _tile_starts(sh, SHORT_INPUT, stride):
            for x0 in _tile_starts(sw, SHORT_INPUT, stride):
                yield scale, x0, y0
        tile_px *= ratio


def _turn_half(hit):
    """A detection on a tile turned by 180 degrees, expressed on the unturned tile (relative coords)."""
    (x0, y0, x1, y1), score, kp = hit
    return (1.0 - x1, 1.0 - y1, 1.0 - x0, 1.0 - y0), score, 1.0 - kp


def _to_image(rel_hits, ox: float, oy: float, sx: float, sy: float, tile_w: int, tile_h: int,
              edge_check: bool) -> list[Candidate]:
    """Detections relative to a tile at (ox, oy) of an image scaled by (sx, sy) -> image-pixel candidates."""
    out = []
    for (x0, y0, x1, y1), score, kp in rel_hits:
        clipped = edge_check and (x0 < 0.01 or y0 < 0.01 or x1 > 0.99 or y1 > 0.99)
        box = ((ox + x0 * tile_w) / sx, (oy + y0 * tile_h) / sy, (ox + x1 * tile_w) / sx, (oy + y1 * tile_h) / sy)
        kpi = np.stack([(ox + kp[:, 0] * tile_w) / sx, (oy + kp[:, 1] * tile_h) / sy], axis=1)
        out.append(Candidate(box, score, kpi, clipped))
    return out


def find_candidates(rgb: np.ndarray, models: Models, *, aggressive: bool, min_face: float = 24.0) -> list[Candidate]:
    """All raw detections of all passes, mapped to image pixels (duplicates included).

    The whole image goes to both models; in aggressive mode every pyramid tile goes to the
    short-range model, the tiles shared out over the worker lanes in fixed chunks so the
    result does not depend on thread timing.
    """
    h, w = rgb.shape[:2]
    jobs: list[tuple] = [("short", None), ("full", None)]
    if aggressive:
        levels: dict[float, np.ndarray] = {}
        for scale, x0, y0 in pyramid_tiles(w, h, min_face):
            if scale not in levels:
                levels[scale] = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                           interpolation=cv2.INTER_AREA)
            jobs.append(("tile", (levels[scale], x0, y0)))
            if UPSIDE_DOWN_PASS:
                jobs.append(("tile180", (levels[scale], x0, y0)))
    chunks = [jobs[i :: models.workers] for i in range(models.workers)]

    def run(lane: Lane, chunk: list[tuple]) -> list[Candidate]:
        found: list[Candidate] = []
        for kind, job in chunk:
            if kind == "short":
                found += _to_image(_run_detector(lane.short, rgb), 0, 0, 1.0, 1.0, w, h, False)
            elif kind == "full":
                found += _to_image(_run_detector(lane.full, rgb), 0, 0, 1.0, 1.0, w, h, False)
            else:
                img, x0, y0 = job
                tile = np.ascontiguousarray(img[y0 : y0 + SHORT_INPUT, x0 : x0 + SHORT_INPUT])
                th, tw = tile.shape[:2]
                if kind == "tile180":
                    hits = [_turn_half(hit) for hit in _run_detector(lane.short, np.ascontiguousarray(tile[::-1, ::-1]))]
                else:
                    hits = _run_detector(lane.short, tile)
                found += _to_image(hits, x0, y0, img.shape[1] / w, img.shape[0] / h, tw, th, True)
        return found

    return [c for part in models.map(run, chunks) for c in part]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box's area (0-1): 1 when one box holds the other."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    sa = (a[2] - a[0]) * (a[3] - a[1])
    sb = (b[2] - b[0]) * (b[3] - b[1])
    m = min(sa, sb)
    return inter / m if m > 0 else 0.0


def merge_candidates(cands: list[Candidate], overlap: float = 0.45) -> list[Candidate]:
    """Collapse detections of the same face from different passes into one.

    Whole-face detections win over ones cut by a tile edge, then higher scores. Two
    boxes are the same face when they overlap by more than ``overlap`` of the smaller
    one and their sizes are within 2.5x (a big false box around a small face does not
    swallow it).
    """
    order = sorted(cands, key=lambda c: (not c.clipped, c.score), reverse=True)
    kept: list[Candidate] = []
    for c in order:
        dup = False
        for k in kept:
            ratio = max(c.side, k.side) / max(1e-6, min(c.side, k.side))
            if ratio < 2.5 and _overlap(c.box, k.box) > overlap:
                dup = True
                break
        if not dup:
            kept.append(c)
    return kept


def detect_faces(
    image: np.ndarray,
    models: Models,
    params: DetectParams | None = None,
    *,
    mask: np.ndarray | None = None,
) -> list[Face]:
    """Find faces in an RGB uint8 image.

    ``mask`` (HxW, >127 = allowed) restricts the result to faces whose centre lies in
    it, e.g. the user's inpaint mask. Faces are verified and measured by the face mesh
    (see ``align.measure_face``), deduplicated, filtered by ``params.confidence`` and
    ``params.min_face_size``, sorted and cut to ``params.max_faces`` (0 = all).
    """
    from lib_facepop.align import measure_face

    params = params or DetectParams()
    rgb = np.ascontiguousarray(image[..., :3]) if image.ndim == 3 else np.stack([image] * 3, axis=-1)
    min_face = max(24.0, float(params.min_face_size)) if params.min_face_size else 24.0
    cands = merge_candidates(find_candidates(rgb, models, aggressive=params.aggressive, min_face=min_face))
    floor = max(params.confidence, AGGRESSIVE_CANDIDATE_FLOOR if params.aggressive else 0.0)
    cands = [c for c in cands if c.score >= floor
             and (mask is None or _box_touches_mask(c.box, mask))]  # wholly outside the mask: not worth it
    faces: list[Face] = []
    # measure in rounds of one candidate per lane; a candidate that lands on a face already
    # measured is another pass's box of it and is skipped, so the mesh never runs twice
    i = 0
    while i < len(cands):
        batch: list[Candidate] = []
        while i < len(cands) and len(batch) < models.workers:
            c = cands[i]
            i += 1
            if not any(_same_face(c, f) for f in faces) and not any(_same_box(c, b) for b in batch):
                batch.append(c)
        for face in models.map(lambda lane, c: measure_face(rgb, c, lane), batch):
            if face is None or face.score < params.confidence:
                continue
            if params.min_face_size and face.size[0] < params.min_face_size:
                continue
            if mask is not None and not _center_in_mask(face, mask):
                continue
            faces.append(face)
    faces = dedupe_faces(faces)
    faces = sort_faces(faces, params.sort_order)
    if params.max_faces:
        faces = faces[: params.max_faces]
    return faces


def _same_face(c: Candidate, f: Face) -> bool:
    d = np.hypot(c.center[0] - f.center[0], c.center[1] - f.center[1])
    ratio = max(c.side, f.size[0]) / max(1e-6, min(c.side, f.size[0]))
    return d < 0.5 * f.size[0] and ratio < 2.5


def _same_box(a: Candidate, b: Candidate) -> bool:
    d = np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1])
    ratio = max(a.side, b.side) / max(1e-6, min(a.side, b.side))
    return d < 0.5 * max(a.side, b.side) and ratio < 2.5


def _box_touches_mask(box: tuple[float, float, float, float], mask: np.ndarray) -> bool:
    h, w = mask.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return x1 > x0 and y1 > y0 and bool(mask[y0:y1, x0:x1].max() > 127)


def _center_in_mask(face: Face, mask: np.ndarray) -> bool:
    x, y = face.center
    h, w = mask.shape[:2]
    xi, yi = min(max(int(x), 0), w - 1), min(max(int(y), 0), h - 1)
    return bool(mask[yi, xi] > 127)


def dedupe_faces(faces: list[Face]) -> list[Face]:
    """Second merge after measurement: two candidates that the mesh put on the same face."""
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: f.score, reverse=True):
        same = False
        for k in kept:
            d = np.hypot(f.center[0] - k.center[0], f.center[1] - k.center[1])
            if d < 0.5 * max(f.size[0], k.size[0], 1.0):
                same = True
                break
        if not same:
            kept.append(f)
    return kept


def sort_faces(faces: list[Face], order: str) -> list[Face]:
    if order == "largest":
        return sorted(faces, key=lambda f: -f.size[0] * f.size[1])
    if order == "left_to_right":
        return sorted(faces, key=lambda f: (f.center[0], f.center[1]))
    if order == "score":
        return sorted(faces, key=lambda f: -f.score)
    raise ValueError(f"unknown face order {order!r}")
