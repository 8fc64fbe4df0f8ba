"""``modules.sd_samplers_common``: step arithmetic and the interrupt exception.

Faithful: ``setup_img2img_steps`` (A1111 v1.10.1 L22-31): normally ``t_enc = int(min(d, 0.999) *
steps)`` and the k-diffusion img2img sampler then runs ``t_enc + 1`` steps
(sd_samplers_kdiffusion.py L135/L187 ``launch_sampling(t_enc + 1, ...)``); with
``opts.img2img_fix_steps`` (or an explicit ``steps``, e.g. the hires pass) it runs exactly the
requested steps. ``InterruptedException`` derives from BaseException (L142).
"""

from __future__ import annotations

from modules.shared import opts

approximation_indexes = {name: index for index, name in enumerate(("Full", "Approx NN", "Approx cheap", "TAESD"))}


class InterruptedException(BaseException):
    pass


def setup_img2img_steps(p, steps: int | None = None) -> tuple[int, int]:
    if not opts.img2img_fix_steps and steps is None:  # the usual case: denoise * steps of the schedule
        return p.steps, int(min(p.denoising_strength, 0.999) * p.steps)
    wanted = steps or p.steps  # exactly this many steps: stretch the schedule so that they remain
    stretched = int(wanted / min(p.denoising_strength, 0.999)) if p.denoising_strength > 0 else 0
    return stretched, wanted - 1


def is_sampler_using_eta_noise_seed_delta(p) -> bool:
    from modules import sd_samplers

    config = sd_samplers.find_sampler_config(p.sampler_name)
    if _effective_eta(p, config) == 0:  # no ancestral noise, so ENSD changes nothing
        return False
    return config is not None and config.options.get("uses_ensd", False)


def _effective_eta(p, config):
    """``p.eta``, else the sampler's, else the sampler kind's default (0 or 1)."""
    if p.eta is not None:
        return p.eta
    if p.sampler is not None and p.sampler.eta is not None:
        return p.sampler.eta
    if config is None:
        return None
    return 0 if config.options.get("default_eta_is_0", False) else 1.0
