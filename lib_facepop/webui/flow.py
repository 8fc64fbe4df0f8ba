"""FacePop's two flows inside a WebUI job, and what happens when something goes wrong.

"before" (img2img, ``process()`` hook, before ``p.init()`` reads the init images):

1. every distinct init image is flattened and its faces detected (the Batch tab repeats
   one image object ``batch_size`` times: it is processed once);
2. the job count grows by the number of faces (``progress``); ControlNet and Hypertile are
   set aside (``rearm``);
3. the engine renders each face through a child img2img (``renderer``), mattes and
   composites it, with the image's own seed from ``p.all_seeds``;
4. ``p`` is pointed at the composites with a
   mask that leaves the faces alone (``main_pass``), so the WebUI's single main pass
   renders everything else, and ControlNet/Hypertile are re-armed for it. k faces cost
   k face passes + 1 main pass;
5. ``postprocess`` puts ``p`` back. If an interrupt stopped the job before the main pass
   produced anything, the composites are handed to the user instead of nothing.

"after" (txt2img always, img2img on request; ``postprocess_image`` hook): the faces of each
generated image are refined the same way and ``pp.image`` is replaced, like ADetailer but
with rotation-aware small-face detection.

Errors. The WebUI calls every always-on hook inside ``try/except`` and only logs the
exception (modules/scripts.py), so an exception raised from ``process()`` can reach
neither the UI nor an API caller. FacePop therefore catches its own failures: the job
goes on without FacePop (nothing of ``p`` stays changed), the message is printed to the
console through ``errors.report``, shown under the image (``p.comment``) and written to
the infotext as "FacePop error", which an API caller receives in the response's ``info``
(``extra_generation_params`` and ``infotexts``). Bad API arguments (unknown keys, values
out of range) take the same path, with a message that names them. Failing the whole
request instead is not possible from a hook without raising something the WebUI does not
expect (a ``BaseException``), which could take its worker down; it is not done.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.pipeline import PipelineResult
from lib_facepop.settings import FaceSettings
from lib_facepop.webui import outputs, settings_section
from lib_facepop.webui.child import ChildTemplate, filtered_runner
from lib_facepop.webui.engine import FaceEngine
from lib_facepop.webui.main_pass import MainPassPatch, user_mask
from lib_facepop.webui.progress import JobProgress, should_stop
from lib_facepop.webui.rearm import OuterJobGuard
from lib_facepop.webui.renderer import WebUIRenderer

RUN_ATTR = "_facepop_run"
"""Per-job state lives on ``p`` itself (dropped in ``postprocess``), never on the Script."""


@dataclass
class FaceRun:
    """What one job's FacePop did: its settings, the patch of ``p`` to undo, the images to
    hand out if the main pass never ran, the engine results and messages."""

    settings: FaceSettings
    patch: MainPassPatch | None = None
    fallback_images: list[Image.Image] = field(default_factory=list)
    results: list[PipelineResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    faces_done: int = 0
    stopped: bool = False


def is_forge() -> bool:
    return "modules_forge" in sys.modules


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _rgb(image: Image.Image) -> Image.Image:
    """What the WebUI's main pass would see: transparency flattened onto the img2img
    background colour, then RGB."""
    from modules import images, shared

    if image.mode in ("RGBA", "LA", "P") and hasattr(images, "flatten"):
        color = getattr(shared.opts, "img2img_background_color", "#ffffff")
        return images.flatten(image, color).convert("RGB")
    return image.convert("RGB")


def _job_index(p: Any, pp: Any = None) -> int:
    """Index of the current image in ``p.all_seeds``: Forge passes it (``pp.index``), A1111
    derives it from the batch position."""
    index = getattr(pp, "index", None)
    if index is None:
        index = getattr(p, "iteration", 0) * p.batch_size + getattr(p, "batch_index", 0)
    return int(index)


def _pick(values: Any, index: int, default: Any) -> Any:
    if isinstance(values, (list, tuple)) and values:
        return values[min(index, len(values) - 1)]
    return default


def child_runner(p: Any, facepop_script: Any) -> Any:
    """The face passes' always-on scripts: the outer ones on the allow-list, never FacePop."""
    return filtered_runner(getattr(p, "scripts", None), settings_section.child_script_names(), exclude=[facepop_script])


def _template(p: Any, index: int, settings: FaceSettings, runner: Any, img2img: bool) -> ChildTemplate:
    """The outer job's share of every face pass of image ``index``."""
    denoise = getattr(p, "denoising_strength", None) if img2img else None
    return ChildTemplate(
        p=p,
        prompt=_pick(getattr(p, "all_prompts", None), index, p.prompt if isinstance(p.prompt, str) else ""),
        negative_prompt=_pick(getattr(p, "all_negative_prompts", None), index,
                              p.negative_prompt if isinstance(p.negative_prompt, str) else ""),
        subseed=int(_pick(getattr(p, "all_subseeds", None), index, -1)),
        defaults={
            "steps": p.steps,
            "cfg_scale": p.cfg_scale,
            "denoising_strength": settings.denoise if denoise is None else denoise,
            "sampler_name": p.sampler_name,
            "scheduler": getattr(p, "scheduler", None),
        },
        runner=runner,
        script_args=tuple(p.script_args or ()),
    )


def _reapply_token_merging(p: Any) -> None:
    """A1111's ``process_images`` sets token merging to 0 when it ends, so a child would turn
    it off for the rest of the outer pass; put the outer ratio back."""
    if is_forge():
        return
    from modules import sd_models

    apply = getattr(sd_models, "apply_token_merging", None)
    if apply is not None:
        apply(p.sd_model, p.get_token_merging_ratio())


def _report_messages(p: Any, run: FaceRun, result: PipelineResult) -> None:
    for message in result.messages:
        run.messages.append(message)
        p.comment(message)
        _log(message)


def _save_outputs(p: Any, settings: FaceSettings, image: np.ndarray, result: PipelineResult, seed: int,
                  stem: str) -> None:
    outputs.save_faces(p, settings, result, seed, stem)
    outputs.save_debug(p, settings, image, result, seed, stem)


# ------------------------------------------------------------------------------------ before
def run_before(p: Any, run: FaceRun, engine: FaceEngine, facepop_script: Any) -> None:
    """The "before" flow on an img2img job, from ``process()``; fills ``run`` as it goes (its
    ``patch`` first, so a caller catching an exception can put ``p`` back)."""
    from modules import shared

    state = shared.state
    settings = run.settings
    originals = list(p.init_images or [])
    if not originals:
        return
    run.patch = MainPassPatch.snapshot(p)
    t0 = time.perf_counter()

    # distinct init images, in job order: (index of first use, image)
    firsts: dict[int, int] = {}
    for j, img in enumerate(originals):
        firsts.setdefault(id(img), j)
    distinct = [(j, originals[j]) for j in sorted(firsts.values())]
    rgbs = {j: np.asarray(_rgb(img), dtype=np.uint8) for j, img in distinct}
    users = {j: user_mask(p, (rgbs[j].shape[1], rgbs[j].shape[0])) for j, _ in distinct}
    pipeline = engine.pipeline
    faces = {j: pipeline.detect(rgbs[j], settings, users[j]) for j, _ in distinct}
    total = sum(len(f) for f in faces.values())
    run.fallback_images = [Image.fromarray(rgbs[firsts[id(img)]]) for img in originals]
    if total == 0:
        _log(f"FacePop: no face found in {len(distinct)} image(s) ({(time.perf_counter() - t0):.1f} s)")
        return

    progress = JobProgress(state, total, p.n_iter)
    runner = child_runner(p, facepop_script)
    guard = OuterJobGuard(p, facepop_script, before_facepop_only=True)
    progress.begin()
    results: dict[int, PipelineResult] = {}
    try:
        guard.suspend(p)
        done = 0
        for j, _img in distinct:
            if should_stop(state):
                run.stopped = True
                break
            seed = int(_pick(p.all_seeds, j, p.seed))
            renderer = WebUIRenderer(_template(p, j, settings, runner, img2img=True), progress, total=total,
                                     first_index=done)
            result = pipeline.run(rgbs[j], settings, renderer, users[j], seed=seed, faces=faces[j],
                                  should_stop=lambda: should_stop(state))
            done = renderer.next_index
            results[j] = result
            run.results.append(result)
            run.faces_done += sum(1 for r in result.faces if r.status == "done")
            _report_messages(p, run, result)
            _save_outputs(p, settings, rgbs[j], result, seed, f"{seed}-{j}")
            if result.interrupted:
                run.stopped = True
                break
        progress.finish()
        if state.skipped and not state.interrupted:
            state.skipped = False  # Skip cut FacePop's face passes short; the main pass still runs
        composites = {j: Image.fromarray(results[j].image) if j in results else Image.fromarray(rgbs[j])
                      for j, _ in distinct}
        run.fallback_images = [composites[firsts[id(img)]] for img in originals]
        if run.faces_done:
            main = _main_mask([results[j].main_mask for j, _ in distinct if j in results],
                              [users[j] for j, _ in distinct if j not in results], rgbs[distinct[0][0]].shape[:2])
            run.patch.apply(p, run.fallback_images, main, had_user_mask=any(u is not None for u in users.values()))
    finally:
        progress.finish()
        _reapply_token_merging(p)
        guard.resume(p)  # after the patch: ControlNet sees what the main pass will render
    _log(f"FacePop: refined {run.faces_done}/{total} face(s) in {len(distinct)} image(s) "
         f"({(time.perf_counter() - t0):.1f} s)")


def _main_mask(masks: list[np.ndarray], unprocessed_user: list[np.ndarray | None], shape: tuple[int, int]) -> np.ndarray:
    """One mask for the whole job (the WebUI takes one ``image_mask``): an image's repaint
    area AND every other image's. With several different init images a face area of one
    image is therefore also left unrepainted in the others."""
    h, w = shape
    out = np.full((h, w), 255, np.uint8)
    for m in [*masks, *[u for u in unprocessed_user if u is not None]]:
        if m.shape != (h, w):
            m = np.asarray(Image.fromarray(m).resize((w, h), Image.Resampling.BILINEAR))
        out = np.minimum(out, m)
    return out


# ------------------------------------------------------------------------------------ after
def run_after(p: Any, pp: Any, run: FaceRun, engine: FaceEngine, facepop_script: Any) -> None:
    """The "after" flow on one generated image, from ``postprocess_image``."""
    from modules import shared

    state = shared.state
    settings = run.settings
    if should_stop(state):
        return
    img2img = hasattr(p, "init_images")
    index = _job_index(p, pp)
    image = pp.image.convert("RGB")
    rgb = np.asarray(image, dtype=np.uint8)
    mask = _after_user_mask(p, image.size) if img2img else None
    pipeline = engine.pipeline
    faces = pipeline.detect(rgb, settings, mask)
    if not faces:
        return
    t0 = time.perf_counter()
    progress = JobProgress(state, len(faces), 0)
    runner = child_runner(p, facepop_script)
    guard = OuterJobGuard(p, facepop_script, before_facepop_only=False)
    progress.begin()
    try:
        guard.suspend(p)
        seed = int(_pick(getattr(p, "all_seeds", None), index, p.seed))
        renderer = WebUIRenderer(_template(p, index, settings, runner, img2img=img2img), progress,
                                 total=len(faces))
        result = pipeline.run(rgb, settings, renderer, mask, seed=seed, faces=faces,
                              should_stop=lambda: should_stop(state))
    finally:
        progress.finish()
        _reapply_token_merging(p)
        guard.resume(copy.copy(p))  # a copy, as ADetailer does: the job's own p is mid-batch
    run.results.append(result)
    done = sum(1 for r in result.faces if r.status == "done")
    run.faces_done += done
    _report_messages(p, run, result)
    if done:
        pp.image = Image.fromarray(result.image)
    _save_outputs(p, settings, rgb, result, seed, f"{seed}-{index}")
    _log(f"FacePop: refined {done}/{len(faces)} face(s) of image {index + 1} ({(time.perf_counter() - t0):.1f} s)")


def _after_user_mask(p: Any, size: tuple[int, int]) -> np.ndarray | None:
    """The user's inpaint mask in the coordinates of ``pp.image``: the whole picture, or
    with "Only masked" the crop the WebUI rendered (``p.paste_to``), resized to it."""
    if getattr(p, "image_mask", None) is None:
        return None
    paste_to = getattr(p, "paste_to", None)
    if not paste_to:
        return user_mask(p, size)
    source = p.init_images[0] if getattr(p, "init_images", None) else None
    full_size = source.size if source is not None else p.image_mask.size
    full = user_mask(p, full_size)
    x, y, w, h = paste_to
    crop = Image.fromarray(full).crop((x, y, x + w, y + h)).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.uint8)


# ------------------------------------------------------------------------------------ postprocess
def finish(p: Any, processed: Any, run: FaceRun) -> None:
    """End of the job: hand out the composites if the main pass never produced an image
    (interrupted during or right after the face passes), then put ``p`` back."""
    try:
        handing_out = run.faces_done > 0 or run.stopped
        if handing_out and run.fallback_images and run.patch is not None and not getattr(processed, "images", None):
            _hand_out(p, processed, run)
    finally:
        if run.patch is not None:
            run.patch.restore(p)


def _hand_out(p: Any, processed: Any, run: FaceRun) -> None:
    from modules import images, processing, shared

    infotexts = []
    for j, image in enumerate(run.fallback_images):
        try:
            text = processing.create_infotext(p, p.all_prompts, p.all_seeds, p.all_subseeds, index=j)
        except Exception:  # noqa: BLE001 - an image without infotext beats no image
            text = ""
        if getattr(shared.opts, "enable_pnginfo", True) and text:
            image.info["parameters"] = text
        if getattr(shared.opts, "save_incomplete_images", False) and outputs.saves_samples(p):
            images.save_image(image, p.outpath_samples, "", _pick(p.all_seeds, j, p.seed), _pick(p.all_prompts, j, ""),
                              shared.opts.samples_format, info=text, p=p)
        infotexts.append(text)
    processed.images.extend(run.fallback_images)
    processed.infotexts = infotexts
    if infotexts:
        processed.info = infotexts[0]
    message = "FacePop: stopped before the main pass; returned the image(s) with the faces refined so far"
    p.comment(message)
    if isinstance(getattr(processed, "comments", None), str):  # built before postprocess: add it there too
        processed.comments += f"{message}\n"
    _log(message)
