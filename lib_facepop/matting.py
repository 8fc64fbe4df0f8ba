"""Face masks on the working canvas: MODNet portrait matting, or a bundled fallback.

A square paste smears hair and shows the crop's edge, so each refined face is matted:
MODNet (onnxruntime; GPU when it really works) gives a soft portrait alpha with hair;
without its file, mediapipe's bundled selfie segmenter gives a similar person mask, and
the face-mesh oval a tight skin-only one. One small class per model session; the
``Matter`` holds them (an explicit cache object, one per process) and walks the
fallback chain modnet -> selfie -> face_oval, saying why.

Canvases are RGB uint8 HxWx3 (typically 720x720). All masks are float32 0-1 at canvas
size; grow and feather are in canvas pixels.
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
METHODS = ("modnet", "selfie", "face_oval", "none")

#: 5%-95% rise of a Gaussian-blurred step, in sigmas: 2 * 1.645 (the normal quantile of 0.95)
_RAMP_SIGMAS = 3.29


def choose_providers(available: Sequence[str], use_gpu: bool = True) -> list[str]:
    """onnxruntime providers to ask for: [CUDA, CPU] when CUDA is offered, else [CPU].

    Asking is not getting: ``onnxruntime-gpu`` without a working CUDA lists CUDA, loads the
    CPU provider silently and ``get_device()`` still says GPU. ``ModnetSession`` reads the
    session's own provider list afterwards to learn what really loaded.
    """
    return [CUDA, CPU] if use_gpu and CUDA in available else [CPU]


def modnet_input_size(width: int, height: int, ref_size: int = 512) -> tuple[int, int]:
    """MODNet's working size (w, h) for a canvas, as in MODNet's reference inference.

    When both sides exceed ``ref_size``, or both are below it, the short side becomes
    ``ref_size`` (aspect kept); otherwise the size is kept. Sides are then floored to
    multiples of 32 (the network downsamples by 32), at least 32.
    """
    if max(width, height) < ref_size or min(width, height) > ref_size:
        if width >= height:
            rh, rw = ref_size, int(width / height * ref_size)
        else:
            rw, rh = ref_size, int(height / width * ref_size)
    else:
        rw, rh = width, height
    return max(32, rw - rw % 32), max(32, rh - rh % 32)


class ModnetSession:
    """One onnxruntime session of a model with MODNet's signature.

    Input [N,3,H,W] float32 RGB scaled to -1..1 (``(x/255 - 0.5)/0.5``), H and W multiples
    of 32; output [N,1,H,W] alpha 0-1. Names are read from the session. ``provider`` is
    the provider that really runs (read back from the session, see ``choose_providers``).
    """

    def __init__(self, path: str | os.PathLike, *, ref_size: int = 512, use_gpu: bool = True,
                 max_batch: int = 8) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.ref_size = int(ref_size)
        wanted = choose_providers(ort.get_available_providers(), use_gpu)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # a CUDA provider that fails to load is reported by describe()
        self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=wanted)
        self.provider = self.session.get_providers()[0]
        self.requested = wanted[0]
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_name = self.session.get_outputs()[0].name
        # an export with a fixed batch dimension (an int, e.g. 1) takes that many canvases per run
        self.max_batch = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else max(1, max_batch)
        self.lock = threading.Lock()

    def describe(self) -> str:
        """One line: where MODNet runs, and whether CUDA was asked for but did not load."""
        where = "GPU (CUDA)" if self.provider == CUDA else "CPU"
        fallback = " - CUDA was requested but did not load" if self.requested == CUDA and self.provider != CUDA else ""
        return f"MODNet on {where} via onnxruntime {self.provider}{fallback}"

    def predict(self, canvases: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Alpha (float32 0-1, canvas size) per RGB uint8 canvas.

        Canvases that map to the same MODNet input size share one batch (up to
        ``max_batch``); each alpha is resized back to its own canvas.
        """
        out: list[np.ndarray | None] = [None] * len(canvases)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, c in enumerate(canvases):
            groups.setdefault(modnet_input_size(c.shape[1], c.shape[0], self.ref_size), []).append(i)
        for (rw, rh), members in groups.items():
            for start in range(0, len(members), self.max_batch):
                idx = members[start:start + self.max_batch]
                batch = np.stack([
                    cv2.resize(np.ascontiguousarray(canvases[i][..., :3]), (rw, rh), interpolation=cv2.INTER_AREA)
                    for i in idx
                ]).astype(np.float32)
                batch = (batch / 255.0 - 0.5) / 0.5
                with self.lock:
                    res = self.session.run([self.output_name], {self.input_name: batch.transpose(0, 3, 1, 2)})[0]
                res = res.reshape(len(idx), rh, rw)  # [N,1,H,W] or [N,H,W]
                for k, i in enumerate(idx):
                    h, w = canvases[i].shape[:2]
                    a = cv2.resize(res[k].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
                    out[i] = np.clip(a, 0.0, 1.0)
        return out  # type: ignore[return-value]


class SelfieSegmenter:
    """mediapipe's bundled selfie segmentation (offline, legacy ``solutions`` API): a person
    mask including hair, float32 0-1 at canvas size. The graph is loaded once per instance."""

    def __init__(self, model_selection: int = 0) -> None:
        import mediapipe as mp

        # 0 = the general 256x256 model, which suits square face canvases
        self.graph = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)
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


def ring_from_edges(edges: Sequence[tuple[int, int]] | frozenset[tuple[int, int]]) -> list[int]:
    """Order the vertices of an edge set that forms one closed loop, walking from the smallest index.

    Raises ValueError when the edges are not a single simple cycle (a vertex without
    exactly two neighbours, or several loops).
    """
    nbrs: dict[int, list[int]] = {}
    for a, b in edges:
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    if not nbrs or any(len(v) != 2 for v in nbrs.values()):
        raise ValueError("the edges do not form a simple closed loop")
    start = min(nbrs)
    ring, prev, cur = [start], start, min(nbrs[start])
    while cur != start:
        ring.append(cur)
        prev, cur = cur, next(n for n in nbrs[cur] if n != prev)
    if len(ring) != len(nbrs):
        raise ValueError(f"the edges form several loops ({len(ring)} of {len(nbrs)} vertices in the first)")
    return ring


def face_oval_ring() -> list[int]:
    """Face-mesh (468-point) indices of the face outline, in order around the face,
    derived from mediapipe's ``FACEMESH_FACE_OVAL`` edge set."""
    import mediapipe as mp

    return ring_from_edges(mp.solutions.face_mesh.FACEMESH_FACE_OVAL)


#: Semi-axes of the fallback ellipse, as fractions of the canvas width and height. With
#: the default 35% padding the face box spans 1/1.7 of the canvas; the oval is a bit taller.
OVAL_FALLBACK_AXES = (0.33, 0.42)
def fill_polygon(points: np.ndarray, canvas_size: tuple[int, int]) -> np.ndarray:
    """Filled polygon (float32 0-1) at ``canvas_size`` (w, h) with an anti-aliased edge.

    ``points`` is Nx2 in pixels, pixel centres on integers, drawn with 1/16 px precision.
    cv2's anti-aliased fill puts its soft edge about half a pixel outside the outline
    (measured: the mask's sum exceeds the polygon's area by 0.3-0.6 px x perimeter), which
    the feather of ``postprocess_mask`` dwarfs.
    """
    w, h = canvas_size
    mask = np.zeros((h, w), np.uint8)
    pts = np.round(np.asarray(points, dtype=np.float64).reshape(-1, 2) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def face_oval_mask(
    landmarks: np.ndarray | None, canvas_size: tuple[int, int], ring: Sequence[int] | None = None
) -> np.ndarray:
    """Filled face outline (float32 0-1, anti-aliased edge) at ``canvas_size`` (w, h).

    ``landmarks`` are face-mesh points (468 or 478 x 2) in canvas pixels. Without them
    (None or too few), an ellipse with ``OVAL_FALLBACK_AXES`` centred on the canvas,
    where the aligned face sits.
    """
    w, h = canvas_size
    if landmarks is not None and len(landmarks) >= 468:
        ring = ring if ring is not None else face_oval_ring()
        return fill_polygon(np.asarray(landmarks, dtype=np.float64)[list(ring)], canvas_size)
    t = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    ellipse = np.stack([(w - 1) / 2.0 + w * OVAL_FALLBACK_AXES[0] * np.cos(t),
                        (h - 1) / 2.0 + h * OVAL_FALLBACK_AXES[1] * np.sin(t)], axis=1)
    return fill_polygon(ellipse, canvas_size)


#: Largest disc radius (px) applied in one morphology step; bigger grows are done in steps.
_MORPH_STEP = 8
#: Blurs with sigma above this many px run on a downscaled mask (the result is smooth anyway).
_BLUR_DIRECT_SIGMA = 6.0


def _morph_disc(a: np.ndarray, radius: int, grow: bool) -> np.ndarray:
    """Grey dilation (``grow``) or erosion by a disc of ``radius`` px.

    A disc of radius r is the Minkowski sum of discs whose radii add up to r, so a big
    radius is applied as several steps of at most ``_MORPH_STEP`` px: the cost grows
    like r instead of r^2 (radius 64: 7x faster), the outline stays within about 3% of
    the exact disc's.
    """
    op = cv2.dilate if grow else cv2.erode
    steps, rest = divmod(radius, _MORPH_STEP)
    if radius <= _MORPH_STEP:
        steps, rest = 0, radius
    if steps:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _MORPH_STEP + 1,) * 2)
        a = op(a, k, iterations=steps, borderType=cv2.BORDER_REPLICATE)
    if rest:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rest + 1,) * 2)
        a = op(a, k, borderType=cv2.BORDER_REPLICATE)
    return a


def _gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with ``sigma`` px. From sigma 6 up the blur runs on a mask downscaled by
    max(2, sigma/8) (the variance the area-average adds is taken off) and is scaled back
    linearly: within 0.004 of the direct blur (0.01 at the canvas border for a 128 px
    feather), 4-40x faster."""
    if sigma <= _BLUR_DIRECT_SIGMA:
        return cv2.GaussianBlur(a, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
    h, w = a.shape[:2]
    f = max(2.0, sigma / 8.0)
    sw, sh = max(1, round(w / f)), max(1, round(h / f))
    fx, fy = w / sw, h / sh
    small = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA)
    sx = np.sqrt(max(sigma**2 - (fx**2 - 1) / 12.0, 0.25)) / fx
    sy = np.sqrt(max(sigma**2 - (fy**2 - 1) / 12.0, 0.25)) / fy
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def postprocess_mask(alpha: np.ndarray, grow_px: int = 0, feather_px: float = 0.0) -> np.ndarray:
    """Grow (+) or shrink (-) the mask by ``grow_px``, then soften its edge over ``feather_px``.

    Both in canvas pixels. Grow/shrink is a grey dilation/erosion by a disc of radius
    ``|grow_px|``, so a shape's outline moves out or in by that many pixels. The feather
    is a Gaussian blur whose visible edge (alpha rising from 5% to 95% across a straight
    edge) is ``feather_px`` wide, centred on the outline. Returns float32 clipped to 0-1.
    """
    a = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    if grow_px:
        a = _morph_disc(a, abs(int(grow_px)), grow_px > 0)
    if feather_px and feather_px > 0:
        a = _gaussian(a, float(feather_px) / _RAMP_SIGMAS)
    return np.clip(a, 0.0, 1.0).astype(np.float32, copy=False)


@dataclass
class MatteResult:
    """Alphas per canvas (float32 0-1, canvas size), the method that really ran, the
    onnxruntime provider (MODNet only, else "") and a message for the user when a
    fallback was taken or MODNet runs somewhere other than asked."""

    alphas: list[np.ndarray]
    method_used: str
    provider: str = ""
    message: str = ""


class Matter:
    """Picks and caches the mask models of one process (an explicit cache object).

    ``modnet_path`` points at an ONNX file directly; otherwise MODNet is looked up (and,
    if allowed, downloaded once, sha256-checked) in ``models_dir`` (see
    ``resolve_models_dir``). Sessions are created on first use. A failed MODNet load is
    remembered, so an offline machine pays for it once, not per face; ``forget_failures``
    tries again.
    """

    def __init__(
        self,
        models_dir: str | os.PathLike | None = None,
        *,
        allow_download: bool = True,
        modnet_path: str | os.PathLike | None = None,
        use_gpu: bool = True,
        ref_size: int = 512,
        timeout: float = 60.0,
    ) -> None:
        self.store = ModelStore(resolve_models_dir(models_dir), allow_download=allow_download, timeout=timeout)
        self.modnet_path = Path(modnet_path) if modnet_path else None
        self.use_gpu = use_gpu
        self.ref_size = ref_size
        self._modnet: ModnetSession | None = None
        self._modnet_error: ModelUnavailable | None = None
        self._selfie: SelfieSegmenter | None = None
        self._ring: list[int] | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return self._modnet.provider if self._modnet is not None else ""

    def modnet(self) -> ModnetSession:
        """The MODNet session, created on first call; raises ModelUnavailable (remembered)."""
        with self._lock:
            if self._modnet is not None:
                return self._modnet
            if self._modnet_error is not None:  # remembered; a fresh traceback keeps it from growing
                raise self._modnet_error.with_traceback(None)
            try:
                if self.modnet_path is not None:
                    if not self.modnet_path.is_file():
                        raise ModelUnavailable(f"MODNet: no file at {self.modnet_path}",
                                               reason="missing", detail=f"no file at {self.modnet_path}")
                    path = self.modnet_path
                else:
                    path = self.store.ensure(MODNET)
                self._modnet = ModnetSession(path, ref_size=self.ref_size, use_gpu=self.use_gpu)
            except ModelUnavailable as exc:
                self._modnet_error = exc
                raise
            except Exception as exc:  # noqa: BLE001 - a broken file or runtime must fall back, not crash
                where = self.modnet_path or self.store.path(MODNET)
                detail = f"{where} could not be loaded ({type(exc).__name__}: {str(exc).strip()[:200]})"
                self._modnet_error = ModelUnavailable(f"MODNet: {detail}", reason="invalid", detail=detail)
                raise self._modnet_error from None
            return self._modnet

    def selfie(self) -> SelfieSegmenter:
        with self._lock:
            if self._selfie is None:
                self._selfie = SelfieSegmenter()
            return self._selfie

    def forget_failures(self) -> None:
        """Let the next ``matte`` try MODNet again (after the user put the file in place)."""
        with self._lock:
            self._modnet_error = None

    def matte(
        self,
        canvases: Sequence[np.ndarray],
        method: str,
        landmarks: Sequence[np.ndarray | None] | None = None,
    ) -> MatteResult:
        """One alpha per canvas by ``method`` (one of ``METHODS``; "none" = all ones).

        ``landmarks`` (face-mesh points in canvas px, one entry or None per canvas) feed
        the face-oval mask. When a model is unavailable the chain modnet -> selfie ->
        face_oval is walked and ``message`` says why.
        """
        if method not in METHODS:
            raise ValueError(f"unknown mask method {method!r}; choose one of {', '.join(METHODS)}")
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
                message = f"MODNet unavailable ({exc.detail}); used the bundled selfie segmenter instead"
                if exc.remedy:
                    message += f". {exc.remedy}"
                method = "selfie"
        if method == "selfie":
            try:
                return MatteResult(self.selfie().predict(canvases), "selfie", message=message)
            except Exception as exc:  # noqa: BLE001 - mediapipe missing or broken: keep going with the oval
                why = f"selfie segmenter failed ({type(exc).__name__}: {exc}); used the face oval"
                message = f"{message}; {why}" if message else why
        if self._ring is None and any(lm is not None for lm in landmarks):
            self._ring = face_oval_ring()
        alphas = [face_oval_mask(lm, (c.shape[1], c.shape[0]), self._ring) for c, lm in zip(canvases, landmarks)]
        return MatteResult(alphas, "face_oval", message=message)

    def close(self) -> None:
        with self._lock:
            if self._selfie is not None:
                self._selfie.close()
                self._selfie = None
            self._modnet = None
