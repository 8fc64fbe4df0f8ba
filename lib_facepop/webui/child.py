"""One face pass = one child ``StableDiffusionProcessingImg2Img`` built from the outer ``p``.

What the child copies and why (each point was measured in A1111 v1.10.1, DESIGN.md):

* it is constructed with keywords only: ``scripts=``/``script_args=`` in the constructor
  are a TypeError, and ``mask=`` is what becomes ``image_mask``;
* ``is_api = True`` is set *before* ``script_args``: assigning the args runs ``setup()`` of
  the built-in Seed/Sampler/Refiner scripts on a UI-path object, which silently replaced
  the child's seed, steps and sampler with the outer UI's;
* ``scheduler`` is copied (else "Sampler Scheduler autocorrection" warnings), so are the
  variation seed, CFG/eta/sigma knobs, noise multiplier, restore-faces and (Forge)
  distilled CFG; styles are not, because the outer prompts already carry them;
* the child runs a filtered copy of the outer always-on scripts (an allow-list, see
  ``settings_section``) with a copy of the outer args, so each script reads its own
  slice as usual; FacePop itself is never in it and ``p._facepop_child`` marks the child
  (``_ad_inner`` too: other extensions already skip ADetailer's inner passes by it);
* ``cached_c``/``cached_uc`` get fresh per-instance lists, so the child never takes the
  outer conditioning out of the shared class-level cache;
* it never saves samples or grids, and ``close()`` is called afterwards by the renderer.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHILD_FLAG = "_facepop_child"
"""Set on every child ``p``: FacePop's hooks return at once when they see it."""

#: attributes copied from the outer p when it has them (sampler knobs that shape the result)
_COPIED = ("eta", "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise", "subseed_strength",
           "initial_noise_multiplier", "image_cfg_scale", "distilled_cfg_scale", "restore_faces",
           "outpath_samples", "outpath_grids")


def is_child(p: Any) -> bool:
    """True for a FacePop face pass."""
    return bool(getattr(p, CHILD_FLAG, False))


def script_key_names(script: Any) -> set[str]:
    """The names an allow-list entry can match: the file name without ``.py`` and the title."""
    names = set()
    filename = getattr(script, "filename", None)
    if filename:
        names.add(os.path.splitext(os.path.basename(filename))[0].lower())
    try:
        names.add(str(script.title()).lower())
    except Exception:  # noqa: BLE001 - a broken title() must not break FacePop
        pass
    return names


def filtered_runner(runner: Any, allowed: Iterable[str], exclude: Iterable[Any] = ()) -> Any:
    """A shallow copy of ``runner`` whose always-on scripts are only the allowed ones.

    The copy shares the script instances, so their ``args_from``/``args_to`` still index a
    copy of the outer ``script_args``. Its callback cache is fresh: the WebUI caches the
    ordered hook list per method keyed on the script *count*, and a copy sharing the
    outer cache could run the outer list. No selectable script runs in a child.
    """
    if runner is None:
        return None
    allowed = {a.lower() for a in allowed}
    excluded = {id(s) for s in exclude}
    keep = [s for s in getattr(runner, "alwayson_scripts", [])
            if id(s) not in excluded and not script_key_names(s).isdisjoint(allowed)]
    child = copy.copy(runner)
    child.alwayson_scripts = keep
    child.scripts = list(keep)
    child.selectable_scripts = []
    if hasattr(runner, "callback_map"):
        child.callback_map = {}
    return child


@dataclass
class ChildTemplate:
    """Everything a face pass takes from the outer job, fixed once per image.

    ``prompt``/``negative_prompt`` are the outer job's prompts for this image (styles and
    comments already applied by the WebUI); ``subseed`` its variation seed; ``defaults``
    the steps/CFG/denoise/sampler a face pass uses unless the face settings override them.
    """

    p: Any
    prompt: str
    negative_prompt: str
    subseed: int
    defaults: dict[str, Any]
    runner: Any = None
    script_args: tuple = ()


def build_child(processing: Any, template: ChildTemplate, init_image: Any, mask: Any,
                overrides: Mapping[str, Any], seed: int) -> Any:
    """The child img2img for one face canvas (PIL ``init_image``, PIL "L" ``mask`` or None)."""
    p = template.p
    d = template.defaults
    width = int(overrides.get("width", init_image.width))
    height = int(overrides.get("height", init_image.height))
    kwargs: dict[str, Any] = dict(
        prompt=overrides.get("prompt") or template.prompt,
        negative_prompt=overrides.get("negative_prompt") or template.negative_prompt,
        styles=[],
        seed=int(seed),
        subseed=int(template.subseed),
        sampler_name=overrides.get("sampler_name") or d["sampler_name"],
        scheduler=d.get("scheduler"),
        batch_size=1,
        n_iter=1,
        steps=int(overrides.get("steps", d["steps"])),
        cfg_scale=float(overrides.get("cfg_scale", d["cfg_scale"])),
        width=width,
        height=height,
        tiling=False,
        do_not_save_samples=True,
        do_not_save_grid=True,
        override_settings={},
        init_images=[init_image],
        resize_mode=0,
        denoising_strength=float(overrides.get("denoising_strength", d["denoising_strength"])),
        mask=mask,
        mask_blur=0,
        inpainting_fill=1,
        inpaint_full_res=False,
        inpaint_full_res_padding=0,
        inpainting_mask_invert=0,
    )
    for name in _COPIED:
        if hasattr(p, name) and name in _ctor_fields(processing):
            kwargs[name] = getattr(p, name)
    child = processing.StableDiffusionProcessingImg2Img(**kwargs)
    setattr(child, CHILD_FLAG, True)
    child._ad_inner = True
    child.is_api = True  # before script_args: keeps the built-in UI setup() from rewriting seed/steps/sampler
    child.cached_c = [None] * len(child.cached_c)
    child.cached_uc = [None] * len(child.cached_uc)
    if template.runner is not None:
        child.scripts = template.runner
        child.script_args = tuple(copy_args(template.script_args))
    return child


def copy_args(args: Iterable[Any]) -> list[Any]:
    """Element-wise shallow copies (a unit object edited by a script in the child must not
    change the outer job's); objects that refuse to be copied are shared."""
    out = []
    for a in args:
        try:
            out.append(copy.copy(a))
        except Exception:  # noqa: BLE001 - e.g. file handles
            out.append(a)
    return out


def _ctor_fields(processing: Any) -> set[str]:
    import dataclasses

    cls = processing.StableDiffusionProcessingImg2Img
    try:
        return {f.name for f in dataclasses.fields(cls) if f.init}
    except TypeError:
        return set(_COPIED)
