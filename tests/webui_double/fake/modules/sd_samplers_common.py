"""``modules.sd_samplers_common``: step arithmetic and the interrupt exception.

Faithful: ``setup_img2img_steps`` (A1111 v1.10.1 L22-31): normally ``t_enc = int(min(d, 0.999) *
steps)`` and the k-diffusion img2img sampler then runs ``t_enc + 1`` steps
(sd_samplers_kdiffusion.py L135/L187 ``launch_sampling(t_enc + 1, ...)``); with
``opts.img2img_fix_steps`` (or an explicit ``steps``, e.g. the hires pass) it runs exactly the
requested steps. ``InterruptedException`` derives from BaseException (L142).
"""

from __future__ import annotations

from modules.shared import opts

approximation_indexes = {"Full": 0, "Approx NN": 1, "Approx cheap": 2, "TAESD": 3}


class InterruptedException(BaseException):
    pass


def setup_img2img_steps(p, steps: int | None = None) -> tuple[int, int]:
    if opts.img2img_fix_steps or steps is not None:
        requested_steps = steps or p.steps
        steps = int(requested_steps / min(p.denoising_strength, 0.999)) if p.denoising_strength > 0 else 0
        t_enc = requested_steps - 1
    else:
        steps = p.steps
        t_enc = int(min(p.denoising_strength, 0.999) * steps)
    return steps, t_enc


def is_sampler_using_eta_noise_seed_delta(p) -> bool:
    from modules import sd_samplers

    config = sd_samplers.find_sampler_config(p.sampler_name)
    eta = p.eta
    if eta is None and p.sampler is not None:
        eta = p.sampler.eta
    if eta is None and config is not None:
        eta = 0 if config.options.get("default_eta_is_0", False) else 1.0
    if eta == 0:
        return False
    return config is not None and config.options.get("uses_ensd", False)
