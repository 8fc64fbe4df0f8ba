"""``run()`` of the upscale script: every init image (times the batch count) through the pass loop.

Per job: the engine's ``upscale_image`` with the WebUI renderer (tiles through
``process_images(p)``), the WebUI pixel upscaler, the ControlNet tile unit, the optional
face refinement, and the intermediate passes saved when asked. Progress goes to
``shared.state``: ``job_count`` = the number of ``process_images`` calls planned (tiles
of a row batched by ``tile_batch`` make one call), ``job`` = "Pass i/N, tile j/T". An
interrupt stops everything, a skip ends the current image; either way the image of the
last completed pass is returned. The result is a ``Processed`` whose images and
infotexts are the final images, and ``p`` is left as found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from modules import images, processing, shared
from PIL import Image

from lib_facepop.settings import UpscaleSettings
from lib_facepop.upscale import PassPlan, UpscalePlan, UpscaleResult, parse_lora_lines, plan_upscale, upscale_image
from lib_facepop.webui.cn_tile import TileControl
from lib_facepop.webui.upscale_faces import FaceRefiner, default_pipeline, face_setup
from lib_facepop.webui.upscale_render import PSnapshot, WebUIUpscaleRenderer, as_rgb_array, pixel_upscaler_for

KEY = UpscaleSettings.INFOTEXT_PREFIX


def render_calls(plan: UpscalePlan, tile_batch: int) -> int:
    """``process_images`` calls the plan takes: per pass, rows x ceil(columns / batch)."""
    batch = max(1, int(tile_batch))
    return sum(1 if p.grid.is_single else p.grid.rows * math.ceil(p.grid.cols / batch) for p in plan.passes)


@dataclass
class Job:
    """One image to upscale: which init image, its seed and plan, and what came out."""

    source: np.ndarray
    seed: int
    plan: UpscalePlan
    result: UpscaleResult | None = None
    notes: dict[str, str] = field(default_factory=dict)


class UpscaleRun:
    """One ``run()`` call: owns ``p`` from the start to the restore in ``finally``."""

    def __init__(self, p: Any, settings: UpscaleSettings, *, title: str, face_pipeline: Any = None) -> None:
        self.p = p
        self.settings = settings if settings.enabled else settings.replace(enabled=True)
        self.title = title
        self.face_pipeline = face_pipeline
        self.snap = PSnapshot(p)

    # ---- the run -------------------------------------------------------------------
    def run(self) -> Any:
        try:
            return self._run()
        finally:
            self.snap.restore()

    def _run(self) -> Any:
        p, settings, state = self.p, self.settings, shared.state
        processing.fix_seed(p)
        first_seed = int(p.seed[0] if isinstance(p.seed, list) else p.seed)
        self.subseed = int(p.subseed[0] if isinstance(p.subseed, list) else p.subseed)
        sources = [as_rgb_array(img) for img in self.snap.original("init_images") or []]
        if not sources:
            raise ValueError("FacePop Upscale needs an image: put one in img2img (or send init_images).")
        n_iter = max(1, int(self.snap.original("n_iter") or 1))
        jobs = []
        for k in range(n_iter * len(sources)):
            src = sources[k % len(sources)]
            seed = (first_seed + k) % 2**32
            jobs.append(Job(src, seed, plan_upscale(settings, (src.shape[1], src.shape[0]), seed=seed)))
        weights = [pp.controlnet_weight for j in jobs for pp in j.plan.passes]
        control = TileControl.setup(p, settings.controlnet_module, settings.controlnet_mode, weights,
                                    bool(getattr(shared.sd_model, "is_sdxl", False)))
        engine_settings = settings
        if control.mode != "off" and settings.tile_batch > 1:
            # ControlNet conditions every image of a batch on p.init_images[0]: one tile per call
            engine_settings = settings.replace(tile_batch=1)
        state.job_count = sum(render_calls(j.plan, engine_settings.tile_batch) for j in jobs)
        pixel, pixel_note = pixel_upscaler_for(settings.pixel_upscaler)
        renderer = WebUIUpscaleRenderer(p, self.snap, control, [s.name for s in parse_lora_lines(settings.loras)])
        if settings.face_refine:
            face_settings, face_pipeline = face_setup(p, self.face_pipeline or default_pipeline)

        for k, job in enumerate(jobs):
            if k and (state.interrupted or state.stopping_generation):
                break
            prefix = f"Image {k + 1}/{len(jobs)}, " if len(jobs) > 1 else ""
            face_notes: list[str] = []
            refiner = None
            if settings.face_refine:
                refiner = FaceRefiner(face_pipeline, face_settings, renderer, job.seed, face_notes)
            job.result = upscale_image(
                job.source, engine_settings, renderer,
                pixel_upscaler=pixel,
                face_refiner=refiner,
                progress=lambda i, n, done, total, _pre=prefix: self._progress(_pre, i, n, done, total),
                should_stop=lambda: bool(state.interrupted or state.skipped),
                save_pass=(lambda pp, img, _job=job: self._save_pass(_job, pp, img)) if settings.save_passes else None,
                seed=job.seed,
            )
            job.notes[f"{KEY} ControlNet"] = control.describe()
            if engine_settings.tile_batch != settings.tile_batch:
                job.notes[f"{KEY} tile batch used"] = "1 (ControlNet)"
            if pixel_note != "Lanczos" and pixel_note.lower() != settings.pixel_upscaler.strip().lower():
                job.notes[f"{KEY} upscaler used"] = pixel_note
            if face_notes:
                job.notes[f"{KEY} faces"] = face_notes[-1]
            if job.result.interrupted:
                n = len(job.plan.passes)
                job.notes[f"{KEY} stopped"] = f"after pass {job.result.completed_passes} of {n}"
            state.skipped = False  # a skip ends this image only
        return self._processed([j for j in jobs if j.result is not None])

    def _progress(self, prefix: str, number: int, n_passes: int, done: int, total: int) -> None:
        state = shared.state
        state.job = state.textinfo = f"{prefix}Pass {number}/{n_passes}, tile {min(done + 1, total)}/{total}"

    # ---- infotext, saving, Processed ------------------------------------------------
    def _report_fields(self, job: Job, size: tuple[int, int], extra: dict[str, str]) -> dict[str, Any]:
        """``p`` fields for the infotext / save / ``Processed`` of one image: the user's own
        generation fields, the image's size and seed, and the upscale's keys."""
        snap = self.snap
        params = dict(snap.original("extra_generation_params") or {})
        params.update(self.settings.to_infotext())
        params.update(job.plan.to_infotext())
        params.update(job.notes)
        params.update(extra)
        params["Script"] = self.title  # pasting the infotext selects this script again
        prompt, negative = self._prompts()
        return {
            "width": size[0], "height": size[1], "seed": job.seed, "subseed": self.subseed,
            "prompt": snap.original("prompt"), "negative_prompt": snap.original("negative_prompt"),
            "steps": snap.original("steps"), "cfg_scale": snap.original("cfg_scale"),
            "sampler_name": snap.original("sampler_name"), "denoising_strength": snap.original("denoising_strength"),
            "init_images": snap.original("init_images"), "batch_size": 1, "n_iter": 1,
            "extra_generation_params": params, "all_prompts": [prompt], "all_negative_prompts": [negative],
            "all_seeds": [job.seed], "all_subseeds": [self.subseed],
        }

    def _prompts(self) -> tuple[str, str]:
        prompt, negative = self.snap.original("prompt") or "", self.snap.original("negative_prompt") or ""
        return (prompt[0] if isinstance(prompt, list) else prompt), (negative[0] if isinstance(negative, list) else negative)

    def _infotext(self) -> str:
        prompt, negative = self._prompts()
        p = self.p
        return processing.create_infotext(p, [prompt], p.all_seeds, p.all_subseeds, index=0,
                                          all_negative_prompts=[negative])

    def _save(self, image: Image.Image, job: Job, text: str, suffix: str = "") -> None:
        prompt, _ = self._prompts()
        images.save_image(image, self.p.outpath_samples, "", job.seed, prompt, shared.opts.samples_format,
                          info=text, p=self.p, suffix=suffix)

    def _save_pass(self, job: Job, pass_plan: PassPlan, image: np.ndarray) -> None:
        """Save an intermediate pass (the last one is the final image, saved with the result)."""
        n = len(job.plan.passes)
        if pass_plan.number >= n:
            return
        size = (image.shape[1], image.shape[0])
        with self.snap.fields(**self._report_fields(job, size, {f"{KEY} pass": f"{pass_plan.number} of {n}"})):
            text = self._infotext()
            self._save(Image.fromarray(image), job, text, suffix=f"-upscale-pass{pass_plan.number}")

    def _processed(self, jobs: list[Job]) -> Any:
        opts = shared.opts
        outputs: list[Image.Image] = []
        texts: list[str] = []
        save = opts.samples_save and not self.snap.original("do_not_save_samples")
        for job in jobs:
            result = job.result
            image = Image.fromarray(result.image)
            with self.snap.fields(**self._report_fields(job, image.size, {})):
                text = self._infotext()
                if opts.enable_pnginfo:
                    image.info["parameters"] = text
                if save and (opts.save_incomplete_images or not result.interrupted):
                    self._save(image, job, text)
            outputs.append(image)
            texts.append(text)
        prompt, negative = self._prompts()
        first = jobs[0]
        seeds = [j.seed for j in jobs]
        with self.snap.fields(**self._report_fields(first, outputs[0].size, {})):
            return processing.Processed(
                self.p, outputs, seed=first.seed, info=texts[0], subseed=self.subseed,
                all_prompts=[prompt] * len(jobs), all_negative_prompts=[negative] * len(jobs), all_seeds=seeds,
                all_subseeds=[self.subseed] * len(jobs), index_of_first_image=0, infotexts=texts,
            )


def run_upscale(p: Any, settings: UpscaleSettings, *, title: str, face_pipeline: Any = None) -> Any:
    """Upscale ``p.init_images`` (x ``p.n_iter``) with ``settings``; returns a ``Processed``."""
    return UpscaleRun(p, settings, title=title, face_pipeline=face_pipeline).run()
