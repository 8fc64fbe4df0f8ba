"""Face masks on the working canvas: MODNet portrait matting, or a bundled fallback.

A square paste smears hair and shows the crop's edge, so each refined face is matted:
MODNet (onnxruntime; GPU when it really works) gives a soft portrait alpha with hair;
without its file, mediapipe's bundled selfie segmenter gives a similar person mask, and
the face-mesh oval a tight skin-only one. One small class per model session.

All masks are float32 0-1 at canvas size; grow and feather are in canvas pixels.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lib_facepop.models import MODNET, ModelStore, ModelUnavailable, resolve_models_dir

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def modnet_input_size(width: int, height: int, ref_size: int = 512) -> tuple[int, int]:
    """MODNet's working size (w, h): short side ``ref_size`` when the canvas is out of
    [ref_size, ...] range as in MODNet's reference inference, sides floored to /32."""
    if max(width, height) < ref_size or min(width, height) > ref_size:
        if width >= height:
            rh, rw = ref_size, int(width / height * ref_size)
        else:
            rw, rh = ref_size, int(height / width * ref_size)
    else:
        rw, rh = width, height
    return max(32, rw - rw % 32), max(32, rh - rh % 32)


class ModnetSession:
    """One onnxruntime session of a model with MODNet's signature: [N,3,H,W] in -1..1 -> [N,1,H,W] 0-1."""

    def __init__(self, path: str | os.PathLike, *, ref_size: int = 512, use_gpu: bool = True) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.ref_size = ref_size
        wanted = [CUDA, CPU] if use_gpu and CUDA in ort.get_available_providers() else [CPU]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=wanted)
        # onnxruntime-gpu without a working CUDA falls back to the CPU silently (get_device()
        # still says GPU); the session's own provider list tells what really loaded.
        self.provider = self.session.get_providers()[0]
        self.requested = wanted[0]
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.lock = threading.Lock()

    def describe(self) -> str:
        where = "GPU (CUDA)" if self.provider == CUDA else "CPU"
        fallback = " - CUDA was requested but did not load" if self.requested == CUDA and self.provider != CUDA else ""
        return f"MODNet on {where} via onnxruntime {self.provider}{fallback}"

    def predict(self, canvases: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Alpha (float32 0-1, canvas size) per RGB uint8 canvas; same-size inputs share one batch."""
        out: list[np.ndarray | None] = [None] * len(canvases)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, c in enumerate(canvases):
            groups.setdefault(modnet_input_size(c.shape[1], c.shape[0], self.ref_size), []).append(i)
        for (rw, rh), idx in groups.items():
            batch = np.stack([
                cv2.resize(canvases[i], (rw, rh), interpolation=cv2.INTER_AREA) for i in idx
            ]).astype(np.float32)
            batch = (batch / 255.0 - 0.5) / 0.5
            with self.lock:
                res = self.session.run([self.output_name], {self.input_name: batch.transpose(0, 3, 1, 2)})[0]
            for k, i in enumerate(idx):
                h, w = canvases[i].shape[:2]
                out[i] = np.clip(cv2.resize(res[k, 0].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR),
                                 0.0, 1.0)
        return out  # type: ignore[return-value]


class SelfieSegmenter:
    """mediapipe's bundled selfie segmentation (offline): a person mask incl. hair."""

    def __init__(self) -> None:
        import mediapipe as mp

        self.graph = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        self.lock = threading.Lock()

    def predict(self, canvases: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        with self.lock:
            for c in canvases:
                m = self.graph.process(np.ascontiguousarray(c[..., :3])).segmentation_mask
                out.append(np.clip(np.asarray(m, dtype=np.float32), 0.0, 1.0))
        return out

    def close(self) -> None:
        self.graph.close()


def face_oval_ring() -> list[int]:
    """Face-mesh indices of the face outline, in order around the face (from mediapipe's edge set)."""
    import mediapipe as mp

    edges = mp.solutions.face_mesh.FACEMESH_FACE_OVAL
    nxt: dict[int, list[int]] = {}
    for a, b in edges:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    start = min(nxt)
    ring, prev, cur = [start], None, start
    while True:
        cand = [n for n in nxt[cur] if n != prev]
        if not cand or cand[0] == start:
            break
        prev, cur = cur, cand[0]
        ring.append(cur)
    return ring


def face_oval_mask(
    landmarks: np.ndarray | None, canvas_size: tuple[int, int], ring: Sequence[int] | None = None
) -> np.ndarray:
    """Filled face outline (float32 0-1) from 468 mesh points in canvas px; without them,
    an ellipse over the middle of the canvas (where the aligned face sits)."""
    w, h = canvas_size
    mask = np.zeros((h, w), np.uint8)
    if landmarks is not None and len(landmarks) >= 468:
        ring = ring if ring is not None else face_oval_ring()
        pts = np.round(np.asarray(landmarks)[list(ring)] * 4).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=2)
    else:
        cv2.ellipse(mask, (w // 2, h // 2), (max(1, int(w * 0.33)), max(1, int(h * 0.42))), 0, 0, 360, 255, -1,
                    lineType=cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def postprocess_mask(alpha: np.ndarray, grow_px: int = 0, feather_px: float = 0.0) -> np.ndarray:
    """Grow (+) or shrink (-) by ``grow_px``, then soften the edge over about ``feather_px`` (canvas px)."""
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)
    if grow_px:
        r = abs(int(grow_px))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        a = cv2.dilate(a, k) if grow_px > 0 else cv2.erode(a, k)
    if feather_px and feather_px > 0:
        a = cv2.GaussianBlur(a, (0, 0), sigmaX=feather_px / 2.0)
    return np.clip(a, 0.0, 1.0)


@dataclass
class MatteResult:
    """Alphas per canvas, the method that really ran, the onnxruntime provider (MODNet
    only) and a message for the user when a fallback was taken."""

    alphas: list[np.ndarray]
    method_used: str
    provider: str = ""
    message: str = ""


class Matter:
    """Picks and caches the mask models of one process (an explicit cache object).

    ``modnet_path`` points at an ONNX file directly; otherwise MODNet is looked up (and,
    if allowed, downloaded once) in ``models_dir``. A failed MODNet load is remembered, so
    an offline machine pays for it once, not per face.
    """

    def __init__(
        self,
        models_dir: str | os.PathLike | None = None,
        *,
        allow_download: bool = True,
        modnet_path: str | os.PathLike | None = None,
        use_gpu: bool = True,
    ) -> None:
        self.store = ModelStore(resolve_models_dir(models_dir), allow_download=allow_download)
        self.modnet_path = Path(modnet_path) if modnet_path else None
        self.use_gpu = use_gpu
        self._modnet: ModnetSession | None = None
        self._modnet_error: str | None = None
        self._selfie: SelfieSegmenter | None = None
        self._ring: list[int] | None = None

    @property
    def provider(self) -> str:
        return self._modnet.provider if self._modnet is not None else ""

    def modnet(self) -> ModnetSession:
        if self._modnet is None:
            if self._modnet_error is not None:
                raise ModelUnavailable(self._modnet_error)
            try:
                if self.modnet_path is not None:
                    if not self.modnet_path.is_file():
                        raise ModelUnavailable(f"MODNet: no file at {self.modnet_path}")
                    path = self.modnet_path
                else:
                    path = self.store.ensure(MODNET)
                self._modnet = ModnetSession(path, use_gpu=self.use_gpu)
            except ModelUnavailable as exc:
                self._modnet_error = str(exc)
                raise
            except Exception as exc:  # noqa: BLE001 - a broken file or runtime must fall back, not crash
                self._modnet_error = f"MODNet could not be loaded ({type(exc).__name__}: {exc})"
                raise ModelUnavailable(self._modnet_error) from None
        return self._modnet

    def selfie(self) -> SelfieSegmenter:
        if self._selfie is None:
            self._selfie = SelfieSegmenter()
        return self._selfie

    def matte(
        self,
        canvases: Sequence[np.ndarray],
        method: str,
        landmarks: Sequence[np.ndarray | None] | None = None,
    ) -> MatteResult:
        """One alpha per canvas. ``landmarks`` (mesh points in canvas px, per canvas) feed
        the face-oval mask. Fallback chain: modnet -> selfie -> face_oval."""
        landmarks = list(landmarks) if landmarks is not None else [None] * len(canvases)
        if method == "none":
            return MatteResult([np.ones(c.shape[:2], np.float32) for c in canvases], "none")
        message = ""
        if method == "modnet":
            try:
                sess = self.modnet()
                # onnxruntime-gpu that quietly fell back to the CPU: say so, it is 10-50x slower
                fell_back = sess.requested == CUDA and sess.provider != CUDA
                return MatteResult(sess.predict(canvases), "modnet", sess.provider,
                                   message=sess.describe() if fell_back else "")
            except ModelUnavailable as exc:
                message = f"{exc}; used the bundled selfie segmenter instead"
                method = "selfie"
        if method == "selfie":
            try:
                return MatteResult(self.selfie().predict(canvases), "selfie", message=message)
            except Exception as exc:  # noqa: BLE001 - mediapipe missing or broken: keep going with the oval
                message = (message + "; " if message else "") + f"selfie segmenter failed ({exc}); used the face oval"
                method = "face_oval"
        if method == "face_oval":
            if self._ring is None and any(lm is not None for lm in landmarks):
                self._ring = face_oval_ring()
            alphas = [face_oval_mask(lm, (c.shape[1], c.shape[0]), self._ring) for c, lm in zip(canvases, landmarks)]
            return MatteResult(alphas, "face_oval", message=message)
        raise ValueError(f"unknown mask method {method!r}")

    def close(self) -> None:
        if self._selfie is not None:
            self._selfie.close()
            self._selfie = None
        self._modnet = None
