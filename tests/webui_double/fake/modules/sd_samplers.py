"""``modules.sd_samplers`` with a deterministic numpy "sampler" standing in for the diffusion model.

Names, aliases and per-sampler default schedulers are the real table (A1111 v1.10.1
sd_samplers_kdiffusion.py L12-26, sd_samplers_timesteps.py L12-15, LCM). ``create_sampler`` asserts
on unknown names (sd_samplers.py L33-45); ``get_sampler_and_scheduler`` /
``fix_p_invalid_sampler_and_scheduler`` autocorrect like L99-129 (and log the same warning).

The sampler (``DoubleSampler``): latents are pixel-space float arrays ``(B, H//8*8, W//8*8, 3)``
in 0..1. Each image gets a target picture ``T`` (8x8-pixel blocks) seeded from its prompt, negative
prompt, seed, variation seed, steps, CFG, sampler, scheduler and size. After step ``k`` of ``n``
the latent is ``x0 + (T - x0) * strength * k / n`` (strength = denoising strength for img2img,
1 for txt2img), so prompt/seed/steps/denoise mistakes change the pixels. With an inpaint mask the
latent is re-blended every step as ``x * p.nmask + x0 * p.mask`` with an ``on_mask_blend`` call
(sd_samplers_cfg_denoiser.py ``apply_blend``, L173-183), so only masked (white) areas change; the
``cfg_denoiser``/``cfg_after_cfg`` script callbacks run once per step. The step count follows ``setup_img2img_steps`` (``t_enc + 1``
steps). Before each step it checks ``state.interrupted or state.skipped`` and stops, returning the
last latent, like ``CFGDenoiser.forward`` raising ``InterruptedException`` (cfg_denoiser.py L157)
caught in ``launch_sampling`` (sd_samplers_common.py L280); after each step it sets
``state.sampling_step`` (callback_state, L262) and updates the counters/hooks of the Double.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import zlib
from collections import namedtuple

import numpy as np

from modules import _double, sd_samplers_common, sd_schedulers, shared

SamplerDataTuple = namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])


class SamplerData(SamplerDataTuple):
    def total_steps(self, steps: int) -> int:
        return steps * 2 if self.options.get("second_order", False) else steps


@dataclasses.dataclass
class SamplerRun:
    """One sampler call, as recorded in ``Double.sampler_log``."""

    kind: str
    sampler_name: str
    scheduler: str | None
    steps_planned: int
    steps_done: int
    width: int
    height: int
    batch: int
    prompts: list[str]
    negative_prompts: list[str]
    seeds: list[int]
    denoising_strength: float | None
    masked: bool
    cfg_scale: float
    is_hr_pass: bool
    interrupted: bool = False
    depth: int = 0
    controlnet: list = dataclasses.field(default_factory=list)


def _target(key: str, h: int, w: int) -> np.ndarray:
    seed = zlib.crc32(key.encode("utf8")) ^ (zlib.adler32(key.encode("utf8")) << 32)
    rng = np.random.default_rng(seed)
    small = rng.random(((h + 7) // 8, (w + 7) // 8, 3), dtype=np.float32)
    return np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)[:h, :w]


class DoubleSampler:
    """Deterministic stand-in for a k-diffusion / timesteps sampler (see the module docstring)."""

    def __init__(self, model, funcname: str = "") -> None:
        self.model = model
        self.funcname = funcname
        self.config: SamplerData | None = None
        self.eta = None
        self.p = None
        self.stop_at = None
        self.last_latent = None
        self.sampler_extra_args: dict = {}
        self.options: dict = {}
        self.conditioning_key = getattr(shared.sd_model.model, "conditioning_key", "crossattn")
        self.model_wrap = type("ModelWrap", (), {"inner_model": model})()
        self.model_wrap_cfg = type("ModelWrapCfg", (), {"mask": None, "nmask": None, "init_latent": None, "step": 0})()

    def _scheduler_infotext(self, p) -> None:
        """Resolve "Automatic" and write "Schedule type" like KDiffusionSampler.get_sigmas (L87-105)."""
        name = (getattr(p, "hr_scheduler", None) if p.is_hr_pass else p.scheduler) or "Automatic"
        if name == "Automatic":
            name = self.config.options.get("scheduler", None) if self.config else None
        scheduler = sd_schedulers.schedulers_map.get(name)
        if scheduler is None or scheduler.label == "Automatic":
            return
        label, params = scheduler.label, p.extra_generation_params
        if not p.is_hr_pass:
            params["Schedule type"] = label
        elif params.get("Schedule type") != label:  # the hires pass only notes a different schedule
            params["Hires schedule type"] = label

    def _targets(self, p, conditioning, unconditional_conditioning, steps: int, shape: tuple) -> np.ndarray:
        b, h, w = shape[0], shape[1], shape[2]
        rng = p.rng
        seeds = list(rng.seeds) if rng is not None else list(p.seeds or [])
        subseeds = list(rng.subseeds) if rng is not None and rng.subseeds else list(p.subseeds or [])
        prompts = list(getattr(conditioning, "prompts", p.prompts))
        negatives = list(getattr(unconditional_conditioning, "prompts", None) or p.negative_prompts or [""] * b)
        out = np.empty(shape, dtype=np.float32)
        for i in range(b):
            sub = f"{subseeds[i] if i < len(subseeds) else -1}:{p.subseed_strength}" if p.subseed_strength else ""
            key = "|".join(str(v) for v in (
                prompts[i % len(prompts)] if prompts else "", negatives[i % len(negatives)] if negatives else "",
                seeds[i % len(seeds)] if seeds else -1, sub, steps, p.cfg_scale, p.sampler_name, p.scheduler, w, h,
                getattr(p, "distilled_cfg_scale", "") if _double().forge else "",
            ))
            out[i] = _target(key, h, w)
        return out

    def _launch(self, p, kind: str, n: int, x0: np.ndarray, targets: np.ndarray, strength: float,
                mask: np.ndarray | None, nmask: np.ndarray | None, conditioning, unconditional_conditioning) -> np.ndarray:
        state = shared.state
        double = _double()
        state.sampling_steps = n
        state.sampling_step = 0
        self.last_latent = x0
        run = SamplerRun(
            kind=kind, sampler_name=p.sampler_name, scheduler=p.scheduler, steps_planned=n, steps_done=0,
            width=x0.shape[2], height=x0.shape[1], batch=x0.shape[0],
            prompts=list(getattr(conditioning, "prompts", [])),
            negative_prompts=list(getattr(unconditional_conditioning, "prompts", None) or []),
            seeds=list(p.rng.seeds) if p.rng is not None else list(p.seeds or []),
            denoising_strength=getattr(p, "denoising_strength", None), masked=mask is not None, cfg_scale=p.cfg_scale,
            is_hr_pass=bool(p.is_hr_pass), depth=double.depth, controlnet=double.controlnet_state(p),
        )
        double.counters.sampler_calls += 1
        double.sampler_log.append(run)
        from modules import script_callbacks, scripts

        for i in range(n):
            if state.interrupted or state.skipped:
                run.interrupted = True
                break
            sigma = float(n - i)
            script_callbacks.cfg_denoiser_callback(script_callbacks.CFGDenoiserParams(
                self.last_latent, None, sigma, state.sampling_step, state.sampling_steps, conditioning,
                unconditional_conditioning, self))
            x = x0 + (targets - x0) * (strength * (i + 1) / n)
            if mask is not None:
                blended = x * nmask + x0 * mask
                if p.scripts is not None:
                    mba = scripts.MaskBlendArgs(x, nmask, x0, mask, blended, denoiser=self, sigma=sigma)
                    p.scripts.on_mask_blend(p, mba)
                    blended = mba.blended_latent
                x = blended
            after = script_callbacks.AfterCFGCallbackParams(x, state.sampling_step, state.sampling_steps)
            script_callbacks.cfg_after_cfg_callback(after)
            self.last_latent = np.asarray(after.x, dtype=np.float32)
            run.steps_done += 1
            state.sampling_step = i
            shared.total_tqdm.update()
            double.after_sampler_step(p, run)
        return self.last_latent

    def sample(self, p, x, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        """txt2img: from noise to the targets in ``steps`` steps."""
        self.p = p
        steps = steps or p.steps
        self._scheduler_infotext(p)
        start = np.clip(0.5 + 0.15 * np.asarray(x, dtype=np.float32), 0.0, 1.0)
        targets = self._targets(p, conditioning, unconditional_conditioning, steps, start.shape)
        return self._launch(p, "txt2img", steps, start, targets, 1.0, None, None, conditioning, unconditional_conditioning)

    def sample_img2img(self, p, x, noise, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        """img2img: ``t_enc + 1`` steps from ``x`` (the init latent) towards the targets."""
        self.p = p
        self._scheduler_infotext(p)
        full_steps, t_enc = sd_samplers_common.setup_img2img_steps(p, steps)
        n = t_enc + 1
        x0 = np.asarray(x, dtype=np.float32)
        targets = self._targets(p, conditioning, unconditional_conditioning, full_steps, x0.shape)
        mask = getattr(p, "mask", None)
        nmask = getattr(p, "nmask", None)
        self.model_wrap_cfg.mask, self.model_wrap_cfg.nmask, self.model_wrap_cfg.init_latent = mask, nmask, x0
        strength = float(min(max(p.denoising_strength or 0.0, 0.0), 1.0))
        kind = "hires" if p.is_hr_pass else "img2img"
        return self._launch(p, kind, n, x0, targets, strength, mask, nmask, conditioning, unconditional_conditioning)


def _constructor(funcname: str):
    return lambda model: DoubleSampler(model, funcname)


def _sampler(name: str, function: str, *aliases: str, **options) -> SamplerData:
    """One k-diffusion/compvis sampler: its UI name, the function it runs, its aliases and options."""
    return SamplerData(name, _constructor(function), list(aliases), options)


all_samplers = [
    _sampler("DPM++ 2M", "sample_dpmpp_2m", "k_dpmpp_2m", scheduler="karras"),
    _sampler("DPM++ SDE", "sample_dpmpp_sde", "k_dpmpp_sde", scheduler="karras", second_order=True, brownian_noise=True),
    _sampler("DPM++ 2M SDE", "sample_dpmpp_2m_sde", "k_dpmpp_2m_sde", scheduler="exponential", brownian_noise=True),
    _sampler("DPM++ 2M SDE Heun", "sample_dpmpp_2m_sde", "k_dpmpp_2m_sde_heun", scheduler="exponential", brownian_noise=True, solver_type="heun"),
    _sampler("DPM++ 2S a", "sample_dpmpp_2s_ancestral", "k_dpmpp_2s_a", scheduler="karras", uses_ensd=True, second_order=True),
    _sampler("DPM++ 3M SDE", "sample_dpmpp_3m_sde", "k_dpmpp_3m_sde", scheduler="exponential", discard_next_to_last_sigma=True, brownian_noise=True),
    _sampler("Euler a", "sample_euler_ancestral", "k_euler_a", "k_euler_ancestral", uses_ensd=True),
    _sampler("Euler", "sample_euler", "k_euler"),
    _sampler("LMS", "sample_lms", "k_lms"),
    _sampler("Heun", "sample_heun", "k_heun", second_order=True),
    _sampler("DPM2", "sample_dpm_2", "k_dpm_2", scheduler="karras", discard_next_to_last_sigma=True, second_order=True),
    _sampler("DPM2 a", "sample_dpm_2_ancestral", "k_dpm_2_a", scheduler="karras", discard_next_to_last_sigma=True, uses_ensd=True, second_order=True),
    _sampler("DPM fast", "sample_dpm_fast", "k_dpm_fast", uses_ensd=True),
    _sampler("DPM adaptive", "sample_dpm_adaptive", "k_dpm_ad", uses_ensd=True),
    _sampler("Restart", "restart_sampler", "restart", scheduler="karras", second_order=True),
    _sampler("DDIM", "ddim", "ddim"),
    _sampler("DDIM CFG++", "ddim_cfgpp", "ddim_cfgpp"),
    _sampler("PLMS", "plms", "plms"),
    _sampler("UniPC", "unipc", "unipc"),
    _sampler("LCM", "sample_lcm", "k_lcm"),
]
all_samplers_map = {x.name: x for x in all_samplers}
samplers: list[SamplerData] = []
samplers_for_img2img: list[SamplerData] = []
samplers_map: dict[str, str] = {}
samplers_hidden: set[str] = set()


def find_sampler_config(name: str | None) -> SamplerData | None:
    return all_samplers_map.get(name, None) if name is not None else all_samplers[0]


def create_sampler(name: str | None, model) -> DoubleSampler:
    config = find_sampler_config(name)
    assert config is not None, f"bad sampler name: {name}"
    sampler = config.constructor(model)
    sampler.config = config
    return sampler


def set_samplers() -> None:
    global samplers, samplers_for_img2img, samplers_hidden
    samplers = samplers_for_img2img = all_samplers
    samplers_hidden = set(shared.opts.hide_samplers)
    samplers_map.clear()
    for data in all_samplers:
        for spelling in (data.name, *data.aliases):  # lower-cased name and aliases -> the real name
            samplers_map[spelling.lower()] = data.name


def visible_samplers() -> list[SamplerData]:
    return [data for data in samplers if data.name not in samplers_hidden]


def visible_sampler_names() -> list[str]:
    return [data.name for data in visible_samplers()]


def _scheduler_suffix(name: str, scheduler) -> str | None:
    """The spelling of ``scheduler`` that ``name`` ends with (after a space), if any."""
    spellings = (scheduler.label, scheduler.name, *(scheduler.aliases or []))
    return next((spelling for spelling in spellings if name.endswith(f" {spelling}")), None)


@functools.cache
def get_sampler_and_scheduler(sampler_name, scheduler_name, *, convert_automatic: bool = True) -> tuple[str, str]:
    """Split "DPM++ 2M Karras"-style names; unknown sampler -> the default one (L99-121)."""
    fallback = samplers[0] if samplers else all_samplers[0]
    chosen = sd_schedulers.schedulers_map.get(scheduler_name, sd_schedulers.schedulers[0])
    remaining = sampler_name or fallback.name
    for scheduler in sd_schedulers.schedulers:  # each scheduler may strip one suffix; the last match wins
        suffix = _scheduler_suffix(remaining, scheduler)
        if suffix is not None:
            chosen = scheduler
            remaining = remaining[:-(len(suffix) + 1)]
    data = all_samplers_map.get(remaining, fallback)
    own_default = data.options.get("scheduler", None)
    if convert_automatic and own_default == chosen.name:
        chosen = sd_schedulers.schedulers[0]  # the sampler's own default: shown as "Automatic"
    return data.name, chosen.label


def fix_p_invalid_sampler_and_scheduler(p) -> None:
    """Backwards-compatibility autocorrection run by process_images (L125-129)."""
    given = (p.sampler_name, p.scheduler)
    p.sampler_name, p.scheduler = get_sampler_and_scheduler(*given, convert_automatic=False)
    if (p.sampler_name, p.scheduler) == given:
        return
    old_sampler, old_scheduler = given
    message = (f'Sampler Scheduler autocorrection: "{old_sampler}" -> "{p.sampler_name}", '
               f'"{old_scheduler}" -> "{p.scheduler}"')
    logging.warning(message)
    double = _double()
    if double is not None:
        double.warnings.append(message)


def _first_pass_sampler_and_scheduler(d: dict) -> tuple[str, str]:
    return get_sampler_and_scheduler(d.get("Sampler"), d.get("Schedule type"))


def get_sampler_from_infotext(d: dict) -> str:
    sampler, _scheduler = _first_pass_sampler_and_scheduler(d)
    return sampler


def get_scheduler_from_infotext(d: dict) -> str:
    _sampler, scheduler = _first_pass_sampler_and_scheduler(d)
    return scheduler


def _hires_choice(d: dict, hires_key: str, same: str, first_pass_key: str):
    chosen = d.get(hires_key, same)
    return d.get(first_pass_key) if chosen == same else chosen


def get_hr_sampler_and_scheduler(d: dict) -> tuple[str, str]:
    sampler, scheduler = get_sampler_and_scheduler(
        _hires_choice(d, "Hires sampler", "Use same sampler", "Sampler"),
        _hires_choice(d, "Hires schedule type", "Use same scheduler", "Schedule type"))
    if sampler == d.get("Sampler"):
        sampler = "Use same sampler"
    if scheduler == d.get("Schedule type"):
        scheduler = "Use same scheduler"
    return sampler, scheduler


def get_hr_sampler_from_infotext(d: dict) -> str:
    return get_hr_sampler_and_scheduler(d)[0]


def get_hr_scheduler_from_infotext(d: dict) -> str:
    return get_hr_sampler_and_scheduler(d)[1]


set_samplers()
