"""FacePipeline: one image through detect -> align -> crop -> render -> matte -> uncrop -> composite.

The same code runs inside the WebUI (renderer = a child img2img pass), from the CLI
(preview filters or a running WebUI's HTTP API) and in tests (deterministic renderers).
It returns the composite, the protect mask for the main pass, and a record per face.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lib_facepop.align import Alignment, align_face, warp_to_canvas
from lib_facepop.compose import (
    blend,
    color_match,
    head_region,
    main_pass_mask,
    protect_mask,
    region_falloff,
    uncrop,
)
from lib_facepop.detect import DetectParams, Models, detect_faces
from lib_facepop.face import Face
from lib_facepop.render import Renderer, RenderInterrupted
from lib_facepop.settings import FaceSettings

#: progress(face_index, n_faces, stage) - stage is "render", "matte" or "composite"
Progress = Callable[[int, int, str], None]


@dataclass
class FaceRecord:
    """What happened to one face. Canvases are RGB uint8 at the working size; ``alpha`` is
    the final blend mask on the canvas (0-1); ``box`` the image region it was pasted into.
    ``status`` is "done", "skipped" (stopped before its turn) or "interrupted"."""

    index: int
    face: Face
    alignment: Alignment
    seed: int
    overrides: dict[str, Any]
    canvas_before: np.ndarray
    canvas_after: np.ndarray | None = None
    alpha: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None
    matte_method: str = ""
    status: str = "skipped"


@dataclass
class PipelineResult:
    """The composite (RGB uint8, input size), the protect mask (uint8, 255 = face fully
    replaced), the main-pass mask (uint8, 255 = repaint), per-face records, timings in ms
    per stage, and user-facing messages (fallbacks taken, interruptions)."""

    image: np.ndarray
    protect: np.ndarray
    main_mask: np.ndarray
    faces: list[FaceRecord]
    timings: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    interrupted: bool = False


def face_overrides(settings: FaceSettings, index: int, canvas_size: tuple[int, int]) -> dict[str, Any]:
    """Per-face render overrides named like the WebUI's img2img payload.

    Without "separate face processing" only the canvas size and a per-face prompt are
    set, so the face pass inherits the main pass's steps/CFG/denoise. A per-face prompt
    line wins over the face prompt; blank prompts mean "use the main prompt".
    """
    o: dict[str, Any] = {"width": canvas_size[0], "height": canvas_size[1]}
    if settings.separate:
        o.update(steps=settings.steps, cfg_scale=settings.cfg_scale, denoising_strength=settings.denoise)
        if settings.sampler:
            o["sampler_name"] = settings.sampler
        if settings.prompt.strip():
            o["prompt"] = settings.prompt
        if settings.negative_prompt.strip():
            o["negative_prompt"] = settings.negative_prompt
    if index < len(settings.face_prompts) and settings.face_prompts[index].strip():
        o["prompt"] = settings.face_prompts[index]
    o["facepop_enhancement"] = settings.enhancement
    o["facepop_face"] = index
    return o


def face_seed(settings: FaceSettings, seed: int, index: int, rng: random.Random | None = None) -> int:
    """``same``: the image seed; ``offset``: seed + face index; ``random``: a fresh seed."""
    if settings.seed_mode == "same":
        return seed
    if settings.seed_mode == "offset":
        return seed + index
    return (rng or random.Random()).randrange(0, 2**32 - 1)


def _user_mask_on_canvas(user_mask: np.ndarray, al: Alignment) -> np.ndarray:
    w, h = al.canvas_size
    return cv2.warpAffine(user_mask, al.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """HxW, HxWx1, HxWx3, HxWx4 uint8/uint16/float -> RGB uint8 (alpha dropped: the caller keeps it)."""
    arr = np.asarray(image)
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif arr.dtype != np.uint8:
        f = arr.astype(np.float32)
        arr = np.clip((f * 255.0 if f.max() <= 1.0 else f) + 0.5, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    elif arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[..., :3]
    return np.ascontiguousarray(arr)


class FacePipeline:
    """Holds the explicit model caches (mediapipe graphs, matting sessions) for reuse.

    Create one per process and call ``run`` per image; nothing is loaded per call.
    """

    def __init__(self, models: Models | None = None, matter: Any = None) -> None:
        self.models = models or Models()
        self._matter = matter

    @property
    def matter(self):
        if self._matter is None:
            from lib_facepop.matting import Matter

            self._matter = Matter()
        return self._matter

    def detect(self, image: np.ndarray, settings: FaceSettings, inpaint_mask: np.ndarray | None = None) -> list[Face]:
        mask = inpaint_mask if (inpaint_mask is not None and settings.only_in_mask) else None
        return detect_faces(as_rgb8(image), self.models, DetectParams.from_settings(settings), mask=mask)

    def run(
        self,
        image: np.ndarray,
        settings: FaceSettings,
        renderer: Renderer,
        inpaint_mask: np.ndarray | None = None,
        *,
        seed: int = 0,
        faces: list[Face] | None = None,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> PipelineResult:
        """Refine every face of ``image`` and composite them back.

        ``inpaint_mask`` (HxW uint8, 255 = the user wants this repainted) limits which
        faces are touched (``only_in_mask``) and which of their pixels change; the main
        mask returned is ``user_mask AND NOT protect``. ``faces`` skips detection (the
        WebUI's preview reuses them). ``should_stop`` is polled between faces; a renderer
        raising RenderInterrupted stops the run and keeps the faces done so far.
        """
        timings: dict[str, float] = {}
        messages: list[str] = []
        t0 = time.perf_counter()
        rgb = as_rgb8(image)
        h, w = rgb.shape[:2]
        user = None
        if inpaint_mask is not None:
            user = np.asarray(inpaint_mask)
            user = user[..., 0] if user.ndim == 3 else user
            if user.dtype == bool:
                user = user.astype(np.uint8) * 255
            if user.shape != (h, w):
                user = cv2.resize(user, (w, h), interpolation=cv2.INTER_NEAREST)
        if faces is None:
            faces = self.detect(rgb, settings, user)
        # with "only faces inside the inpaint mask", the mask also bounds which face pixels change
        face_mask = user if settings.only_in_mask else None
        timings["detect"] = (time.perf_counter() - t0) * 1000

        # 1-2. align and crop every face to its upright working canvas
        t = time.perf_counter()
        rng = random.Random(seed)
        records: list[FaceRecord] = []
        for i, face in enumerate(faces):
            al = align_face(face, settings)
            records.append(FaceRecord(
                index=i,
                face=face,
                alignment=al,
                seed=face_seed(settings, seed, i, rng),
                overrides=face_overrides(settings, i, al.canvas_size),
                canvas_before=warp_to_canvas(rgb, al),
            ))
        timings["align"] = (time.perf_counter() - t) * 1000

        # 3. render each face in its own pass
        t = time.perf_counter()
        interrupted = False
        for rec in records:
            if should_stop is not None and should_stop():
                interrupted = True
                messages.append(f"FacePop: stopped before face {rec.index + 1}/{len(records)}")
                break
            if progress is not None:
                progress(rec.index, len(records), "render")
            mask = None if face_mask is None else _user_mask_on_canvas(face_mask, rec.alignment)
            try:
                out = renderer.render(rec.canvas_before, mask, dict(rec.overrides), rec.seed)
            except RenderInterrupted:
                rec.status = "interrupted"
                interrupted = True
                messages.append(f"FacePop: interrupted during face {rec.index + 1}/{len(records)}; kept the faces done")
                break
            out = as_rgb8(out)
            if out.shape[:2] != rec.canvas_before.shape[:2]:
                cw, ch = rec.alignment.canvas_size
                out = cv2.resize(out, (cw, ch), interpolation=cv2.INTER_LANCZOS4)
            rec.canvas_after = out
            rec.status = "rendered"
        timings["render"] = (time.perf_counter() - t) * 1000

        # 4. matte all rendered faces in one batch, then shape the masks
        t = time.perf_counter()
        done = [r for r in records if r.status == "rendered"]
        if done:
            self._matte(done, settings, face_mask, messages)
        timings["matte"] = (time.perf_counter() - t) * 1000

        # 5. warp back and blend; the protect mask is the union of the face alphas
        t = time.perf_counter()
        composite = rgb
        pasted: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []
        for rec in done:
            if progress is not None:
                progress(rec.index, len(records), "composite")
            after = rec.canvas_after
            if settings.color_match:
                after = color_match(after, rec.canvas_before, rec.alpha)
                rec.canvas_after = after
            patch, patch_alpha, box = uncrop(after, rec.alpha, rec.alignment, (w, h))
            composite = blend(composite, patch, patch_alpha, box)
            pasted.append((patch_alpha, box))
            rec.box = box
            rec.status = "done"
        protect = protect_mask(pasted, (w, h))
        main = main_pass_mask(protect, user, float(settings.mask_feather))
        timings["composite"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        return PipelineResult(
            image=composite if composite is not rgb else rgb.copy(),
            protect=protect,
            main_mask=main,
            faces=records,
            timings=timings,
            messages=messages,
            interrupted=interrupted,
        )

    def _matte(self, recs: list[FaceRecord], settings: FaceSettings, face_mask: np.ndarray | None,
               messages: list[str]) -> None:
        """Alpha per face: the matte, grown/feathered, times a falloff to the canvas edge,
        and (with ``face_mask``, the user's inpaint mask) times that mask, so nothing outside it changes."""
        from lib_facepop.matting import postprocess_mask

        landmarks = [r.alignment.to_canvas(np.array(r.face.landmarks)) if r.face.landmarks else None for r in recs]
        result = self.matter.matte([r.canvas_after for r in recs], settings.matting, landmarks=landmarks)
        if result.message:
            messages.append(result.message)
        for rec, alpha in zip(recs, result.alphas):
            a = postprocess_mask(alpha, settings.mask_grow, settings.mask_feather)
            if result.method_used in ("modnet", "selfie"):  # person mattes: keep the head, not the shoulders
                sz = (rec.face.size[0] * rec.alignment.scale, rec.face.size[1] * rec.alignment.scale)
                a = a * head_region(rec.alignment.canvas_size, sz, max(8.0, 2.0 * settings.mask_feather))
            a = a * region_falloff(rec.alignment.canvas_size, max(4.0, float(settings.mask_feather)))
            if face_mask is not None:
                a = a * (_user_mask_on_canvas(face_mask, rec.alignment).astype(np.float32) / 255.0)
            rec.alpha = a.astype(np.float32)
            rec.matte_method = result.method_used
