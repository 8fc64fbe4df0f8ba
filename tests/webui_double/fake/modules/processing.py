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
"""

from __future__ import annotations

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
    x, y, w, h = paste_loc
    base_image = Image.new("RGBA", dest_size)
    image = images.resize_image(1, image, w, h)
    base_image.paste(image, (x, y))
    return base_image


def apply_overlay(image: Image.Image, paste_loc, overlay: Image.Image | None):
    """Paste back: ``(composite, original_denoised_image)``; overlay = original minus masked area (L75-88)."""
    if overlay is None:
        return image, image.copy()
    if paste_loc is not None:
        image = uncrop(image, (overlay.width, overlay.height), paste_loc)
    original_denoised_image = image.copy()
    image = image.convert("RGBA")
    image.alpha_composite(overlay)
    return image.convert("RGB"), original_denoised_image


def create_binary_mask(image: Image.Image, round: bool = True) -> Image.Image:  # noqa: A002 - real name
    """RGBA with real transparency -> alpha thresholded at 128 (``> 128``); else ``convert('L')``."""
    if image.mode == "RGBA" and image.getextrema()[-1] != (255, 255):
        alpha = image.split()[-1].convert("L")
        return alpha.point(lambda x: 255 if x > 128 else 0) if round else alpha
    return image.convert("L")


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


@dataclass(repr=False)
class StableDiffusionProcessing:
    sd_model: object = None
    outpath_samples: str = None
    outpath_grids: str = None
    prompt: str = ""
    prompt_for_display: str = None
    negative_prompt: str = ""
    styles: list[str] = None
    seed: int = -1
    subseed: int = -1
    subseed_strength: float = 0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    seed_enable_extras: bool = True
    sampler_name: str = None
    scheduler: str = None
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 50
    cfg_scale: float = 7.0
    if _FORGE:
        distilled_cfg_scale: float = 3.5  # Forge processing.py L143
    width: int = 512
    height: int = 512
    restore_faces: bool = None
    tiling: bool = None
    do_not_save_samples: bool = False
    do_not_save_grid: bool = False
    extra_generation_params: dict[str, Any] = None
    overlay_images: list = None
    eta: float = None
    do_not_reload_embeddings: bool = False
    denoising_strength: float = None
    ddim_discretize: str = None
    s_min_uncond: float = None
    s_churn: float = None
    s_tmax: float = None
    s_tmin: float = None
    s_noise: float = None
    override_settings: dict[str, Any] = None
    override_settings_restore_afterwards: bool = True
    sampler_index: int = None
    refiner_checkpoint: str = None
    refiner_switch_at: float = None
    token_merging_ratio = 0
    token_merging_ratio_hr = 0
    disable_extra_networks: bool = False
    firstpass_image: Image.Image = None

    scripts_value: scripts.ScriptRunner = field(default=None, init=False)
    script_args_value: list = field(default=None, init=False)
    scripts_setup_complete: bool = field(default=False, init=False)

    cached_uc = [None, None, None] if _FORGE else [None, None]
    cached_c = [None, None, None] if _FORGE else [None, None]

    comments: dict = None
    sampler: Any = field(default=None, init=False)
    is_using_inpainting_conditioning: bool = field(default=False, init=False)
    paste_to: tuple = field(default=None, init=False)
    is_hr_pass: bool = field(default=False, init=False)
    c: Any = field(default=None, init=False)
    uc: Any = field(default=None, init=False)
    rng: Any = field(default=None, init=False)
    step_multiplier: int = field(default=1, init=False)
    color_corrections: list = field(default=None, init=False)
    all_prompts: list = field(default=None, init=False)
    all_negative_prompts: list = field(default=None, init=False)
    all_seeds: list = field(default=None, init=False)
    all_subseeds: list = field(default=None, init=False)
    iteration: int = field(default=0, init=False)
    main_prompt: str = field(default=None, init=False)
    main_negative_prompt: str = field(default=None, init=False)
    prompts: list = field(default=None, init=False)
    negative_prompts: list = field(default=None, init=False)
    seeds: list = field(default=None, init=False)
    subseeds: list = field(default=None, init=False)
    extra_network_data: dict = field(default=None, init=False)
    user: str = field(default=None, init=False)
    sd_model_name: str = field(default=None, init=False)
    sd_model_hash: str = field(default=None, init=False)
    sd_vae_name: str = field(default=None, init=False)
    sd_vae_hash: str = field(default=None, init=False)
    is_api: bool = field(default=False, init=False)

    def __post_init__(self):
        if self.sampler_index is not None:
            print("sampler_index argument for StableDiffusionProcessing does not do anything; use sampler_name",
                  file=sys.stderr)
        self.comments = {}
        if self.styles is None:
            self.styles = []
        self.sampler_noise_scheduler_override = None
        self.extra_generation_params = self.extra_generation_params or {}
        self.override_settings = self.override_settings or {}
        self.script_args = self.script_args or {}
        self.refiner_checkpoint_info = None
        if not self.seed_enable_extras:
            self.subseed = -1
            self.subseed_strength = 0
            self.seed_resize_from_h = 0
            self.seed_resize_from_w = 0
        self.cached_uc = StableDiffusionProcessing.cached_uc
        self.cached_c = StableDiffusionProcessing.cached_c
        if _FORGE:
            self.extra_result_images = []
            self.latents_after_sampling = []
            self.pixels_after_sampling = []
            self.modified_noise = None

    def fill_fields_from_opts(self):
        self.s_min_uncond = self.s_min_uncond if self.s_min_uncond is not None else opts.s_min_uncond
        self.s_churn = self.s_churn if self.s_churn is not None else opts.s_churn
        self.s_tmin = self.s_tmin if self.s_tmin is not None else opts.s_tmin
        self.s_tmax = (self.s_tmax if self.s_tmax is not None else opts.s_tmax) or float("inf")
        self.s_noise = self.s_noise if self.s_noise is not None else opts.s_noise

    @property
    def sd_model(self):  # noqa: F811 - property over the dataclass field, as in the WebUI
        return shared.sd_model

    @sd_model.setter
    def sd_model(self, value):
        pass

    @property
    def scripts(self):
        return self.scripts_value

    @scripts.setter
    def scripts(self, value):
        self.scripts_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    @property
    def script_args(self):
        return self.script_args_value

    @script_args.setter
    def script_args(self, value):
        self.script_args_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    def setup_scripts(self):
        self.scripts_setup_complete = True
        self.scripts.setup_scrips(self, is_ui=not self.is_api)

    def comment(self, text):
        self.comments[text] = 1

    def txt2img_image_conditioning(self, x, width=None, height=None):
        return None

    def img2img_image_conditioning(self, source_image, latent_image, image_mask=None, round_image_mask=True):
        return None

    def init(self, all_prompts, all_seeds, all_subseeds):
        pass

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        raise NotImplementedError()

    def close(self):
        self.sampler = None
        self.c = None
        self.uc = None
        if not opts.persistent_cond_cache:
            StableDiffusionProcessing.cached_c = [None, None]
            StableDiffusionProcessing.cached_uc = [None, None]

    if _FORGE:
        def clear_prompt_cache(self):
            self.cached_c = [None, None, None]
            self.cached_uc = [None, None, None]
            StableDiffusionProcessing.cached_c = [None, None, None]
            StableDiffusionProcessing.cached_uc = [None, None, None]

    def get_token_merging_ratio(self, for_hr=False):
        if for_hr:
            return self.token_merging_ratio_hr or opts.token_merging_ratio_hr or self.token_merging_ratio or opts.token_merging_ratio
        return self.token_merging_ratio or opts.token_merging_ratio

    def setup_prompts(self):
        if isinstance(self.prompt, list):
            self.all_prompts = self.prompt
        elif isinstance(self.negative_prompt, list):
            self.all_prompts = [self.prompt] * len(self.negative_prompt)
        else:
            self.all_prompts = self.batch_size * self.n_iter * [self.prompt]
        if isinstance(self.negative_prompt, list):
            self.all_negative_prompts = self.negative_prompt
        else:
            self.all_negative_prompts = [self.negative_prompt] * len(self.all_prompts)
        if len(self.all_prompts) != len(self.all_negative_prompts):
            raise RuntimeError(f"Received a different number of prompts ({len(self.all_prompts)}) and negative prompts ({len(self.all_negative_prompts)})")
        self.all_prompts = [shared.prompt_styles.apply_styles_to_prompt(x, self.styles) for x in self.all_prompts]
        self.all_negative_prompts = [shared.prompt_styles.apply_negative_styles_to_prompt(x, self.styles) for x in self.all_negative_prompts]
        self.main_prompt = self.all_prompts[0]
        self.main_negative_prompt = self.all_negative_prompts[0]

    def cached_params(self, required_prompts, steps, extra_network_data, hires_steps=None, use_old_scheduling=False):
        """What invalidates the cond cache (L440-458)."""
        return (required_prompts, steps, hires_steps, use_old_scheduling, opts.CLIP_stop_at_last_layers,
                shared.sd_model.sd_checkpoint_info, extra_network_data, opts.sdxl_crop_left, opts.sdxl_crop_top,
                self.width, self.height, opts.fp8_storage, opts.cache_fp16_weight, opts.emphasis)

    def get_conds_with_caching(self, function, required_prompts, steps, caches, extra_network_data, hires_steps=None):
        """Return a cached cond when the params match, else compute into ``caches[0]`` (L460-491)."""
        params = self.cached_params(required_prompts, steps, extra_network_data, hires_steps, opts.use_old_scheduling)
        for cache in caches:
            if cache[0] is not None and params == cache[0]:
                return cache[1]
        cache = caches[0]
        cache[1] = function(shared.sd_model, required_prompts, steps, hires_steps, opts.use_old_scheduling)
        cache[0] = params
        return cache[1]

    def setup_conds(self):
        prompts = prompt_parser.SdConditioning(self.prompts, width=self.width, height=self.height)
        negative_prompts = prompt_parser.SdConditioning(self.negative_prompts, width=self.width, height=self.height,
                                                        is_negative_prompt=True)
        sampler_config = sd_samplers.find_sampler_config(self.sampler_name)
        total_steps = sampler_config.total_steps(self.steps) if sampler_config else self.steps
        self.step_multiplier = total_steps // self.steps
        self.firstpass_steps = total_steps
        self.uc = self.get_conds_with_caching(prompt_parser.get_learned_conditioning, negative_prompts, total_steps,
                                              [self.cached_uc], self.extra_network_data)
        self.c = self.get_conds_with_caching(prompt_parser.get_multicond_learned_conditioning, prompts, total_steps,
                                             [self.cached_c], self.extra_network_data)

    def get_conds(self):
        return self.c, self.uc

    def parse_extra_network_prompts(self):
        self.prompts, self.extra_network_data = extra_networks.parse_prompts(self.prompts)

    def save_samples(self) -> bool:
        """``opts.samples_save and not do_not_save_samples and (save_incomplete or not interrupted/skipped)`` (L511-513)."""
        return opts.samples_save and not self.do_not_save_samples and (
            opts.save_incomplete_images or not state.interrupted and not state.skipped)


class Processed:
    def __init__(self, p: StableDiffusionProcessing, images_list, seed=-1, info="", subseed=None, all_prompts=None,
                 all_negative_prompts=None, all_seeds=None, all_subseeds=None, index_of_first_image=0, infotexts=None,
                 comments="", extra_images_list=None):
        self.images = images_list
        self.prompt = p.prompt
        self.negative_prompt = p.negative_prompt
        self.seed = seed
        self.subseed = subseed
        self.subseed_strength = p.subseed_strength
        self.info = info
        self.comments = "".join(f"{comment}\n" for comment in p.comments)
        self.width = p.width
        self.height = p.height
        self.sampler_name = p.sampler_name
        self.cfg_scale = p.cfg_scale
        self.image_cfg_scale = getattr(p, "image_cfg_scale", None)
        self.steps = p.steps
        self.batch_size = p.batch_size
        self.restore_faces = p.restore_faces
        self.face_restoration_model = opts.face_restoration_model if p.restore_faces else None
        self.sd_model_name = p.sd_model_name
        self.sd_model_hash = p.sd_model_hash
        self.sd_vae_name = p.sd_vae_name
        self.sd_vae_hash = p.sd_vae_hash
        self.seed_resize_from_w = p.seed_resize_from_w
        self.seed_resize_from_h = p.seed_resize_from_h
        self.denoising_strength = getattr(p, "denoising_strength", None)
        self.extra_generation_params = p.extra_generation_params
        self.index_of_first_image = index_of_first_image
        self.styles = p.styles
        self.job_timestamp = state.job_timestamp
        self.clip_skip = opts.CLIP_stop_at_last_layers
        self.token_merging_ratio = p.token_merging_ratio
        self.token_merging_ratio_hr = p.token_merging_ratio_hr
        self.eta = p.eta
        self.ddim_discretize = p.ddim_discretize
        self.s_churn = p.s_churn
        self.s_tmin = p.s_tmin
        self.s_tmax = p.s_tmax
        self.s_noise = p.s_noise
        self.s_min_uncond = p.s_min_uncond
        self.sampler_noise_scheduler_override = p.sampler_noise_scheduler_override
        self.prompt = self.prompt if not isinstance(self.prompt, list) else self.prompt[0]
        self.negative_prompt = self.negative_prompt if not isinstance(self.negative_prompt, list) else self.negative_prompt[0]
        self.seed = int(self.seed if not isinstance(self.seed, list) else self.seed[0]) if self.seed is not None else -1
        self.subseed = int(self.subseed if not isinstance(self.subseed, list) else self.subseed[0]) if self.subseed is not None else -1
        self.is_using_inpainting_conditioning = p.is_using_inpainting_conditioning
        self.all_prompts = all_prompts or p.all_prompts or [self.prompt]
        self.all_negative_prompts = all_negative_prompts or p.all_negative_prompts or [self.negative_prompt]
        self.all_seeds = all_seeds or p.all_seeds or [self.seed]
        self.all_subseeds = all_subseeds or p.all_subseeds or [self.subseed]
        self.infotexts = infotexts or [info] * len(images_list)
        self.version = program_version()
        if _FORGE:
            self.extra_images = extra_images_list or []

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
        return create_infotext(p, self.all_prompts, self.all_seeds, self.all_subseeds, comments=[],
                               position_in_batch=index % self.batch_size, iteration=index // self.batch_size)

    def get_token_merging_ratio(self, for_hr=False):
        return self.token_merging_ratio_hr if for_hr else self.token_merging_ratio


def create_random_tensors(shape, seeds, subseeds=None, subseed_strength=0.0, seed_resize_from_h=0, seed_resize_from_w=0, p=None):
    return rng.ImageRNG(shape, seeds, subseeds=subseeds, subseed_strength=subseed_strength).next()


def get_fixed_seed(seed):
    """''/None -> -1; bad str -> -1; -1 -> random.randrange(4294967294) (L675-687)."""
    if seed == "" or seed is None:
        seed = -1
    elif isinstance(seed, str):
        try:
            seed = int(seed)
        except Exception:
            seed = -1
    if seed == -1:
        return int(random.randrange(4294967294))
    return seed


def fix_seed(p):
    p.seed = get_fixed_seed(p.seed)
    p.subseed = get_fixed_seed(p.subseed)


def program_version():
    import launch

    res = launch.git_tag()
    return None if res == "<none>" else res


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
        index = position_in_batch + iteration * p.batch_size
    if all_negative_prompts is None:
        all_negative_prompts = p.all_negative_prompts
    clip_skip = getattr(p, "clip_skip", opts.CLIP_stop_at_last_layers)
    if _FORGE:
        clip_skip = int(clip_skip)
    enable_hr = getattr(p, "enable_hr", False)
    token_merging_ratio = p.get_token_merging_ratio()
    token_merging_ratio_hr = p.get_token_merging_ratio(for_hr=True)
    prompt_text = p.main_prompt if use_main_prompt else all_prompts[index]
    negative_prompt = p.main_negative_prompt if use_main_prompt else all_negative_prompts[index]
    from modules import sd_samplers_common

    uses_ensd = opts.eta_noise_seed_delta != 0 and sd_samplers_common.is_sampler_using_eta_noise_seed_delta(p)

    generation_params: dict[str, Any] = {
        "Steps": p.steps, "Sampler": p.sampler_name, "Schedule type": p.scheduler, "CFG scale": p.cfg_scale,
    }
    if _FORGE and getattr(p, "firstpass_use_distilled_cfg_scale", p.sd_model.use_distilled_cfg_scale):
        generation_params["Distilled CFG Scale"] = p.distilled_cfg_scale
    generation_params.update({
        "Image CFG scale": getattr(p, "image_cfg_scale", None),
        "Seed": p.all_seeds[0] if use_main_prompt else all_seeds[index],
        "Face restoration": opts.face_restoration_model if p.restore_faces else None,
        "Size": f"{p.width}x{p.height}",
        "Model hash": p.sd_model_hash if opts.add_model_hash_to_info else None,
        "Model": p.sd_model_name if opts.add_model_name_to_info else None,
        "FP8 weight": opts.fp8_storage if devices.fp8 else None,
        "Cache FP16 weight for LoRA": opts.cache_fp16_weight if devices.fp8 else None,
    })
    if not _FORGE:
        generation_params["VAE hash"] = p.sd_vae_hash if opts.add_vae_hash_to_info else None
        generation_params["VAE"] = p.sd_vae_name if opts.add_vae_name_to_info else None
    generation_params.update({
        "Variation seed": (None if p.subseed_strength == 0 else (p.all_subseeds[0] if use_main_prompt else all_subseeds[index])),
        "Variation seed strength": (None if p.subseed_strength == 0 else p.subseed_strength),
        "Seed resize from": (None if p.seed_resize_from_w <= 0 or p.seed_resize_from_h <= 0 else f"{p.seed_resize_from_w}x{p.seed_resize_from_h}"),
        "Denoising strength": p.extra_generation_params.get("Denoising strength"),
        "Conditional mask weight": getattr(p, "inpainting_mask_weight", opts.inpainting_mask_weight) if p.is_using_inpainting_conditioning else None,
        "Clip skip": None if clip_skip <= 1 else clip_skip,
        "ENSD": opts.eta_noise_seed_delta if uses_ensd else None,
        "Token merging ratio": None if token_merging_ratio == 0 else token_merging_ratio,
        "Token merging ratio hr": None if not enable_hr or token_merging_ratio_hr == 0 else token_merging_ratio_hr,
        "Init image hash": getattr(p, "init_img_hash", None),
        "RNG": opts.randn_source if opts.randn_source != "GPU" else None,
        "Tiling": "True" if p.tiling else None,
        **p.extra_generation_params,
        "Version": program_version() if opts.add_version_to_infotext else None,
        "User": p.user if opts.add_user_name_to_info else None,
    })
    if _FORGE:
        if opts.forge_unet_storage_dtype != "Automatic":
            generation_params["Diffusion in Low Bits"] = opts.forge_unet_storage_dtype
        if isinstance(opts.forge_additional_modules, list):
            for i, m in enumerate(opts.forge_additional_modules):
                generation_params[f"Module {i + 1}"] = os.path.splitext(os.path.basename(m))[0]

    local_vars = {
        "p": p, "all_prompts": all_prompts, "all_seeds": all_seeds, "all_subseeds": all_subseeds, "comments": comments,
        "iteration": iteration, "position_in_batch": position_in_batch, "use_main_prompt": use_main_prompt,
        "index": index, "all_negative_prompts": all_negative_prompts, "clip_skip": clip_skip, "enable_hr": enable_hr,
        "token_merging_ratio": token_merging_ratio, "token_merging_ratio_hr": token_merging_ratio_hr,
        "prompt_text": prompt_text, "negative_prompt": negative_prompt, "uses_ensd": uses_ensd,
        "generation_params": generation_params,
    }
    for key, value in generation_params.items():
        try:
            if isinstance(value, list):
                generation_params[key] = value[index]
            elif callable(value):
                generation_params[key] = value(**{**local_vars, "key": key, "value": value})
        except Exception:
            errors.report(f'Error creating infotext for key "{key}"', exc_info=True)
            generation_params[key] = None

    generation_params_text = ", ".join(
        [k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in generation_params.items() if v is not None])
    negative_prompt_text = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt_text}{negative_prompt_text}\n{generation_params_text}".strip()


def process_images(p: StableDiffusionProcessing) -> Processed:
    double = _double()
    double.counters.process_images += 1
    double.depth += 1
    double.record_event("process_images:start", p)
    try:
        if p.scripts is not None:
            p.scripts.before_process(p)
        stored_opts = {k: opts.data[k] if k in opts.data else opts.get_default(k)
                       for k in p.override_settings.keys() if k in opts.data}
        try:
            if sd_models.checkpoint_aliases.get(p.override_settings.get("sd_model_checkpoint")) is None:
                p.override_settings.pop("sd_model_checkpoint", None)
                if not _FORGE:
                    sd_models.reload_model_weights()
            for k, v in p.override_settings.items():
                opts.set(k, v, is_api=True, run_callbacks=False)
                if k == "sd_model_checkpoint" and not _FORGE:
                    sd_models.reload_model_weights()
                if k == "sd_vae":
                    sd_vae.reload_vae_weights()
            if _FORGE:
                if not getattr(p, "txt2img_upscale", False):
                    sd_models.forge_model_reload()
            else:
                sd_models.apply_token_merging(p.sd_model, p.get_token_merging_ratio())
            sd_samplers.fix_p_invalid_sampler_and_scheduler(p)
            res = process_images_inner(p)
        finally:
            if not _FORGE:
                sd_models.apply_token_merging(p.sd_model, 0)
            if p.override_settings_restore_afterwards:
                for k, v in stored_opts.items():
                    setattr(opts, k, v)
                    if k == "sd_vae":
                        sd_vae.reload_vae_weights()
        return res
    finally:
        double.depth -= 1
        double.record_event("process_images:end", p)


def process_images_inner(p: StableDiffusionProcessing) -> Processed:
    """The main loop shared by txt2img and img2img (L863-1150)."""
    if isinstance(p.prompt, list):
        assert len(p.prompt) > 0
    else:
        assert p.prompt is not None
    devices.torch_gc()
    seed = get_fixed_seed(p.seed)
    subseed = get_fixed_seed(p.subseed)
    if p.restore_faces is None:
        p.restore_faces = opts.face_restoration
    if p.tiling is None:
        p.tiling = opts.tiling
    if p.refiner_checkpoint not in (None, "", "None", "none"):
        p.refiner_checkpoint_info = sd_models.get_closet_checkpoint_match(p.refiner_checkpoint)
        if p.refiner_checkpoint_info is None:
            raise Exception(f"Could not find checkpoint with name {p.refiner_checkpoint}")
    p.sd_model_name = shared.sd_model.sd_checkpoint_info.name_for_extra
    p.sd_model_hash = shared.sd_model.sd_model_hash
    p.sd_vae_name = sd_vae.get_loaded_vae_name()
    p.sd_vae_hash = sd_vae.get_loaded_vae_hash()
    p.sd_model.comments = []  # A1111: model_hijack.clear_comments() (L896)
    if _FORGE:
        p.sd_model.extra_generation_params = {}
    p.fill_fields_from_opts()
    p.setup_prompts()
    if isinstance(seed, list):
        p.all_seeds = seed
    else:
        p.all_seeds = [int(seed) + (x if p.subseed_strength == 0 else 0) for x in range(len(p.all_prompts))]
    if isinstance(subseed, list):
        p.all_subseeds = subseed
    else:
        p.all_subseeds = [int(subseed) + x for x in range(len(p.all_prompts))]
    if p.scripts is not None:
        p.scripts.process(p)

    double = _double()
    infotexts: list[str] = []
    output_images: list[Image.Image] = []
    p.init(p.all_prompts, p.all_seeds, p.all_subseeds)
    double.record_event("init", p)
    if state.job_count == -1:
        state.job_count = p.n_iter

    infotext = None
    for n in range(p.n_iter):
        p.iteration = n
        if state.skipped:
            state.skipped = False
        if state.interrupted or state.stopping_generation:
            break
        if _FORGE:
            sd_models.forge_model_reload()
            p.sd_model.forge_objects = p.sd_model.forge_objects_original.shallow_copy()
        else:
            sd_models.reload_model_weights()
        p.prompts = p.all_prompts[n * p.batch_size:(n + 1) * p.batch_size]
        p.negative_prompts = p.all_negative_prompts[n * p.batch_size:(n + 1) * p.batch_size]
        p.seeds = p.all_seeds[n * p.batch_size:(n + 1) * p.batch_size]
        p.subseeds = p.all_subseeds[n * p.batch_size:(n + 1) * p.batch_size]
        p.rng = rng.ImageRNG((p.height // opt_f * opt_f, p.width // opt_f * opt_f, 3), p.seeds, subseeds=p.subseeds,
                             subseed_strength=p.subseed_strength, seed_resize_from_h=p.seed_resize_from_h,
                             seed_resize_from_w=p.seed_resize_from_w)
        if p.scripts is not None:
            p.scripts.before_process_batch(p, batch_number=n, prompts=p.prompts, seeds=p.seeds, subseeds=p.subseeds)
        if len(p.prompts) == 0:
            break
        p.parse_extra_network_prompts()
        if not p.disable_extra_networks:
            extra_networks.activate(p, p.extra_network_data)
        if _FORGE:
            p.sd_model.forge_objects = p.sd_model.forge_objects_after_applying_lora.shallow_copy()
        if p.scripts is not None:
            p.scripts.process_batch(p, batch_number=n, prompts=p.prompts, seeds=p.seeds, subseeds=p.subseeds)
        p.setup_conds()
        if _FORGE:
            p.extra_generation_params.update(p.sd_model.extra_generation_params)
        if n == 0 and not cmd_opts.no_prompt_history:  # params.txt (L974-977)
            with open(os.path.join(paths.data_path, "params.txt"), "w", encoding="utf8") as file:
                file.write(Processed(p, []).infotext(p, 0))
        for comment in p.sd_model.comments:
            p.comment(comment)
        if p.n_iter > 1:
            shared.state.job = f"Batch {n + 1} out of {p.n_iter}"

        samples_ddim = p.sample(conditioning=p.c, unconditional_conditioning=p.uc, seeds=p.seeds, subseeds=p.subseeds,
                                subseed_strength=p.subseed_strength, prompts=p.prompts)
        if _FORGE:
            p.latents_after_sampling.extend(list(samples_ddim))
        if p.scripts is not None:
            ps = scripts.PostSampleArgs(samples_ddim)
            p.scripts.post_sample(p, ps)
            samples_ddim = ps.samples
        if getattr(samples_ddim, "already_decoded", False):
            x_samples_ddim = samples_ddim
        else:
            if opts.sd_vae_decode_method != "Full":
                p.extra_generation_params["VAE Decoder"] = opts.sd_vae_decode_method
            x_samples_ddim = decode_latent_batch(p.sd_model, samples_ddim, target_device=devices.cpu, check_for_nans=True)
        x_samples_ddim = np.stack([_to_numpy(x) for x in x_samples_ddim]).astype(np.float32)
        x_samples_ddim = np.clip((x_samples_ddim + 1.0) / 2.0, 0.0, 1.0)
        del samples_ddim
        devices.torch_gc()
        state.nextjob()

        if p.scripts is not None:
            p.scripts.postprocess_batch(p, x_samples_ddim, batch_number=n)
            p.prompts = p.all_prompts[n * p.batch_size:(n + 1) * p.batch_size]
            p.negative_prompts = p.all_negative_prompts[n * p.batch_size:(n + 1) * p.batch_size]
            batch_params = scripts.PostprocessBatchListArgs(list(x_samples_ddim))
            p.scripts.postprocess_batch_list(p, batch_params, batch_number=n)
            x_samples_ddim = batch_params.images

        def infotext(index=0, use_main_prompt=False):  # noqa: F811
            return create_infotext(p, p.prompts, p.seeds, p.subseeds, use_main_prompt=use_main_prompt, index=index,
                                   all_negative_prompts=p.negative_prompts)

        save_samples = p.save_samples()
        for i, x_sample in enumerate(x_samples_ddim):
            p.batch_index = i
            x_sample = (255.0 * np.moveaxis(_to_numpy(x_sample), 0, 2)).astype(np.uint8)
            if p.restore_faces:
                if save_samples and opts.save_images_before_face_restoration:
                    images.save_image(Image.fromarray(x_sample), p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                      opts.samples_format, info=infotext(i), p=p, suffix="-before-face-restoration")
                from modules import face_restoration

                x_sample = face_restoration.restore_faces(x_sample)
            image = Image.fromarray(x_sample)
            if p.scripts is not None:
                pp = scripts.PostprocessImageArgs(image, i + p.iteration * p.batch_size) if _FORGE else scripts.PostprocessImageArgs(image)
                p.scripts.postprocess_image(p, pp)
                image = pp.image
            mask_for_overlay = getattr(p, "mask_for_overlay", None)
            if not opts.overlay_inpaint:
                overlay_image = None
            elif getattr(p, "overlay_images", None) is not None and i < len(p.overlay_images):
                overlay_image = p.overlay_images[i]
            else:
                overlay_image = None
            if p.scripts is not None:
                ppmo = scripts.PostProcessMaskOverlayArgs(i, mask_for_overlay, overlay_image)
                p.scripts.postprocess_maskoverlay(p, ppmo)
                mask_for_overlay, overlay_image = ppmo.mask_for_overlay, ppmo.overlay_image
            if p.color_corrections is not None and i < len(p.color_corrections):
                if save_samples and opts.save_images_before_color_correction:
                    image_without_cc, _ = apply_overlay(image, p.paste_to, overlay_image)
                    images.save_image(image_without_cc, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                      opts.samples_format, info=infotext(i), p=p, suffix="-before-color-correction")
                image = apply_color_correction(p.color_corrections[i], image)
            image, original_denoised_image = apply_overlay(image, p.paste_to, overlay_image)
            if _FORGE:
                p.pixels_after_sampling.append(image)
            if p.scripts is not None:
                pp = scripts.PostprocessImageArgs(image, i + p.iteration * p.batch_size) if _FORGE else scripts.PostprocessImageArgs(image)
                p.scripts.postprocess_image_after_composite(p, pp)
                image = pp.image
            if save_samples:
                images.save_image(image, p.outpath_samples, "", p.seeds[i], p.prompts[i], opts.samples_format,
                                  info=infotext(i), p=p)
            text = infotext(i)
            infotexts.append(text)
            if opts.enable_pnginfo:
                image.info["parameters"] = text
            output_images.append(image)
            if mask_for_overlay is not None:
                if opts.return_mask or opts.save_mask:
                    image_mask = mask_for_overlay.convert("RGB")
                    if save_samples and opts.save_mask:
                        images.save_image(image_mask, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                          opts.samples_format, info=infotext(i), p=p, suffix="-mask")
                    if opts.return_mask:
                        output_images.append(image_mask)
                if opts.return_mask_composite or opts.save_mask_composite:
                    image_mask_composite = Image.composite(
                        original_denoised_image.convert("RGBA").convert("RGBa"), Image.new("RGBa", image.size),
                        images.resize_image(2, mask_for_overlay, image.width, image.height).convert("L")).convert("RGBA")
                    if save_samples and opts.save_mask_composite:
                        images.save_image(image_mask_composite, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                          opts.samples_format, info=infotext(i), p=p, suffix="-mask-composite")
                    if opts.return_mask_composite:
                        output_images.append(image_mask_composite)
        del x_samples_ddim
        devices.torch_gc()

    if not infotexts:
        infotexts.append(Processed(p, []).infotext(p, 0))
    p.color_corrections = None
    index_of_first_image = 0
    unwanted_grid_because_of_img_count = len(output_images) < 2 and opts.grid_only_if_multiple
    if (opts.return_grid or opts.grid_save) and not p.do_not_save_grid and not unwanted_grid_because_of_img_count:
        grid = images.image_grid(output_images, p.batch_size)
        if opts.return_grid:
            text = infotext(use_main_prompt=True)
            infotexts.insert(0, text)
            if opts.enable_pnginfo:
                grid.info["parameters"] = text
            output_images.insert(0, grid)
            index_of_first_image = 1
        if opts.grid_save:
            images.save_image(grid, p.outpath_grids, "grid", p.all_seeds[0], p.all_prompts[0], opts.grid_format,
                              info=infotext(use_main_prompt=True), short_filename=not opts.grid_extended_filename,
                              p=p, grid=True)
    if not p.disable_extra_networks and p.extra_network_data:
        extra_networks.deactivate(p, p.extra_network_data)
    devices.torch_gc()
    kwargs = {"extra_images_list": p.extra_result_images} if _FORGE else {}
    res = Processed(p, images_list=output_images, seed=p.all_seeds[0], info=infotexts[0], subseed=p.all_subseeds[0],
                    index_of_first_image=index_of_first_image, infotexts=infotexts, **kwargs)
    if p.scripts is not None:
        p.scripts.postprocess(p, res)
    return res


def old_hires_fix_first_pass_dimensions(width, height):
    import math

    scale = math.sqrt(512 * 512 / (width * height))
    return math.ceil(scale * width / 64) * 64, math.ceil(scale * height / 64) * 64


@dataclass(repr=False)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    enable_hr: bool = False
    denoising_strength: float = 0.75
    firstphase_width: int = 0
    firstphase_height: int = 0
    hr_scale: float = 2.0
    hr_upscaler: str = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: str = None
    hr_sampler_name: str = None
    hr_scheduler: str = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""
    force_task_id: str = None
    if _FORGE:
        hr_additional_modules: list = None
        hr_cfg: float = 1.0
        hr_distilled_cfg: float = 3.5

    cached_hr_uc = [None, None]
    cached_hr_c = [None, None]

    hr_checkpoint_info: dict = field(default=None, init=False)
    hr_upscale_to_x: int = field(default=0, init=False)
    hr_upscale_to_y: int = field(default=0, init=False)
    truncate_x: int = field(default=0, init=False)
    truncate_y: int = field(default=0, init=False)
    applied_old_hires_behavior_to: tuple = field(default=None, init=False)
    latent_scale_mode: dict = field(default=None, init=False)
    hr_c: tuple = field(default=None, init=False)
    hr_uc: tuple = field(default=None, init=False)
    all_hr_prompts: list = field(default=None, init=False)
    all_hr_negative_prompts: list = field(default=None, init=False)
    hr_prompts: list = field(default=None, init=False)
    hr_negative_prompts: list = field(default=None, init=False)
    hr_extra_network_data: list = field(default=None, init=False)

    def __post_init__(self):
        super().__post_init__()
        if self.firstphase_width != 0 or self.firstphase_height != 0:
            self.hr_upscale_to_x = self.width
            self.hr_upscale_to_y = self.height
            self.width = self.firstphase_width
            self.height = self.firstphase_height
        self.cached_hr_uc = StableDiffusionProcessingTxt2Img.cached_hr_uc
        self.cached_hr_c = StableDiffusionProcessingTxt2Img.cached_hr_c

    def calculate_target_resolution(self):
        if self.hr_resize_x == 0 and self.hr_resize_y == 0:
            self.extra_generation_params["Hires upscale"] = self.hr_scale
            self.hr_upscale_to_x = int(self.width * self.hr_scale)
            self.hr_upscale_to_y = int(self.height * self.hr_scale)
            return
        self.extra_generation_params["Hires resize"] = f"{self.hr_resize_x}x{self.hr_resize_y}"
        if self.hr_resize_y == 0:
            self.hr_upscale_to_x = self.hr_resize_x
            self.hr_upscale_to_y = self.hr_resize_x * self.height // self.width
        elif self.hr_resize_x == 0:
            self.hr_upscale_to_x = self.hr_resize_y * self.width // self.height
            self.hr_upscale_to_y = self.hr_resize_y
        else:
            self.hr_upscale_to_x = self.hr_resize_x
            self.hr_upscale_to_y = self.hr_resize_y

    def init(self, all_prompts, all_seeds, all_subseeds):
        if not self.enable_hr:
            return
        self.extra_generation_params["Denoising strength"] = self.denoising_strength
        if self.hr_sampler_name is not None and self.hr_sampler_name != self.sampler_name:
            self.extra_generation_params["Hires sampler"] = self.hr_sampler_name
        if self.hr_scheduler is None:
            self.hr_scheduler = self.scheduler
        if self.hr_upscaler is not None and self.hr_upscaler not in shared.latent_upscale_modes and \
                not any(x.name == self.hr_upscaler for x in shared.sd_upscalers):
            raise Exception(f"could not find upscaler named {self.hr_upscaler}")
        self.calculate_target_resolution()
        if not state.processing_has_refined_job_count:
            if state.job_count == -1:
                state.job_count = self.n_iter
            shared.total_tqdm.updateTotal((self.steps + (self.hr_second_pass_steps or self.steps)) * state.job_count)
            state.job_count = state.job_count * 2
            state.processing_has_refined_job_count = True
        if self.hr_second_pass_steps:
            self.extra_generation_params["Hires steps"] = self.hr_second_pass_steps
        if self.hr_upscaler is not None:
            self.extra_generation_params["Hires upscaler"] = self.hr_upscaler
        self.all_hr_prompts = [self.hr_prompt or x for x in all_prompts]
        self.all_hr_negative_prompts = [self.hr_negative_prompt or x for x in self.all_negative_prompts]

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        self.sampler = sd_samplers.create_sampler(self.sampler_name, self.sd_model)
        x = self.rng.next()
        if self.scripts is not None:
            self.scripts.process_before_every_sampling(p=self, x=x, noise=x, c=conditioning, uc=unconditional_conditioning)
        if _FORGE and self.modified_noise is not None:
            x = self.modified_noise
            self.modified_noise = None
        samples = self.sampler.sample(self, x, conditioning, unconditional_conditioning,
                                      image_conditioning=self.txt2img_image_conditioning(x))
        if not self.enable_hr:
            return samples
        decoded = decode_latent_batch(self.sd_model, samples)
        return self.sample_hr_pass(samples, decoded, seeds, subseeds, subseed_strength, prompts)

    def sample_hr_pass(self, samples, decoded_samples, seeds, subseeds, subseed_strength, prompts):
        """Simplified hires pass: pixel upscale, ``before_hr``, ``process_before_every_sampling``
        (Forge: twice, Forge processing.py L1508-1527), an img2img pass of exactly
        ``hr_second_pass_steps or steps`` steps (L1364-1466)."""
        if shared.state.interrupted:
            return samples
        self.is_hr_pass = True
        self.sampler = sd_samplers.create_sampler(self.hr_sampler_name or self.sampler_name, self.sd_model)
        batch = []
        for x_sample in decoded_samples:
            arr = (255.0 * np.clip((np.moveaxis(x_sample, 0, 2) + 1.0) / 2.0, 0, 1)).astype(np.uint8)
            image = images.resize_image(0, Image.fromarray(arr), self.hr_upscale_to_x, self.hr_upscale_to_y,
                                        upscaler_name=None if self.hr_upscaler in shared.latent_upscale_modes else self.hr_upscaler)
            batch.append(np.asarray(image, dtype=np.float32) / 255.0)
        latents = encode_images(np.stack(batch))
        shared.state.nextjob()
        self.rng = rng.ImageRNG(latents.shape[1:], self.seeds, subseeds=self.subseeds, subseed_strength=self.subseed_strength)
        noise = self.rng.next()
        if not self.disable_extra_networks:
            extra_networks.activate(self, self.hr_extra_network_data)
        self.calculate_hr_conds()
        if self.scripts is not None:
            self.scripts.before_hr(self)
            self.scripts.process_before_every_sampling(p=self, x=latents, noise=noise, c=self.hr_c, uc=self.hr_uc)
            if _FORGE:
                self.scripts.process_before_every_sampling(p=self, x=latents, noise=noise, c=self.hr_c, uc=self.hr_uc)
        samples = self.sampler.sample_img2img(self, latents, noise, self.hr_c, self.hr_uc,
                                              steps=self.hr_second_pass_steps or self.steps)
        self.sampler = None
        decoded = decode_latent_batch(self.sd_model, samples)
        self.is_hr_pass = False
        return decoded

    def calculate_hr_conds(self):
        hr_prompts = prompt_parser.SdConditioning(
            (self.all_hr_prompts or self.prompts)[self.iteration * self.batch_size:(self.iteration + 1) * self.batch_size],
            width=self.hr_upscale_to_x, height=self.hr_upscale_to_y)
        hr_negative = prompt_parser.SdConditioning(
            (self.all_hr_negative_prompts or self.negative_prompts)[self.iteration * self.batch_size:(self.iteration + 1) * self.batch_size],
            width=self.hr_upscale_to_x, height=self.hr_upscale_to_y, is_negative_prompt=True)
        steps = self.hr_second_pass_steps or self.steps
        self.hr_uc = self.get_conds_with_caching(prompt_parser.get_learned_conditioning, hr_negative, steps,
                                                 [self.cached_hr_uc, self.cached_uc], self.hr_extra_network_data)
        self.hr_c = self.get_conds_with_caching(prompt_parser.get_multicond_learned_conditioning, hr_prompts, steps,
                                                [self.cached_hr_c, self.cached_c], self.hr_extra_network_data)

    def close(self):
        super().close()
        self.hr_c = None
        self.hr_uc = None
        if not opts.persistent_cond_cache:
            StableDiffusionProcessingTxt2Img.cached_hr_uc = [None, None]
            StableDiffusionProcessingTxt2Img.cached_hr_c = [None, None]


@dataclass(repr=False)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    init_images: list = None
    resize_mode: int = 0
    denoising_strength: float = 0.75
    image_cfg_scale: float = None
    mask: Any = None
    mask_blur_x: int = 4
    mask_blur_y: int = 4
    mask_blur: int = None
    mask_round: bool = True
    inpainting_fill: int = 0
    inpaint_full_res: bool = True
    inpaint_full_res_padding: int = 0
    inpainting_mask_invert: int = 0
    initial_noise_multiplier: float = None
    latent_mask: Image.Image = None
    force_task_id: str = None
    if _FORGE:
        hr_distilled_cfg: float = 3.5

    image_mask: Any = field(default=None, init=False)
    nmask: Any = field(default=None, init=False)
    image_conditioning: Any = field(default=None, init=False)
    init_img_hash: str = field(default=None, init=False)
    mask_for_overlay: Image.Image = field(default=None, init=False)
    init_latent: Any = field(default=None, init=False)

    def __post_init__(self):
        super().__post_init__()
        self.image_mask = self.mask
        self.mask = None
        self.initial_noise_multiplier = opts.initial_noise_multiplier if self.initial_noise_multiplier is None else self.initial_noise_multiplier

    @property
    def mask_blur(self):  # noqa: F811 - property over the dataclass field, as in the WebUI
        if self.mask_blur_x == self.mask_blur_y:
            return self.mask_blur_x
        return None

    @mask_blur.setter
    def mask_blur(self, value):
        if isinstance(value, int):
            self.mask_blur_x = value
            self.mask_blur_y = value

    def init(self, all_prompts, all_seeds, all_subseeds):
        self.extra_generation_params["Denoising strength"] = self.denoising_strength
        self.image_cfg_scale = None if _FORGE or shared.sd_model.cond_stage_key != "edit" else self.image_cfg_scale
        self.sampler = sd_samplers.create_sampler(self.sampler_name, self.sd_model)
        crop_region = None
        image_mask = self.image_mask
        if image_mask is not None:
            image_mask = create_binary_mask(image_mask, round=self.mask_round)
            if self.inpainting_mask_invert:
                image_mask = ImageOps.invert(image_mask)
                self.extra_generation_params["Mask mode"] = "Inpaint not masked"
            if self.mask_blur_x > 0:
                image_mask = Image.fromarray(masking.gaussian_blur_axis(np.array(image_mask), self.mask_blur_x, axis=1))
            if self.mask_blur_y > 0:
                image_mask = Image.fromarray(masking.gaussian_blur_axis(np.array(image_mask), self.mask_blur_y, axis=0))
            if self.mask_blur_x > 0 or self.mask_blur_y > 0:
                self.extra_generation_params["Mask blur"] = self.mask_blur
            if self.inpaint_full_res:
                self.mask_for_overlay = image_mask
                mask = image_mask.convert("L")
                crop_region = masking.get_crop_region_v2(mask, self.inpaint_full_res_padding)
                if crop_region:
                    crop_region = masking.expand_crop_region(crop_region, self.width, self.height, mask.width, mask.height)
                    x1, y1, x2, y2 = crop_region
                    mask = mask.crop(crop_region)
                    image_mask = images.resize_image(2, mask, self.width, self.height)
                    self.paste_to = (x1, y1, x2 - x1, y2 - y1)
                    self.extra_generation_params["Inpaint area"] = "Only masked"
                    self.extra_generation_params["Masked area padding"] = self.inpaint_full_res_padding
                else:
                    crop_region = None
                    image_mask = None
                    self.mask_for_overlay = None
                    self.inpaint_full_res = False
                    message = 'Unable to perform "Inpaint Only mask" because mask is blank, switch to img2img mode.'
                    self.sd_model.comments.append(message)  # A1111: model_hijack.comments (same effect)
                    logging.info(message)
            else:
                image_mask = images.resize_image(self.resize_mode, image_mask, self.width, self.height)
                np_mask = np.clip(np.array(image_mask).astype(np.float32) * 2, 0, 255).astype(np.uint8)
                self.mask_for_overlay = Image.fromarray(np_mask)
            self.overlay_images = []

        latent_mask = self.latent_mask if self.latent_mask is not None else image_mask
        if _FORGE and self.scripts is not None:
            self.scripts.before_process_init_images(self, dict(crop_region=crop_region, image_mask=image_mask))
        add_color_corrections = opts.img2img_color_correction and self.color_corrections is None
        if add_color_corrections:
            self.color_corrections = []
        imgs = []
        for img in self.init_images:
            if opts.save_init_img:
                self.init_img_hash = hashlib.md5(img.tobytes()).hexdigest()
                images.save_image(img, path=opts.outdir_init_images, basename=None, forced_filename=self.init_img_hash,
                                  save_to_dirs=False, existing_info=img.info)
            image = images.flatten(img, opts.img2img_background_color)
            if crop_region is None and self.resize_mode != 3:
                image = images.resize_image(self.resize_mode, image, self.width, self.height)
            if image_mask is not None:
                if self.mask_for_overlay.size != (image.width, image.height):
                    self.mask_for_overlay = images.resize_image(self.resize_mode, self.mask_for_overlay, image.width, image.height)
                image_masked = Image.new("RGBa", (image.width, image.height))
                image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(self.mask_for_overlay.convert("L")))
                self.overlay_images.append(image_masked.convert("RGBA"))
            if crop_region is not None:
                image = image.crop(crop_region)
                image = images.resize_image(2, image, self.width, self.height)
            if image_mask is not None and self.inpainting_fill != 1:
                image = masking.fill(image, latent_mask)
                if self.inpainting_fill == 0:
                    self.extra_generation_params["Masked content"] = "fill"
            if add_color_corrections:
                self.color_corrections.append(setup_color_correction(image))
            if self.resize_mode == 3:
                image = image.resize((self.width, self.height), Image.Resampling.BILINEAR)
            imgs.append(np.asarray(image, dtype=np.float32) / 255.0)

        if len(imgs) == 1:
            batch_images = np.repeat(imgs[0][None], self.batch_size, axis=0)
            if self.overlay_images is not None:
                self.overlay_images = self.overlay_images * self.batch_size
            if self.color_corrections is not None and len(self.color_corrections) == 1:
                self.color_corrections = self.color_corrections * self.batch_size
        elif len(imgs) <= self.batch_size:
            self.batch_size = len(imgs)
            batch_images = np.array(imgs)
        else:
            raise RuntimeError(f"bad number of images passed: {len(imgs)}; expecting {self.batch_size} or less")

        if opts.sd_vae_encode_method != "Full":
            self.extra_generation_params["VAE Encoder"] = opts.sd_vae_encode_method
        self.init_latent = encode_images(batch_images)
        if image_mask is not None:
            h, w = self.init_latent.shape[1], self.init_latent.shape[2]
            latmask = latent_mask.convert("RGB").resize((w // opt_f, h // opt_f))
            latmask = np.array(latmask, dtype=np.float32)[:, :, 0] / 255
            if self.mask_round:
                latmask = np.around(latmask)
            latmask = np.repeat(np.repeat(latmask, opt_f, axis=0), opt_f, axis=1)[:h, :w, None]
            self.mask = (1.0 - latmask).astype(np.float32)
            self.nmask = latmask.astype(np.float32)
            if self.inpainting_fill == 2:
                noise = rng.ImageRNG(self.init_latent.shape[1:], all_seeds[0:self.init_latent.shape[0]]).next()
                self.init_latent = self.init_latent * self.mask + np.clip(0.5 + 0.25 * noise, 0, 1) * self.nmask
                self.extra_generation_params["Masked content"] = "latent noise"
            elif self.inpainting_fill == 3:
                self.init_latent = self.init_latent * self.mask
                self.extra_generation_params["Masked content"] = "latent nothing"
        self.image_conditioning = self.img2img_image_conditioning(batch_images, self.init_latent, image_mask, self.mask_round)

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        x = self.rng.next()
        if self.initial_noise_multiplier != 1.0:
            self.extra_generation_params["Noise multiplier"] = self.initial_noise_multiplier
            x *= self.initial_noise_multiplier
        if _FORGE:
            self.sd_model.forge_objects = self.sd_model.forge_objects_after_applying_lora.shallow_copy()
        if self.scripts is not None:
            self.scripts.process_before_every_sampling(p=self, x=self.init_latent, noise=x, c=conditioning,
                                                       uc=unconditional_conditioning)
        if _FORGE and self.modified_noise is not None:
            x = self.modified_noise
            self.modified_noise = None
        samples = self.sampler.sample_img2img(self, self.init_latent, x, conditioning, unconditional_conditioning,
                                              image_conditioning=self.image_conditioning)
        if self.mask is not None:
            blended_samples = samples * self.nmask + self.init_latent * self.mask
            if self.scripts is not None:
                mba = scripts.MaskBlendArgs(samples, self.nmask, self.init_latent, self.mask, blended_samples)
                self.scripts.on_mask_blend(self, mba)
                blended_samples = mba.blended_latent
            samples = blended_samples
        del x
        devices.torch_gc()
        return samples

    def get_token_merging_ratio(self, for_hr=False):
        return self.token_merging_ratio or ("token_merging_ratio" in self.override_settings and opts.token_merging_ratio) or opts.token_merging_ratio_img2img or opts.token_merging_ratio
