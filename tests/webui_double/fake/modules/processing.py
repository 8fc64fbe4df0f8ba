"""``modules.processing`` (A1111 v1.10.1 modules/processing.py; Forge deltas), written from behaviour.

Faithful (A1111 @82a973c0 line numbers):
- dataclass fields and defaults of ``StableDiffusionProcessing`` (L136-226), ``...Txt2Img``
  (L1166-1199) and ``...Img2Img`` (L1556-1581); ``scripts``/``script_args`` are properties whose
  setters run ``setup_scripts()`` -> ``ScriptRunner.setup_scrips(p, is_ui=not p.is_api)`` once both
  are truthy (L269-294), so ``StableDiffusionProcessingImg2Img(scripts=...)`` is a TypeError;
  ``__post_init__`` defaults (L228-252) incl. ``extra_generation_params``/``override_settings`` -> {}
  and the class-level ``cached_c``/``cached_uc`` lists (Forge: 3 elements); Img2Img moves
  ``mask`` to ``image_mask`` (L1583-1588); ``mask_blur`` property (L1590-1600); ``close()`` (L404-410).
- ``process_images`` (L819-860): ``before_process`` -> apply ``override_settings`` (unknown
  checkpoint dropped) -> sampler/scheduler autocorrection -> ``process_images_inner`` -> restore opts.
- ``process_images_inner`` (L863-1150): fixed seeds, ``setup_prompts``, ``all_seeds``/``all_subseeds``,
  ``process`` hook, ``p.init()``, ``job_count`` (-1 -> n_iter), per-batch loop with the interrupt/
  skip checks, hook order, ``state.nextjob()``, per-image ``batch_index``, postprocess hooks, overlay,
  save, infotext, grid, ``Processed``, ``postprocess`` hook. Forge passes ``PostprocessImageArgs(image,
  i + p.iteration * p.batch_size)`` (Forge L1054/L1087) and fills ``Processed.extra_images``.
- ``Img2Img.init`` mask pipeline (L1602-1757): binary mask, invert, Gaussian blur x/y with kernel
  ``2*int(2.5*blur+0.5)+1``, "Only masked" crop/expand/paste_to, "Whole picture" ``mask*2``,
  overlay images (original with the masked area cut out), fill, batch-size rules, latent mask.
  Forge calls ``before_process_init_images`` (Forge L1748-1749).
- ``Img2Img.sample`` (L1759-1789): noise x ``initial_noise_multiplier``, ``process_before_every_sampling``
  (Forge: ``p.modified_noise``), sampler, final mask blend + ``on_mask_blend``.
- ``create_infotext`` (L705-816), ``get_fixed_seed``/``fix_seed`` (L675-692), ``apply_overlay``/
  ``uncrop`` (L65-88), ``create_binary_mask`` (L90-98), ``Processed`` (L516-613).
Simplified: the model is the deterministic numpy sampler of ``modules.sd_samplers``; latents are
pixel-space arrays; the "VAE" round trip shifts every pixel by -1/0/+1 (so only the overlay restores
unmasked pixels bit-exactly, as in the WebUI); colour correction is a no-op; hires fix uses pixel
upscaling for every upscaler (latent modes included); refiner switching is not modelled.

How this module is organised (our own structure, not the WebUI's): the dataclass fields are
declared from tables (``_fields``); ``process_images_inner`` runs a ``_Job`` through the step lists
``_JOB_START``, ``_BATCH_STEPS`` and ``_IMAGE_STEPS``; a step that returns ``_STOP`` ends the loop
it belongs to.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from modules import (
    _double,
    devices,
    errors,
    extra_networks,
    images,
    infotext_utils,
    masking,
    paths,
    prompt_parser,
    rng,
    scripts,
    sd_models,
    sd_samplers,
    sd_vae,
    shared,
)
from modules.shared import cmd_opts, opts, state

_FORGE = _double().forge
opt_C = 4
opt_f = 8

_STOP = object()
"""Returned by a step of ``_BATCH_STEPS``/``_IMAGE_STEPS`` to leave the loop it runs in."""

_UNSET_CHECKPOINT_NAMES = ("", None, "none", "None")
"""``refiner_checkpoint`` values that mean "no refiner"."""


def setup_color_correction(image: Image.Image):
    """Colour correction is not modelled: returns the image to restore later unchanged."""
    logging.info("Calibrating color correction.")
    return np.asarray(image.copy())


def apply_color_correction(correction, original_image: Image.Image) -> Image.Image:
    """Not modelled: returns the image unchanged (the WebUI matches LAB histograms)."""
    logging.info("Applying color correction.")
    return original_image.convert("RGB")


def uncrop(image: Image.Image, dest_size: tuple[int, int], paste_loc: tuple[int, int, int, int]) -> Image.Image:
    """Resize the "only masked" result into its box on a transparent canvas (L65-72)."""
    left, top, box_w, box_h = paste_loc
    canvas = Image.new("RGBA", dest_size)
    canvas.paste(images.resize_image(1, image, box_w, box_h), (left, top))
    return canvas


def apply_overlay(image: Image.Image, paste_loc, overlay: Image.Image | None):
    """Paste back: ``(composite, original_denoised_image)``; overlay = original minus masked area (L75-88)."""
    if overlay is None:
        return image, image.copy()
    placed = image if paste_loc is None else uncrop(image, (overlay.width, overlay.height), paste_loc)
    composite = placed.convert("RGBA")
    composite.alpha_composite(overlay)
    return composite.convert("RGB"), placed.copy()


def create_binary_mask(image: Image.Image, round: bool = True) -> Image.Image:  # noqa: A002 - real name
    """RGBA with real transparency -> alpha thresholded at 128 (``> 128``); else ``convert('L')``."""
    fully_opaque = image.mode != "RGBA" or image.getextrema()[-1] == (255, 255)
    if fully_opaque:
        return image.convert("L")
    alpha = image.split()[-1].convert("L")
    if not round:
        return alpha
    return alpha.point(lambda level: 0 if level <= 128 else 255)


def txt2img_image_conditioning(sd_model, x, width, height):
    return None


def _vae_delta(h: int, w: int) -> np.ndarray:
    """The double's lossy "VAE": every pixel moves by -1, 0 or +1 level."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([((xx + 2 * yy + c) % 3) - 1 for c in range(3)], axis=-1)


def encode_images(batch: np.ndarray) -> np.ndarray:
    """"VAE encode": (B,H,W,3) floats 0..1 cropped to multiples of 8 (latent size is H//8)."""
    h, w = batch.shape[1] // opt_f * opt_f, batch.shape[2] // opt_f * opt_f
    return np.ascontiguousarray(batch[:, :h, :w, :], dtype=np.float32)


class DecodedSamples(list):
    already_decoded = True


def decode_latent_batch(model, batch, target_device=None, check_for_nans: bool = False) -> DecodedSamples:
    """"VAE decode": per image a (3,H,W) array in -1..1; integer levels with the +-1 VAE loss."""
    samples = DecodedSamples()
    for latent in np.asarray(batch, dtype=np.float32):
        levels = np.rint(np.clip(latent, 0.0, 1.0) * 255.0).astype(np.int16)
        if _double().vae_loss:
            levels = levels + _vae_delta(latent.shape[0], latent.shape[1])
        levels = np.clip(levels, 0, 255).astype(np.float32)
        samples.append(np.moveaxis(2.0 * (levels + 0.5) / 255.0 - 1.0, 2, 0).astype(np.float32))
    return samples


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "cpu"):
        x = x.cpu()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x, dtype=np.float32)


# ------------------------------------------------------------------------------------ small helpers
def _first_truthy(*candidates):
    """Like chaining ``a or b or ... or z``: the first truthy candidate, else the last one."""
    for candidate in candidates[:-1]:
        if candidate:
            return candidate
    return candidates[-1]


def _first_item(value):
    """The WebUI keeps only the first entry when a prompt or seed was given as a list."""
    return value[0] if isinstance(value, list) else value


def _batch_slice(values, batch_number: int, batch_size: int):
    """The part of a whole-job list that belongs to batch ``batch_number``."""
    start = batch_number * batch_size
    return values[start:start + batch_size]


def _seed_series(first, count: int, stride: int) -> list[int]:
    """``first``, ``first + stride``, ... (``count`` seeds)."""
    base = int(first)
    return [base + stride * offset for offset in range(count)]


def _blank_cache(slots: int) -> list:
    return [None] * slots


def _run_hook(p, method: str, *args, **kwargs) -> None:
    """``p.scripts.<method>(p, *args, **kwargs)`` when the job has a script runner."""
    runner = p.scripts
    if runner is not None:
        getattr(runner, method)(p, *args, **kwargs)


def _new_sampler(p, name):
    return sd_samplers.create_sampler(name, p.sd_model)


def _activate_extra_networks(p, network_data) -> None:
    if p.disable_extra_networks:
        return
    extra_networks.activate(p, network_data)


def _forge_take_lora_objects(p) -> None:
    """Forge: sampling starts from the UNet/CLIP objects with the LoRAs applied."""
    model = p.sd_model
    model.forge_objects = model.forge_objects_after_applying_lora.shallow_copy()


# ------------------------------------------------------------------------------ dataclass field tables
def _internal(default=None):
    """A field that the constructor does not take."""
    return field(default=default, init=False)


_ANNOTATIONS_BY_TYPE = {
    # the WebUI's annotations (strings, as under ``from __future__ import annotations``); the rest are "Any"
    "object": "sd_model",
    "str": "outpath_samples outpath_grids prompt prompt_for_display negative_prompt sampler_name scheduler "
           "ddim_discretize refiner_checkpoint main_prompt main_negative_prompt user sd_model_name sd_model_hash "
           "sd_vae_name sd_vae_hash hr_upscaler hr_checkpoint_name hr_sampler_name hr_scheduler hr_prompt "
           "hr_negative_prompt force_task_id init_img_hash",
    "list[str]": "styles",
    "int": "seed subseed seed_resize_from_h seed_resize_from_w batch_size n_iter steps width height sampler_index "
           "step_multiplier iteration firstphase_width firstphase_height hr_second_pass_steps hr_resize_x hr_resize_y "
           "hr_upscale_to_x hr_upscale_to_y truncate_x truncate_y resize_mode mask_blur_x mask_blur_y mask_blur "
           "inpainting_fill inpaint_full_res_padding inpainting_mask_invert",
    "float": "subseed_strength cfg_scale distilled_cfg_scale eta denoising_strength s_min_uncond s_churn s_tmax s_tmin "
             "s_noise refiner_switch_at hr_scale hr_cfg hr_distilled_cfg image_cfg_scale initial_noise_multiplier",
    "bool": "seed_enable_extras restore_faces tiling do_not_save_samples do_not_save_grid do_not_reload_embeddings "
            "override_settings_restore_afterwards disable_extra_networks scripts_setup_complete "
            "is_using_inpainting_conditioning is_hr_pass is_api enable_hr mask_round inpaint_full_res",
    "dict[str, Any]": "extra_generation_params override_settings",
    "list": "overlay_images script_args_value color_corrections all_prompts all_negative_prompts all_seeds all_subseeds "
            "prompts negative_prompts seeds subseeds all_hr_prompts all_hr_negative_prompts hr_prompts "
            "hr_negative_prompts hr_extra_network_data hr_additional_modules init_images",
    "dict": "comments extra_network_data hr_checkpoint_info latent_scale_mode",
    "tuple": "paste_to applied_old_hires_behavior_to hr_c hr_uc",
    "Image.Image": "firstpass_image latent_mask mask_for_overlay",
    "scripts.ScriptRunner": "scripts_value",
}
_ANNOTATION_OF = {name: kind for kind, names in _ANNOTATIONS_BY_TYPE.items() for name in names.split()}


def _fields(*rows):
    """Class decorator (below ``@dataclass``): declare the ``(name, default)`` rows as dataclass fields,
    in that order, annotated as in ``_ANNOTATIONS_BY_TYPE``. A name the class body already defines
    (a property such as ``sd_model`` or ``mask_blur``) keeps that object as the field's default,
    which is what the WebUI's dataclass gets where a property shadows an annotated field."""

    def declare(cls):
        annotations = {}
        for name, default in rows:
            annotations[name] = _ANNOTATION_OF.get(name, "Any")
            if name not in vars(cls):
                setattr(cls, name, default)
        cls.__annotations__ = annotations
        return cls

    return declare


_FORGE_DISTILLED_CFG = (("distilled_cfg_scale", 3.5),) if _FORGE else ()  # Forge processing.py L143

_PROCESSING_FIELDS = (
    ("sd_model", None), ("outpath_samples", None), ("outpath_grids", None), ("prompt", ""),
    ("prompt_for_display", None), ("negative_prompt", ""), ("styles", None),
    ("seed", -1), ("subseed", -1), ("subseed_strength", 0), ("seed_resize_from_h", -1), ("seed_resize_from_w", -1),
    ("seed_enable_extras", True), ("sampler_name", None), ("scheduler", None), ("batch_size", 1), ("n_iter", 1),
    ("steps", 50), ("cfg_scale", 7.0), *_FORGE_DISTILLED_CFG, ("width", 512), ("height", 512),
    ("restore_faces", None), ("tiling", None), ("do_not_save_samples", False), ("do_not_save_grid", False),
    ("extra_generation_params", None), ("overlay_images", None), ("eta", None), ("do_not_reload_embeddings", False),
    ("denoising_strength", None), ("ddim_discretize", None),
    ("s_min_uncond", None), ("s_churn", None), ("s_tmax", None), ("s_tmin", None), ("s_noise", None),
    ("override_settings", None), ("override_settings_restore_afterwards", True), ("sampler_index", None),
    ("refiner_checkpoint", None), ("refiner_switch_at", None), ("disable_extra_networks", False),
    ("firstpass_image", None),
    ("scripts_value", _internal()), ("script_args_value", _internal()), ("scripts_setup_complete", _internal(False)),
    ("comments", None),
    ("sampler", _internal()), ("is_using_inpainting_conditioning", _internal(False)), ("paste_to", _internal()),
    ("is_hr_pass", _internal(False)), ("c", _internal()), ("uc", _internal()), ("rng", _internal()),
    ("step_multiplier", _internal(1)), ("color_corrections", _internal()),
    ("all_prompts", _internal()), ("all_negative_prompts", _internal()), ("all_seeds", _internal()),
    ("all_subseeds", _internal()), ("iteration", _internal(0)), ("main_prompt", _internal()),
    ("main_negative_prompt", _internal()), ("prompts", _internal()), ("negative_prompts", _internal()),
    ("seeds", _internal()), ("subseeds", _internal()), ("extra_network_data", _internal()), ("user", _internal()),
    ("sd_model_name", _internal()), ("sd_model_hash", _internal()), ("sd_vae_name", _internal()),
    ("sd_vae_hash", _internal()), ("is_api", _internal(False)),
)

_TXT2IMG_FIELDS = (
    ("enable_hr", False), ("denoising_strength", 0.75), ("firstphase_width", 0), ("firstphase_height", 0),
    ("hr_scale", 2.0), ("hr_upscaler", None), ("hr_second_pass_steps", 0), ("hr_resize_x", 0), ("hr_resize_y", 0),
    ("hr_checkpoint_name", None), ("hr_sampler_name", None), ("hr_scheduler", None), ("hr_prompt", ""),
    ("hr_negative_prompt", ""), ("force_task_id", None),
    *((("hr_additional_modules", None), ("hr_cfg", 1.0), ("hr_distilled_cfg", 3.5)) if _FORGE else ()),
    ("hr_checkpoint_info", _internal()), ("hr_upscale_to_x", _internal(0)), ("hr_upscale_to_y", _internal(0)),
    ("truncate_x", _internal(0)), ("truncate_y", _internal(0)), ("applied_old_hires_behavior_to", _internal()),
    ("latent_scale_mode", _internal()), ("hr_c", _internal()), ("hr_uc", _internal()),
    ("all_hr_prompts", _internal()), ("all_hr_negative_prompts", _internal()), ("hr_prompts", _internal()),
    ("hr_negative_prompts", _internal()), ("hr_extra_network_data", _internal()),
)

_IMG2IMG_FIELDS = (
    ("init_images", None), ("resize_mode", 0), ("denoising_strength", 0.75), ("image_cfg_scale", None),
    ("mask", None), ("mask_blur_x", 4), ("mask_blur_y", 4), ("mask_blur", None), ("mask_round", True),
    ("inpainting_fill", 0), ("inpaint_full_res", True), ("inpaint_full_res_padding", 0),
    ("inpainting_mask_invert", 0), ("initial_noise_multiplier", None), ("latent_mask", None),
    ("force_task_id", None), *((("hr_distilled_cfg", 3.5),) if _FORGE else ()),
    ("image_mask", _internal()), ("nmask", _internal()), ("image_conditioning", _internal()),
    ("init_img_hash", _internal()), ("mask_for_overlay", _internal()), ("init_latent", _internal()),
)


def _setup_scripts_when_ready(p) -> None:
    """``setup_scripts()`` runs once, as soon as both the runner and its args are set and truthy."""
    if p.scripts_setup_complete:
        return
    if p.scripts_value and p.script_args_value:
        p.setup_scripts()


def _runner_property(storage: str) -> property:
    """``scripts``/``script_args``: stored in ``<name>_value``; setting either may run ``setup_scripts()``."""

    def read(p):
        return getattr(p, storage)

    def write(p, value):
        setattr(p, storage, value)
        _setup_scripts_when_ready(p)

    return property(read, write)


@dataclass(repr=False)
@_fields(*_PROCESSING_FIELDS)
class StableDiffusionProcessing:
    token_merging_ratio = 0
    token_merging_ratio_hr = 0
    cached_uc = _blank_cache(3 if _FORGE else 2)
    cached_c = _blank_cache(3 if _FORGE else 2)

    def __post_init__(self):
        if self.sampler_index is not None:
            print("sampler_index argument for StableDiffusionProcessing does not do anything; use sampler_name",
                  file=sys.stderr)
        extras_enabled = self.seed_enable_extras
        self.comments = {}
        self.styles = [] if self.styles is None else self.styles
        self.sampler_noise_scheduler_override = None
        for name in ("extra_generation_params", "override_settings", "script_args"):
            setattr(self, name, getattr(self, name) or {})
        self.refiner_checkpoint_info = None
        if not extras_enabled:  # the UI's "Extra" seed options are off: no variation seed, no resize
            self.subseed, self.subseed_strength = -1, 0
            self.seed_resize_from_h = self.seed_resize_from_w = 0
        shared_caches = StableDiffusionProcessing
        self.cached_uc, self.cached_c = shared_caches.cached_uc, shared_caches.cached_c
        if _FORGE:
            self.extra_result_images, self.latents_after_sampling, self.pixels_after_sampling = [], [], []
            self.modified_noise = None

    def fill_fields_from_opts(self):
        for name in ("s_min_uncond", "s_churn", "s_tmin", "s_tmax", "s_noise"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(opts, name))
        self.s_tmax = self.s_tmax or float("inf")

    @property
    def sd_model(self):
        return shared.sd_model

    @sd_model.setter
    def sd_model(self, value):
        """Ignored: the model is always ``shared.sd_model``."""

    scripts = _runner_property("scripts_value")
    script_args = _runner_property("script_args_value")

    def setup_scripts(self):
        runner, for_ui = self.scripts, not self.is_api
        self.scripts_setup_complete = True
        runner.setup_scrips(self, is_ui=for_ui)

    def comment(self, text):
        self.comments[text] = 1

    def txt2img_image_conditioning(self, x, width=None, height=None):
        return None

    def img2img_image_conditioning(self, source_image, latent_image, image_mask=None, round_image_mask=True):
        return None

    def init(self, all_prompts, all_seeds, all_subseeds):
        """Txt2Img and Img2Img prepare their inputs here."""

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        """Txt2Img and Img2Img sample; the base class cannot."""
        raise NotImplementedError()

    def close(self):
        self.sampler = self.c = self.uc = None
        if opts.persistent_cond_cache:
            return
        StableDiffusionProcessing.cached_c = _blank_cache(2)
        StableDiffusionProcessing.cached_uc = _blank_cache(2)

    if _FORGE:
        def clear_prompt_cache(self):
            for holder in (self, StableDiffusionProcessing):
                holder.cached_c = _blank_cache(3)
                holder.cached_uc = _blank_cache(3)

    def get_token_merging_ratio(self, for_hr=False):
        if not for_hr:
            return _first_truthy(self.token_merging_ratio, opts.token_merging_ratio)
        return _first_truthy(self.token_merging_ratio_hr, opts.token_merging_ratio_hr, self.token_merging_ratio,
                             opts.token_merging_ratio)

    def setup_prompts(self):
        positive, negative = self.prompt, self.negative_prompt
        if isinstance(positive, list):
            positives = positive
        else:
            count = len(negative) if isinstance(negative, list) else self.batch_size * self.n_iter
            positives = [positive] * count
        negatives = negative if isinstance(negative, list) else [negative] * len(positives)
        if len(negatives) != len(positives):
            raise RuntimeError(f"Received a different number of prompts ({len(positives)}) "
                               f"and negative prompts ({len(negatives)})")
        styles = shared.prompt_styles
        self.all_prompts = [styles.apply_styles_to_prompt(text, self.styles) for text in positives]
        self.all_negative_prompts = [styles.apply_negative_styles_to_prompt(text, self.styles) for text in negatives]
        self.main_prompt, self.main_negative_prompt = self.all_prompts[0], self.all_negative_prompts[0]

    def cached_params(self, required_prompts, steps, extra_network_data, hires_steps=None, use_old_scheduling=False):
        """What invalidates the cond cache (L440-458)."""
        model_info = shared.sd_model.sd_checkpoint_info
        return (
            required_prompts, steps, hires_steps, use_old_scheduling, opts.CLIP_stop_at_last_layers, model_info,
            extra_network_data, opts.sdxl_crop_left, opts.sdxl_crop_top, self.width, self.height,
            opts.fp8_storage, opts.cache_fp16_weight, opts.emphasis,
        )

    def get_conds_with_caching(self, function, required_prompts, steps, caches, extra_network_data, hires_steps=None):
        """Return a cached cond when the params match, else compute into ``caches[0]`` (L460-491)."""
        old_scheduling = opts.use_old_scheduling
        wanted = self.cached_params(required_prompts, steps, extra_network_data, hires_steps, old_scheduling)
        for stored_key, stored_cond in (entry[:2] for entry in caches):
            if stored_key is not None and wanted == stored_key:
                return stored_cond
        target = caches[0]
        target[1] = function(shared.sd_model, required_prompts, steps, hires_steps, old_scheduling)
        target[0] = wanted
        return target[1]

    def setup_conds(self):
        size = {"width": self.width, "height": self.height}
        positive = prompt_parser.SdConditioning(self.prompts, **size)
        negative = prompt_parser.SdConditioning(self.negative_prompts, **size, is_negative_prompt=True)
        config = sd_samplers.find_sampler_config(self.sampler_name)
        steps = self.steps if not config else config.total_steps(self.steps)
        self.step_multiplier = steps // self.steps
        self.firstpass_steps = steps
        self.uc = self.get_conds_with_caching(prompt_parser.get_learned_conditioning, negative, steps,
                                              [self.cached_uc], self.extra_network_data)
        self.c = self.get_conds_with_caching(prompt_parser.get_multicond_learned_conditioning, positive, steps,
                                             [self.cached_c], self.extra_network_data)

    def get_conds(self):
        return self.c, self.uc

    def parse_extra_network_prompts(self):
        cleaned, networks = extra_networks.parse_prompts(self.prompts)
        self.prompts, self.extra_network_data = cleaned, networks

    def save_samples(self) -> bool:
        """``opts.samples_save and not do_not_save_samples and (save_incomplete or not interrupted/skipped)`` (L511-513)."""
        if not opts.samples_save or self.do_not_save_samples:
            return False
        cut_short = state.interrupted or state.skipped
        return opts.save_incomplete_images or not cut_short


class Processed:
    def __init__(self, p: StableDiffusionProcessing, images_list, seed=-1, info="", subseed=None, all_prompts=None,
                 all_negative_prompts=None, all_seeds=None, all_subseeds=None, index_of_first_image=0, infotexts=None,
                 comments="", extra_images_list=None):
        # ``comments`` is accepted and ignored: the text comes from ``p.comments`` (as in the WebUI).
        prompt, negative = _first_item(p.prompt), _first_item(p.negative_prompt)
        seed = -1 if seed is None else int(_first_item(seed))
        subseed = -1 if subseed is None else int(_first_item(subseed))
        restoring = p.restore_faces
        values = {"images": images_list, "prompt": prompt, "negative_prompt": negative, "seed": seed,
                  "subseed": subseed, "subseed_strength": p.subseed_strength, "info": info,
                  "comments": "".join(map("{}\n".format, p.comments))}
        for name in ("width", "height", "sampler_name", "cfg_scale"):
            values[name] = getattr(p, name)
        values["image_cfg_scale"] = getattr(p, "image_cfg_scale", None)
        values["steps"], values["batch_size"], values["restore_faces"] = p.steps, p.batch_size, restoring
        values["face_restoration_model"] = opts.face_restoration_model if restoring else None
        for name in ("sd_model_name", "sd_model_hash", "sd_vae_name", "sd_vae_hash", "seed_resize_from_w",
                     "seed_resize_from_h"):
            values[name] = getattr(p, name)
        values["denoising_strength"] = getattr(p, "denoising_strength", None)
        values["extra_generation_params"] = p.extra_generation_params
        values["index_of_first_image"] = index_of_first_image
        values["styles"] = p.styles
        values["job_timestamp"] = state.job_timestamp
        values["clip_skip"] = opts.CLIP_stop_at_last_layers
        for name in ("token_merging_ratio", "token_merging_ratio_hr", "eta", "ddim_discretize", "s_churn", "s_tmin",
                     "s_tmax", "s_noise", "s_min_uncond", "sampler_noise_scheduler_override",
                     "is_using_inpainting_conditioning"):
            values[name] = getattr(p, name)
        values["all_prompts"] = _first_truthy(all_prompts, p.all_prompts, [prompt])
        values["all_negative_prompts"] = _first_truthy(all_negative_prompts, p.all_negative_prompts, [negative])
        values["all_seeds"] = _first_truthy(all_seeds, p.all_seeds, [seed])
        values["all_subseeds"] = _first_truthy(all_subseeds, p.all_subseeds, [subseed])
        values["infotexts"] = infotexts or len(images_list) * [info]
        values["version"] = program_version()
        if _FORGE:
            values["extra_images"] = extra_images_list or []
        vars(self).update(values)

    def js(self) -> str:
        obj = {
            "prompt": self.all_prompts[0], "all_prompts": self.all_prompts,
            "negative_prompt": self.all_negative_prompts[0], "all_negative_prompts": self.all_negative_prompts,
            "seed": self.seed, "all_seeds": self.all_seeds, "subseed": self.subseed, "all_subseeds": self.all_subseeds,
            "subseed_strength": self.subseed_strength, "width": self.width, "height": self.height,
            "sampler_name": self.sampler_name, "cfg_scale": self.cfg_scale, "steps": self.steps,
            "batch_size": self.batch_size, "restore_faces": self.restore_faces,
            "face_restoration_model": self.face_restoration_model, "sd_model_name": self.sd_model_name,
            "sd_model_hash": self.sd_model_hash, "sd_vae_name": self.sd_vae_name, "sd_vae_hash": self.sd_vae_hash,
            "seed_resize_from_w": self.seed_resize_from_w, "seed_resize_from_h": self.seed_resize_from_h,
            "denoising_strength": self.denoising_strength, "extra_generation_params": self.extra_generation_params,
            "index_of_first_image": self.index_of_first_image, "infotexts": self.infotexts, "styles": self.styles,
            "job_timestamp": self.job_timestamp, "clip_skip": self.clip_skip,
            "is_using_inpainting_conditioning": self.is_using_inpainting_conditioning, "version": self.version,
        }
        return json.dumps(obj, default=lambda o: None)

    def infotext(self, p: StableDiffusionProcessing, index: int) -> str:
        batch_number, position = divmod(index, self.batch_size)
        return create_infotext(p, self.all_prompts, self.all_seeds, self.all_subseeds, comments=[],
                               position_in_batch=position, iteration=batch_number)

    def get_token_merging_ratio(self, for_hr=False):
        if for_hr:
            return self.token_merging_ratio_hr
        return self.token_merging_ratio


def create_random_tensors(shape, seeds, subseeds=None, subseed_strength=0.0, seed_resize_from_h=0, seed_resize_from_w=0, p=None):
    return rng.ImageRNG(shape, seeds, subseeds=subseeds, subseed_strength=subseed_strength).next()


_RANDOM_SEED = -1


def _parse_seed(value):
    """'' and None mean random; a string must parse as an int (else random); anything else passes."""
    if value is None or value == "":
        return _RANDOM_SEED
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except Exception:
        return _RANDOM_SEED


def get_fixed_seed(seed):
    """''/None -> -1; bad str -> -1; -1 -> random.randrange(4294967294) (L675-687)."""
    chosen = _parse_seed(seed)
    if chosen != _RANDOM_SEED:
        return chosen
    return int(random.randrange(4294967294))


def fix_seed(p):
    p.seed, p.subseed = get_fixed_seed(p.seed), get_fixed_seed(p.subseed)


def program_version():
    import launch

    tag = launch.git_tag()
    return tag if tag != "<none>" else None


# ----------------------------------------------------------------------------------------- infotext
_OPTION_GATED = {
    # infotext key: (option that turns it on, attribute of p that holds the value)
    "Model hash": ("add_model_hash_to_info", "sd_model_hash"),
    "Model": ("add_model_name_to_info", "sd_model_name"),
    "VAE hash": ("add_vae_hash_to_info", "sd_vae_hash"),
    "VAE": ("add_vae_name_to_info", "sd_vae_name"),
    "User": ("add_user_name_to_info", "user"),
}


def _gated(p, key: str):
    option, attribute = _OPTION_GATED[key]
    return getattr(p, attribute) if getattr(opts, option) else None


def _fp8_only(option: str):
    return getattr(opts, option) if devices.fp8 else None


def _resolve_infotext_value(value, index: int, context: dict):
    """A list holds one value per image of the whole job; a callable is asked with the local context."""
    if isinstance(value, list):
        return value[index]
    if callable(value):
        return value(**context)
    return value


def _unless_zero(value):
    return None if value == 0 else value


def _infotext_item(key, value) -> str:
    return key if key == value else f"{key}: {infotext_utils.quote(value)}"


def create_infotext(p, all_prompts, all_seeds, all_subseeds, comments=None, iteration=0, position_in_batch=0,
                    use_main_prompt=False, index=None, all_negative_prompts=None):
    """The infotext: prompt, "Negative prompt: ...", then ``k: quote(v)`` pairs (L705-816).

    ``extra_generation_params`` values may be str/None, a list (one entry per image of the whole
    job, indexed by ``index``) or a callable called with the local variables (``p``, ``index``,
    ``prompt_text``, ...); None values are left out; a key equal to its value prints bare.
    """
    if use_main_prompt:
        index = 0
    elif index is None:
        index = iteration * p.batch_size + position_in_batch
    all_negative_prompts = p.all_negative_prompts if all_negative_prompts is None else all_negative_prompts
    clip_skip = getattr(p, "clip_skip", opts.CLIP_stop_at_last_layers)
    if _FORGE:
        clip_skip = int(clip_skip)
    enable_hr = getattr(p, "enable_hr", False)
    token_merging_ratio, token_merging_ratio_hr = (p.get_token_merging_ratio(for_hr=hires) for hires in (False, True))
    if use_main_prompt:
        prompt_text, negative_prompt = p.main_prompt, p.main_negative_prompt
    else:
        prompt_text, negative_prompt = all_prompts[index], all_negative_prompts[index]
    from modules import sd_samplers_common

    ensd_applies = False
    if opts.eta_noise_seed_delta != 0:
        ensd_applies = sd_samplers_common.is_sampler_using_eta_noise_seed_delta(p)

    shown_seed = p.all_seeds[0] if use_main_prompt else all_seeds[index]
    with_variation = p.subseed_strength != 0
    resized_w, resized_h = p.seed_resize_from_w, p.seed_resize_from_h
    items = [("Steps", p.steps), ("Sampler", p.sampler_name), ("Schedule type", p.scheduler),
             ("CFG scale", p.cfg_scale)]
    if _FORGE and getattr(p, "firstpass_use_distilled_cfg_scale", p.sd_model.use_distilled_cfg_scale):
        items.append(("Distilled CFG Scale", p.distilled_cfg_scale))
    items += [
        ("Image CFG scale", getattr(p, "image_cfg_scale", None)),
        ("Seed", shown_seed),
        ("Face restoration", opts.face_restoration_model if p.restore_faces else None),
        ("Size", f"{p.width}x{p.height}"),
        ("Model hash", _gated(p, "Model hash")),
        ("Model", _gated(p, "Model")),
        ("FP8 weight", _fp8_only("fp8_storage")),
        ("Cache FP16 weight for LoRA", _fp8_only("cache_fp16_weight")),
    ]
    if not _FORGE:
        items += [("VAE hash", _gated(p, "VAE hash")), ("VAE", _gated(p, "VAE"))]
    if not with_variation:
        variation_seed = None
    else:
        variation_seed = p.all_subseeds[0] if use_main_prompt else all_subseeds[index]
    mask_weight = None
    if p.is_using_inpainting_conditioning:
        mask_weight = getattr(p, "inpainting_mask_weight", opts.inpainting_mask_weight)
    items += [
        ("Variation seed", variation_seed),
        ("Variation seed strength", p.subseed_strength if with_variation else None),
        ("Seed resize from", f"{resized_w}x{resized_h}" if resized_w > 0 and resized_h > 0 else None),
        ("Denoising strength", p.extra_generation_params.get("Denoising strength")),
        ("Conditional mask weight", mask_weight),
        ("Clip skip", clip_skip if clip_skip > 1 else None),
        ("ENSD", opts.eta_noise_seed_delta if ensd_applies else None),
        ("Token merging ratio", _unless_zero(token_merging_ratio)),
        ("Token merging ratio hr", _unless_zero(token_merging_ratio_hr) if enable_hr else None),
        ("Init image hash", getattr(p, "init_img_hash", None)),
        ("RNG", None if opts.randn_source == "GPU" else opts.randn_source),
        ("Tiling", "True" if p.tiling else None),
        *p.extra_generation_params.items(),
        ("Version", program_version() if opts.add_version_to_infotext else None),
        ("User", _gated(p, "User")),
    ]
    generation_params: dict[str, Any] = dict(items)
    if _FORGE:
        if opts.forge_unet_storage_dtype != "Automatic":
            generation_params["Diffusion in Low Bits"] = opts.forge_unet_storage_dtype
        if isinstance(opts.forge_additional_modules, list):
            for number, module_path in enumerate(opts.forge_additional_modules, start=1):
                generation_params[f"Module {number}"] = os.path.splitext(os.path.basename(module_path))[0]

    context = {
        "p": p, "all_prompts": all_prompts, "all_seeds": all_seeds, "all_subseeds": all_subseeds, "comments": comments,
        "iteration": iteration, "position_in_batch": position_in_batch, "use_main_prompt": use_main_prompt,
        "index": index, "all_negative_prompts": all_negative_prompts, "clip_skip": clip_skip, "enable_hr": enable_hr,
        "token_merging_ratio": token_merging_ratio, "token_merging_ratio_hr": token_merging_ratio_hr,
        "prompt_text": prompt_text, "negative_prompt": negative_prompt, "uses_ensd": ensd_applies,
        "generation_params": generation_params,
    }
    for key, raw in generation_params.items():
        try:
            resolved = _resolve_infotext_value(raw, index, {**context, "key": key, "value": raw})
        except Exception:
            resolved = None
            errors.report(f'Error creating infotext for key "{key}"', exc_info=True)
        generation_params[key] = resolved

    lines = [prompt_text]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(", ".join(_infotext_item(k, v) for k, v in generation_params.items() if v is not None))
    return "\n".join(f"{line}" for line in lines).strip()


# ------------------------------------------------------------------------------------ process_images
def _reload_for_setting(key: str, checkpoint_too: bool) -> None:
    """A changed VAE setting reloads the VAE; a changed checkpoint (when asked) the model."""
    if key == "sd_vae":
        sd_vae.reload_vae_weights()
    elif checkpoint_too and key == "sd_model_checkpoint":
        sd_models.reload_model_weights()


def _remember_overridden_options(p) -> dict:
    """The current values of the overridden settings that exist (restored afterwards)."""
    return {key: opts.data[key] for key in p.override_settings if key in opts.data}


def _apply_override_settings(p) -> None:
    overrides = p.override_settings
    if sd_models.checkpoint_aliases.get(overrides.get("sd_model_checkpoint")) is None:
        overrides.pop("sd_model_checkpoint", None)  # unknown (or no) checkpoint: dropped
        if not _FORGE:
            sd_models.reload_model_weights()
    for key, value in overrides.items():
        opts.set(key, value, is_api=True, run_callbacks=False)
        _reload_for_setting(key, checkpoint_too=not _FORGE)


def _restore_overridden_options(p, remembered: dict) -> None:
    if not p.override_settings_restore_afterwards:
        return
    for key, value in remembered.items():
        setattr(opts, key, value)
        _reload_for_setting(key, checkpoint_too=False)


def process_images(p: StableDiffusionProcessing) -> Processed:
    double = _double()
    double.counters.process_images += 1
    double.depth += 1
    double.record_event("process_images:start", p)
    try:
        _run_hook(p, "before_process")
        remembered = _remember_overridden_options(p)
        try:
            _apply_override_settings(p)
            if not _FORGE:
                merging_ratio = p.get_token_merging_ratio()
                sd_models.apply_token_merging(p.sd_model, merging_ratio)
            elif not getattr(p, "txt2img_upscale", False):
                sd_models.forge_model_reload()
            sd_samplers.fix_p_invalid_sampler_and_scheduler(p)
            return process_images_inner(p)
        finally:
            if not _FORGE:
                sd_models.apply_token_merging(p.sd_model, 0)
            _restore_overridden_options(p, remembered)
    finally:
        double.depth -= 1
        double.record_event("process_images:end", p)


class _Job:
    """What one ``process_images_inner`` run hands from step to step."""

    def __init__(self, p: StableDiffusionProcessing) -> None:
        self.p = p
        self.seed = self.subseed = None
        self.infotexts: list[str] = []
        self.output_images: list[Image.Image] = []
        self.describe = None
        """``describe(index=0, use_main_prompt=False)``: the infotext of the current batch; set once a
        batch has been sampled (before that the WebUI has no such function either)."""
        self.batch_number = 0
        self.samples = None
        self.save_samples = False


class _ImageWork:
    """One image of a batch on its way from the decoded sample to ``output_images``."""

    def __init__(self, position: int, sample) -> None:
        self.position = position
        self.sample = sample
        self.image: Image.Image | None = None
        self.mask_for_overlay = None
        self.overlay_image = None
        self.denoised: Image.Image | None = None


# --- job start (L865-931)
def _start_check_prompt(job: _Job):
    prompt = job.p.prompt
    assert (len(prompt) > 0) if isinstance(prompt, list) else (prompt is not None)
    devices.torch_gc()


def _start_fix_seeds(job: _Job):
    job.seed = get_fixed_seed(job.p.seed)
    job.subseed = get_fixed_seed(job.p.subseed)


def _start_defaults_and_refiner(job: _Job):
    p = job.p
    for attribute, option in (("restore_faces", "face_restoration"), ("tiling", "tiling")):
        if getattr(p, attribute) is None:  # unset: the setting decides
            setattr(p, attribute, getattr(opts, option))
    wanted = p.refiner_checkpoint
    if wanted in _UNSET_CHECKPOINT_NAMES:
        return
    found = sd_models.get_closet_checkpoint_match(wanted)
    p.refiner_checkpoint_info = found
    if found is None:
        raise Exception(f"Could not find checkpoint with name {wanted}")


def _start_model_identity(job: _Job):
    p, model = job.p, shared.sd_model
    p.sd_model_name, p.sd_model_hash = model.sd_checkpoint_info.name_for_extra, model.sd_model_hash
    p.sd_vae_name, p.sd_vae_hash = sd_vae.get_loaded_vae_name(), sd_vae.get_loaded_vae_hash()
    p.sd_model.comments = []  # A1111: model_hijack.clear_comments() (L896)
    if _FORGE:
        p.sd_model.extra_generation_params = {}


def _start_prompts_and_seeds(job: _Job):
    p = job.p
    p.fill_fields_from_opts()
    p.setup_prompts()
    count = len(p.all_prompts)
    # Without variation every image gets the next seed; with it they all share the first one.
    if isinstance(job.seed, list):
        p.all_seeds = job.seed
    else:
        p.all_seeds = _seed_series(job.seed, count, stride=1 if p.subseed_strength == 0 else 0)
    if isinstance(job.subseed, list):
        p.all_subseeds = job.subseed
    else:
        p.all_subseeds = _seed_series(job.subseed, count, stride=1)


def _start_process_hook(job: _Job):
    _run_hook(job.p, "process")


def _start_init(job: _Job):
    p = job.p
    p.init(p.all_prompts, p.all_seeds, p.all_subseeds)
    _double().record_event("init", p)
    if state.job_count == -1:
        state.job_count = p.n_iter


_JOB_START = (_start_check_prompt, _start_fix_seeds, _start_defaults_and_refiner, _start_model_identity,
              _start_prompts_and_seeds, _start_process_hook, _start_init)


# --- one batch (L932-1112)
def _batch_check_flags(job: _Job):
    job.p.iteration = job.batch_number
    if state.skipped:
        state.skipped = False
    if state.interrupted or state.stopping_generation:
        return _STOP


def _batch_reload_model(job: _Job):
    if not _FORGE:
        sd_models.reload_model_weights()
        return
    sd_models.forge_model_reload()
    model = job.p.sd_model
    model.forge_objects = model.forge_objects_original.shallow_copy()


def _batch_select(job: _Job):
    p, number = job.p, job.batch_number
    p.prompts = _batch_slice(p.all_prompts, number, p.batch_size)
    p.negative_prompts = _batch_slice(p.all_negative_prompts, number, p.batch_size)
    p.seeds = _batch_slice(p.all_seeds, number, p.batch_size)
    p.subseeds = _batch_slice(p.all_subseeds, number, p.batch_size)
    latent_shape = (p.height // opt_f * opt_f, p.width // opt_f * opt_f, 3)
    p.rng = rng.ImageRNG(latent_shape, p.seeds, subseeds=p.subseeds, subseed_strength=p.subseed_strength,
                         seed_resize_from_h=p.seed_resize_from_h, seed_resize_from_w=p.seed_resize_from_w)


def _batch_hook(method: str):
    def call(job: _Job):
        p = job.p
        _run_hook(p, method, batch_number=job.batch_number, prompts=p.prompts, seeds=p.seeds, subseeds=p.subseeds)

    call.__name__ = f"_batch_{method}"
    return call


def _batch_stop_when_empty(job: _Job):
    if len(job.p.prompts) == 0:
        return _STOP


def _batch_extra_networks(job: _Job):
    p = job.p
    p.parse_extra_network_prompts()
    _activate_extra_networks(p, p.extra_network_data)
    if _FORGE:
        _forge_take_lora_objects(p)


def _batch_conds(job: _Job):
    p = job.p
    p.setup_conds()
    if _FORGE:  # Forge's model adds its own infotext entries while encoding the prompts
        from_model = p.sd_model.extra_generation_params
        p.extra_generation_params.update(from_model)


def _batch_params_txt(job: _Job):
    """The first batch writes the job's first infotext to params.txt (L974-977)."""
    if job.batch_number != 0 or cmd_opts.no_prompt_history:
        return
    with open(os.path.join(paths.data_path, "params.txt"), "w", encoding="utf8") as params_file:
        params_file.write(Processed(job.p, []).infotext(job.p, 0))


def _batch_comments_and_title(job: _Job):
    p = job.p
    if p.n_iter > 1:
        shared.state.job = f"Batch {job.batch_number + 1} out of {p.n_iter}"
    for text in p.sd_model.comments:
        p.comment(text)


def _batch_sample(job: _Job):
    p = job.p
    samples = p.sample(conditioning=p.c, unconditional_conditioning=p.uc, seeds=p.seeds, subseeds=p.subseeds,
                       subseed_strength=p.subseed_strength, prompts=p.prompts)
    if _FORGE:
        p.latents_after_sampling.extend(list(samples))
    runner = p.scripts
    if runner is not None:
        args = scripts.PostSampleArgs(samples)
        runner.post_sample(p, args)
        samples = args.samples
    job.samples = samples


def _batch_decode(job: _Job):
    p, samples = job.p, job.samples
    if not getattr(samples, "already_decoded", False):
        if opts.sd_vae_decode_method != "Full":
            p.extra_generation_params["VAE Decoder"] = opts.sd_vae_decode_method
        samples = decode_latent_batch(p.sd_model, samples, target_device=devices.cpu, check_for_nans=True)
    stacked = np.stack([_to_numpy(item) for item in samples]).astype(np.float32)
    job.samples = np.clip((stacked + 1.0) / 2.0, 0.0, 1.0)
    devices.torch_gc()
    state.nextjob()


def _batch_postprocess_hooks(job: _Job):
    p = job.p
    if p.scripts is None:
        return
    p.scripts.postprocess_batch(p, job.samples, batch_number=job.batch_number)
    p.prompts = _batch_slice(p.all_prompts, job.batch_number, p.batch_size)
    p.negative_prompts = _batch_slice(p.all_negative_prompts, job.batch_number, p.batch_size)
    listed = scripts.PostprocessBatchListArgs(list(job.samples))
    p.scripts.postprocess_batch_list(p, listed, batch_number=job.batch_number)
    job.samples = listed.images


def _describe_image(p, index=0, use_main_prompt=False):
    """The infotext of image ``index`` of the current batch (or of the whole job)."""
    return create_infotext(p, p.prompts, p.seeds, p.subseeds, use_main_prompt=use_main_prompt, index=index,
                           all_negative_prompts=p.negative_prompts)


def _batch_images(job: _Job):
    job.describe = functools.partial(_describe_image, job.p)
    job.save_samples = job.p.save_samples()
    for position, sample in enumerate(job.samples):
        work = _ImageWork(position, sample)
        for step in _IMAGE_STEPS:
            step(job, work)
    job.samples = None
    devices.torch_gc()


_BATCH_STEPS = (
    _batch_check_flags, _batch_reload_model, _batch_select, _batch_hook("before_process_batch"),
    _batch_stop_when_empty, _batch_extra_networks, _batch_hook("process_batch"), _batch_conds, _batch_params_txt,
    _batch_comments_and_title, _batch_sample, _batch_decode, _batch_postprocess_hooks, _batch_images,
)


# --- one image (L1030-1109)
def _save_sample(job: _Job, work: _ImageWork, image: Image.Image, **kwargs):
    p, i = job.p, work.position
    images.save_image(image, p.outpath_samples, "", p.seeds[i], p.prompts[i], opts.samples_format,
                      info=job.describe(i), p=p, **kwargs)


def _postprocess_image_args(p, position: int, image):
    if _FORGE:
        return scripts.PostprocessImageArgs(image, position + p.iteration * p.batch_size)
    return scripts.PostprocessImageArgs(image)


def _image_to_pixels(job: _Job, work: _ImageWork):
    job.p.batch_index = work.position
    work.sample = (255.0 * np.moveaxis(_to_numpy(work.sample), 0, 2)).astype(np.uint8)


def _image_restore_faces(job: _Job, work: _ImageWork):
    if not job.p.restore_faces:
        return
    if job.save_samples and opts.save_images_before_face_restoration:
        _save_sample(job, work, Image.fromarray(work.sample), suffix="-before-face-restoration")
    from modules import face_restoration

    work.sample = face_restoration.restore_faces(work.sample)


def _image_postprocess_hook(job: _Job, work: _ImageWork):
    p = job.p
    work.image = Image.fromarray(work.sample)
    if p.scripts is not None:
        args = _postprocess_image_args(p, work.position, work.image)
        p.scripts.postprocess_image(p, args)
        work.image = args.image


def _image_choose_overlay(job: _Job, work: _ImageWork):
    p, i = job.p, work.position
    work.mask_for_overlay = getattr(p, "mask_for_overlay", None)
    overlays = getattr(p, "overlay_images", None) if opts.overlay_inpaint else None
    work.overlay_image = overlays[i] if overlays is not None and i < len(overlays) else None
    if p.scripts is not None:
        args = scripts.PostProcessMaskOverlayArgs(i, work.mask_for_overlay, work.overlay_image)
        p.scripts.postprocess_maskoverlay(p, args)
        work.mask_for_overlay, work.overlay_image = args.mask_for_overlay, args.overlay_image


def _image_color_correction(job: _Job, work: _ImageWork):
    p, i = job.p, work.position
    corrections = p.color_corrections
    if corrections is None or i >= len(corrections):
        return
    if job.save_samples and opts.save_images_before_color_correction:
        uncorrected = apply_overlay(work.image, p.paste_to, work.overlay_image)[0]
        _save_sample(job, work, uncorrected, suffix="-before-color-correction")
    work.image = apply_color_correction(corrections[i], work.image)


def _image_overlay(job: _Job, work: _ImageWork):
    p = job.p
    work.image, work.denoised = apply_overlay(work.image, p.paste_to, work.overlay_image)
    if _FORGE:
        p.pixels_after_sampling.append(work.image)
    if p.scripts is not None:
        args = _postprocess_image_args(p, work.position, work.image)
        p.scripts.postprocess_image_after_composite(p, args)
        work.image = args.image


def _image_output(job: _Job, work: _ImageWork):
    if job.save_samples:
        _save_sample(job, work, work.image)
    text = job.describe(work.position)
    job.infotexts.append(text)
    if opts.enable_pnginfo:
        work.image.info["parameters"] = text
    job.output_images.append(work.image)


def _masked_area_only(denoised: Image.Image, mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The denoised image where the mask is white, transparent elsewhere."""
    foreground = denoised.convert("RGBA").convert("RGBa")
    alpha = images.resize_image(2, mask, size[0], size[1]).convert("L")
    return Image.composite(foreground, Image.new("RGBa", size), alpha).convert("RGBA")


def _image_mask_outputs(job: _Job, work: _ImageWork):
    mask = work.mask_for_overlay
    if mask is None:
        return
    if opts.return_mask or opts.save_mask:
        mask_image = mask.convert("RGB")
        if job.save_samples and opts.save_mask:
            _save_sample(job, work, mask_image, suffix="-mask")
        if opts.return_mask:
            job.output_images.append(mask_image)
    if opts.return_mask_composite or opts.save_mask_composite:
        composite = _masked_area_only(work.denoised, mask, work.image.size)
        if job.save_samples and opts.save_mask_composite:
            _save_sample(job, work, composite, suffix="-mask-composite")
        if opts.return_mask_composite:
            job.output_images.append(composite)


_IMAGE_STEPS = (_image_to_pixels, _image_restore_faces, _image_postprocess_hook, _image_choose_overlay,
                _image_color_correction, _image_overlay, _image_output, _image_mask_outputs)


# --- job end (L1114-1150)
def _grid_wanted(p, image_count: int) -> bool:
    if p.do_not_save_grid or not (opts.return_grid or opts.grid_save):
        return False
    return image_count >= 2 or not opts.grid_only_if_multiple


def _finish_job(job: _Job) -> Processed:
    p = job.p
    if not job.infotexts:
        job.infotexts.append(Processed(p, []).infotext(p, 0))
    p.color_corrections = None
    first_image_index = 0
    if _grid_wanted(p, len(job.output_images)):
        grid = images.image_grid(job.output_images, p.batch_size)
        if opts.return_grid:
            grid_text = job.describe(use_main_prompt=True)
            job.infotexts.insert(0, grid_text)
            if opts.enable_pnginfo:
                grid.info["parameters"] = grid_text
            job.output_images.insert(0, grid)
            first_image_index = 1
        if opts.grid_save:
            images.save_image(grid, p.outpath_grids, "grid", p.all_seeds[0], p.all_prompts[0], opts.grid_format,
                              info=job.describe(use_main_prompt=True), short_filename=not opts.grid_extended_filename,
                              p=p, grid=True)
    if p.extra_network_data and not p.disable_extra_networks:
        extra_networks.deactivate(p, p.extra_network_data)
    devices.torch_gc()
    forge_extras = {"extra_images_list": p.extra_result_images} if _FORGE else {}
    processed = Processed(p, images_list=job.output_images, seed=p.all_seeds[0], info=job.infotexts[0],
                          subseed=p.all_subseeds[0], index_of_first_image=first_image_index,
                          infotexts=job.infotexts, **forge_extras)
    _run_hook(p, "postprocess", processed)
    return processed


def process_images_inner(p: StableDiffusionProcessing) -> Processed:
    """The main loop shared by txt2img and img2img (L863-1150)."""
    job = _Job(p)
    for step in _JOB_START:
        step(job)
    for job.batch_number in range(p.n_iter):
        if any(step(job) is _STOP for step in _BATCH_STEPS):
            break
    return _finish_job(job)


def old_hires_fix_first_pass_dimensions(width, height):
    import math

    scale = math.sqrt(512 * 512 / (width * height))
    return math.ceil(scale * width / 64) * 64, math.ceil(scale * height / 64) * 64


def _noise_after_hook(p, x, noise, c, uc):
    """``process_before_every_sampling``; in Forge a script may swap the noise via ``p.modified_noise``."""
    if p.scripts is not None:
        p.scripts.process_before_every_sampling(p=p, x=x, noise=noise, c=c, uc=uc)
    if _FORGE and p.modified_noise is not None:
        noise, p.modified_noise = p.modified_noise, None
    return noise


def _upscaler_exists(name) -> bool:
    return name in shared.latent_upscale_modes or any(upscaler.name == name for upscaler in shared.sd_upscalers)


def _refine_job_count_for_hires(p):
    """A hires job counts twice; done once per ``state`` (L1294-1300)."""
    if state.processing_has_refined_job_count:
        return
    if state.job_count == -1:
        state.job_count = p.n_iter
    steps_per_job = p.steps + (p.hr_second_pass_steps or p.steps)
    shared.total_tqdm.updateTotal(steps_per_job * state.job_count)
    state.job_count *= 2
    state.processing_has_refined_job_count = True


@dataclass(repr=False)
@_fields(*_TXT2IMG_FIELDS)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    cached_hr_uc = _blank_cache(2)
    cached_hr_c = _blank_cache(2)

    def __post_init__(self):
        super().__post_init__()
        if (self.firstphase_width, self.firstphase_height) != (0, 0):
            # the old hires API: width/height are the final size, firstphase_* the first pass
            self.hr_upscale_to_x, self.hr_upscale_to_y = self.width, self.height
            self.width, self.height = self.firstphase_width, self.firstphase_height
        hires_caches = StableDiffusionProcessingTxt2Img
        self.cached_hr_uc = hires_caches.cached_hr_uc
        self.cached_hr_c = hires_caches.cached_hr_c

    def calculate_target_resolution(self):
        resize_x, resize_y = self.hr_resize_x, self.hr_resize_y
        params = self.extra_generation_params
        if (resize_x, resize_y) == (0, 0):
            params["Hires upscale"] = self.hr_scale
            target = int(self.width * self.hr_scale), int(self.height * self.hr_scale)
        else:
            params["Hires resize"] = f"{resize_x}x{resize_y}"
            if resize_y == 0:  # keep the aspect ratio from the width
                target = resize_x, resize_x * self.height // self.width
            elif resize_x == 0:  # ... or from the height
                target = resize_y * self.width // self.height, resize_y
            else:
                target = resize_x, resize_y
        self.hr_upscale_to_x, self.hr_upscale_to_y = target

    def init(self, all_prompts, all_seeds, all_subseeds):
        if not self.enable_hr:
            return
        params = self.extra_generation_params
        params["Denoising strength"] = self.denoising_strength
        if self.hr_sampler_name not in (None, self.sampler_name):
            params["Hires sampler"] = self.hr_sampler_name
        self.hr_scheduler = self.scheduler if self.hr_scheduler is None else self.hr_scheduler
        upscaler = self.hr_upscaler
        if upscaler is not None and not _upscaler_exists(upscaler):
            raise Exception(f"could not find upscaler named {upscaler}")
        self.calculate_target_resolution()
        _refine_job_count_for_hires(self)
        if self.hr_second_pass_steps:
            params["Hires steps"] = self.hr_second_pass_steps
        if self.hr_upscaler is not None:
            params["Hires upscaler"] = self.hr_upscaler
        self.all_hr_prompts = [self.hr_prompt or text for text in all_prompts]
        self.all_hr_negative_prompts = [self.hr_negative_prompt or text for text in self.all_negative_prompts]

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        self.sampler = _new_sampler(self, self.sampler_name)
        noise = self.rng.next()
        noise = _noise_after_hook(self, noise, noise, conditioning, unconditional_conditioning)
        first_pass = self.sampler.sample(self, noise, conditioning, unconditional_conditioning,
                                         image_conditioning=self.txt2img_image_conditioning(noise))
        if self.enable_hr:
            decoded = decode_latent_batch(self.sd_model, first_pass)
            return self.sample_hr_pass(first_pass, decoded, seeds, subseeds, subseed_strength, prompts)
        return first_pass

    def sample_hr_pass(self, samples, decoded_samples, seeds, subseeds, subseed_strength, prompts):
        """Simplified hires pass: pixel upscale, ``before_hr``, ``process_before_every_sampling``
        (Forge: twice, Forge processing.py L1508-1527), an img2img pass of exactly
        ``hr_second_pass_steps or steps`` steps (L1364-1466)."""
        if shared.state.interrupted:
            return samples
        self.is_hr_pass = True
        self.sampler = _new_sampler(self, self.hr_sampler_name or self.sampler_name)
        pixel_upscaler = None if self.hr_upscaler in shared.latent_upscale_modes else self.hr_upscaler
        batch = []
        for x_sample in decoded_samples:
            arr = (255.0 * np.clip((np.moveaxis(x_sample, 0, 2) + 1.0) / 2.0, 0, 1)).astype(np.uint8)
            image = images.resize_image(0, Image.fromarray(arr), self.hr_upscale_to_x, self.hr_upscale_to_y,
                                        upscaler_name=pixel_upscaler)
            batch.append(np.asarray(image, dtype=np.float32) / 255.0)
        latents = encode_images(np.stack(batch))
        shared.state.nextjob()
        self.rng = rng.ImageRNG(latents.shape[1:], self.seeds, subseeds=self.subseeds, subseed_strength=self.subseed_strength)
        noise = self.rng.next()
        _activate_extra_networks(self, self.hr_extra_network_data)
        self.calculate_hr_conds()
        runner = self.scripts
        if runner is not None:
            runner.before_hr(self)
            for _ in range(2 if _FORGE else 1):
                runner.process_before_every_sampling(p=self, x=latents, noise=noise, c=self.hr_c, uc=self.hr_uc)
        samples = self.sampler.sample_img2img(self, latents, noise, self.hr_c, self.hr_uc,
                                              steps=self.hr_second_pass_steps or self.steps)
        self.sampler = None
        decoded = decode_latent_batch(self.sd_model, samples)
        self.is_hr_pass = False
        return decoded

    def calculate_hr_conds(self):
        size = {"width": self.hr_upscale_to_x, "height": self.hr_upscale_to_y}
        positives = _batch_slice(self.all_hr_prompts or self.prompts, self.iteration, self.batch_size)
        negatives = _batch_slice(self.all_hr_negative_prompts or self.negative_prompts, self.iteration, self.batch_size)
        positive = prompt_parser.SdConditioning(positives, **size)
        negative = prompt_parser.SdConditioning(negatives, **size, is_negative_prompt=True)
        steps = self.hr_second_pass_steps or self.steps
        self.hr_uc = self.get_conds_with_caching(prompt_parser.get_learned_conditioning, negative, steps,
                                                 [self.cached_hr_uc, self.cached_uc], self.hr_extra_network_data)
        self.hr_c = self.get_conds_with_caching(prompt_parser.get_multicond_learned_conditioning, positive, steps,
                                                [self.cached_hr_c, self.cached_c], self.hr_extra_network_data)

    def close(self):
        super().close()
        self.hr_c = self.hr_uc = None
        if opts.persistent_cond_cache:
            return
        StableDiffusionProcessingTxt2Img.cached_hr_uc = _blank_cache(2)
        StableDiffusionProcessingTxt2Img.cached_hr_c = _blank_cache(2)


def _cut_out_masked(image: Image.Image, mask: Image.Image) -> Image.Image:
    """The overlay: ``image`` where the mask is black, transparent where it is white (L1684-1689)."""
    keep = ImageOps.invert(mask.convert("L"))
    premultiplied = image.convert("RGBA").convert("RGBa")
    return Image.composite(premultiplied, Image.new("RGBa", (image.width, image.height)), keep).convert("RGBA")


def _inpaint_mask(p):
    """The mask steps before the init images: ``(crop_region, image_mask)``; both None without a mask."""
    if p.image_mask is None:
        return None, None
    params = p.extra_generation_params
    mask = create_binary_mask(p.image_mask, round=p.mask_round)
    if p.inpainting_mask_invert:
        mask = ImageOps.invert(mask)
        params["Mask mode"] = "Inpaint not masked"
    for radius, axis in ((p.mask_blur_x, 1), (p.mask_blur_y, 0)):  # x blurs along rows, y along columns
        if radius > 0:
            mask = Image.fromarray(masking.gaussian_blur_axis(np.array(mask), radius, axis=axis))
    if max(p.mask_blur_x, p.mask_blur_y) > 0:
        params["Mask blur"] = p.mask_blur
    if p.inpaint_full_res:
        crop_region, mask = _only_masked_area(p, mask)
    else:
        crop_region = None
        mask = images.resize_image(p.resize_mode, mask, p.width, p.height)
        doubled = np.clip(np.asarray(mask, dtype=np.float32) * 2, 0, 255).astype(np.uint8)
        p.mask_for_overlay = Image.fromarray(doubled)  # "Whole picture": the overlay mask is mask*2
    p.overlay_images = []
    return crop_region, mask


def _only_masked_area(p, mask: Image.Image):
    """"Only masked": crop to the padded mask box, scaled to width x height; a blank mask falls back."""
    p.mask_for_overlay = mask
    grey = mask.convert("L")
    box = masking.get_crop_region_v2(grey, p.inpaint_full_res_padding)
    if not box:
        p.mask_for_overlay = None
        p.inpaint_full_res = False
        message = 'Unable to perform "Inpaint Only mask" because mask is blank, switch to img2img mode.'
        p.sd_model.comments.append(message)  # A1111: model_hijack.comments (same effect)
        logging.info(message)
        return None, None
    box = masking.expand_crop_region(box, p.width, p.height, grey.width, grey.height)
    left, top, right, bottom = box
    scaled = images.resize_image(2, grey.crop(box), p.width, p.height)
    p.paste_to = (left, top, right - left, bottom - top)
    p.extra_generation_params["Inpaint area"] = "Only masked"
    p.extra_generation_params["Masked area padding"] = p.inpaint_full_res_padding
    return box, scaled


def _init_image(p, source: Image.Image, crop_region, image_mask, latent_mask, add_color_corrections):
    if opts.save_init_img:
        p.init_img_hash = hashlib.md5(source.tobytes()).hexdigest()
        images.save_image(source, path=opts.outdir_init_images, basename=None, forced_filename=p.init_img_hash,
                          save_to_dirs=False, existing_info=source.info)
    image = images.flatten(source, opts.img2img_background_color)
    if p.resize_mode != 3 and crop_region is None:
        image = images.resize_image(p.resize_mode, image, p.width, p.height)
    if image_mask is not None:
        size = (image.width, image.height)
        if p.mask_for_overlay.size != size:
            p.mask_for_overlay = images.resize_image(p.resize_mode, p.mask_for_overlay, *size)
        p.overlay_images.append(_cut_out_masked(image, p.mask_for_overlay))
    if crop_region is not None:
        image = images.resize_image(2, image.crop(crop_region), p.width, p.height)
    if image_mask is not None and p.inpainting_fill != 1:  # 1 = "original": nothing to fill
        image = masking.fill(image, latent_mask)
        if p.inpainting_fill == 0:
            p.extra_generation_params["Masked content"] = "fill"
    if add_color_corrections:
        p.color_corrections.append(setup_color_correction(image))
    if p.resize_mode == 3:
        image = image.resize((p.width, p.height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def _init_image_batch(p, crop_region, image_mask, latent_mask) -> np.ndarray:
    add_color_corrections = opts.img2img_color_correction and p.color_corrections is None
    if add_color_corrections:
        p.color_corrections = []
    prepared = [_init_image(p, source, crop_region, image_mask, latent_mask, add_color_corrections)
                for source in p.init_images]
    if len(prepared) != 1:
        if len(prepared) > p.batch_size:
            raise RuntimeError(f"bad number of images passed: {len(prepared)}; expecting {p.batch_size} or less")
        p.batch_size = len(prepared)
        return np.array(prepared)
    # one init image serves the whole batch
    if p.overlay_images is not None:
        p.overlay_images = p.overlay_images * p.batch_size
    if p.color_corrections is not None and len(p.color_corrections) == 1:
        p.color_corrections = p.color_corrections * p.batch_size
    return np.repeat(prepared[0][None], p.batch_size, axis=0)


def _set_latent_masks(p, latent_mask: Image.Image, all_seeds) -> None:
    """``mask`` keeps the init latent, ``nmask`` takes the samples; one value per 8x8 block."""
    batch, height, width = p.init_latent.shape[:3]
    small = latent_mask.convert("RGB").resize((width // opt_f, height // opt_f))
    weights = np.array(small, dtype=np.float32)[:, :, 0] / 255
    if p.mask_round:
        weights = np.around(weights)
    weights = weights.repeat(opt_f, axis=0).repeat(opt_f, axis=1)[:height, :width, None]
    p.mask = (1.0 - weights).astype(np.float32)
    p.nmask = weights.astype(np.float32)
    fill = p.inpainting_fill
    if fill == 2:  # latent noise
        noise = rng.ImageRNG(p.init_latent.shape[1:], all_seeds[0:batch]).next()
        p.init_latent = p.init_latent * p.mask + np.clip(0.5 + 0.25 * noise, 0, 1) * p.nmask
        p.extra_generation_params["Masked content"] = "latent noise"
    elif fill == 3:  # latent nothing
        p.init_latent = p.init_latent * p.mask
        p.extra_generation_params["Masked content"] = "latent nothing"


@dataclass(repr=False)
@_fields(*_IMG2IMG_FIELDS)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    def __post_init__(self):
        super().__post_init__()
        self.image_mask, self.mask = self.mask, None  # ``mask=`` is the public name of ``image_mask``
        if self.initial_noise_multiplier is None:
            self.initial_noise_multiplier = opts.initial_noise_multiplier

    @property
    def mask_blur(self):
        """One number while both axes agree, else None."""
        blur_x, blur_y = self.mask_blur_x, self.mask_blur_y
        return blur_x if blur_x == blur_y else None

    @mask_blur.setter
    def mask_blur(self, value):
        if not isinstance(value, int):
            return  # e.g. the dataclass default (the property itself) is ignored
        self.mask_blur_x = self.mask_blur_y = value

    def init(self, all_prompts, all_seeds, all_subseeds):
        params = self.extra_generation_params
        params["Denoising strength"] = self.denoising_strength
        if _FORGE or shared.sd_model.cond_stage_key != "edit":
            self.image_cfg_scale = None
        self.sampler = _new_sampler(self, self.sampler_name)
        crop_region, image_mask = _inpaint_mask(self)
        latent_mask = image_mask if self.latent_mask is None else self.latent_mask
        if _FORGE:
            _run_hook(self, "before_process_init_images", {"crop_region": crop_region, "image_mask": image_mask})
        batch_images = _init_image_batch(self, crop_region, image_mask, latent_mask)
        if opts.sd_vae_encode_method != "Full":
            self.extra_generation_params["VAE Encoder"] = opts.sd_vae_encode_method
        self.init_latent = encode_images(batch_images)
        if image_mask is not None:
            _set_latent_masks(self, latent_mask, all_seeds)
        self.image_conditioning = self.img2img_image_conditioning(batch_images, self.init_latent, image_mask,
                                                                  self.mask_round)

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        noise = self.rng.next()
        multiplier = self.initial_noise_multiplier
        if multiplier != 1.0:
            self.extra_generation_params["Noise multiplier"] = multiplier
            noise *= multiplier
        if _FORGE:
            _forge_take_lora_objects(self)
        noise = _noise_after_hook(self, self.init_latent, noise, conditioning, unconditional_conditioning)
        result = self.sampler.sample_img2img(self, self.init_latent, noise, conditioning, unconditional_conditioning,
                                             image_conditioning=self.image_conditioning)
        if self.mask is None:
            devices.torch_gc()
            return result
        blended = result * self.nmask + self.init_latent * self.mask  # the final blend keeps unmasked latents
        runner = self.scripts
        if runner is not None:
            blend = scripts.MaskBlendArgs(result, self.nmask, self.init_latent, self.mask, blended)
            runner.on_mask_blend(self, blend)
            blended = blend.blended_latent
        devices.torch_gc()
        return blended

    def get_token_merging_ratio(self, for_hr=False):
        overridden = "token_merging_ratio" in self.override_settings and opts.token_merging_ratio
        return _first_truthy(self.token_merging_ratio, overridden, opts.token_merging_ratio_img2img,
                             opts.token_merging_ratio)
