"""Rendering the upscale's tiles through the user's own ``p`` (the WebUI side of the Renderer seam).

A selectable script owns ``p`` for the whole job, so every tile (and every face of the
optional face pass) is one ``processing.process_images(p)`` call on ``p`` itself, as
SD upscale and Ultimate SD Upscale do. That way the always-on scripts the user enabled
(ControlNet, LoRA, dynamic prompts...) run on every tile, and no state of a nested job
can leak. Each call sets the tile, its size, the pass's denoise/steps/CFG/seed, the
prompt with the pass's LoRA tags, and the ControlNet tile unit; ``PSnapshot`` puts every
field back afterwards.

``PSnapshot`` keeps every attribute of ``p`` as found (and the contents of its dicts and
lists, which ``process_images`` edits in place: ``extra_generation_params``,
``override_settings``...), plus the runner's argument slices (sd-webui-controlnet's
``update_cn_script`` may shift them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from modules import processing, shared
from PIL import Image

from lib_facepop.render import RenderInterrupted
from lib_facepop.upscale import lanczos_resize
from lib_facepop.webui.cn_tile import TileControl
from lib_facepop.webui.upscale_prompt import pass_prompt

#: Attribute set on ``p`` while FacePop Upscale renders a tile or a face through it: the
#: 1-based pass number, or "faces" during the face refinement.
UPSCALE_MARKER = "facepop_upscale_pass"
#: Face refiners must not run on every tile (they would refine faces cut by tile borders,
#: dozens of times): while rendering, ``p`` also carries ``_facepop_disabled`` (FacePop's
#: face script returns at once on jobs another script marked so) and ADetailer's
#: ``_ad_inner`` (ADetailer skips its own inner passes by it). The upscale's own face
#: refinement runs on the final image instead.
SKIP_FLAGS = ("_facepop_disabled", "_ad_inner")


class PSnapshot:
    """``p`` and its runner's argument slices as found; ``restore()`` puts them back."""

    def __init__(self, p: Any) -> None:
        self.p = p
        self.attrs = dict(vars(p))
        self.contents = {k: copy.copy(v) for k, v in self.attrs.items() if isinstance(v, (dict, list))}
        scripts = getattr(getattr(p, "scripts", None), "scripts", None) or []
        self.slices = [(s, s.args_from, s.args_to) for s in scripts]

    def original(self, name: str, default: Any = None) -> Any:
        """A field's value as found (before the upscale touched it)."""
        if name in self.contents:
            return self.contents[name]
        return self.attrs.get(name, default)

    def restore(self) -> None:
        d = vars(self.p)
        for name in [k for k in d if k not in self.attrs]:
            del d[name]
        for name, value in self.attrs.items():
            if name in self.contents:  # same object, original contents: holders of a reference see them too
                saved = self.contents[name]
                if isinstance(value, dict):
                    value.clear()
                    value.update(saved)
                else:
                    value[:] = saved
            d[name] = value
        for script, args_from, args_to in self.slices:
            script.args_from, script.args_to = args_from, args_to

    @contextmanager
    def fields(self, **values: Any) -> Iterator[None]:
        """Set fields of ``p`` for a moment (the infotext, saving and ``Processed`` read them)."""
        d = vars(self.p)
        before = {k: d[k] for k in values if k in d}
        d.update(values)
        try:
            yield
        finally:
            for k in values:
                if k in before:
                    d[k] = before[k]
                else:
                    d.pop(k, None)


def as_rgb_array(image: Image.Image) -> np.ndarray:
    """PIL image -> HxWx3 uint8 (alpha flattened onto the img2img background colour, as img2img does)."""
    if image.mode in ("RGBA", "LA", "P"):
        from modules import images

        image = images.flatten(image, shared.opts.img2img_background_color)
    return np.array(image.convert("RGB"))


class WebUIUpscaleRenderer:
    """``Renderer`` (and ``BatchRenderer``) that renders canvases through ``process_images(p)``.

    ``base_prompt``/``base_negative`` are the user's prompts as typed; ``scheduled_loras``
    every LoRA name the schedule mentions (their tags are rebuilt per pass);
    ``control`` applies the ControlNet tile unit; ``on_render`` runs after each call
    (progress). Raises ``RenderInterrupted`` when the user interrupted or skipped, so the
    engine keeps the last completed pass.
    """

    def __init__(self, p: Any, snapshot: PSnapshot, control: TileControl, scheduled_loras: Iterable[str],
                 on_render: Callable[[], None] | None = None) -> None:
        self.p = p
        self.snapshot = snapshot
        self.control = control
        self.scheduled = list(scheduled_loras)
        self.on_render = on_render
        self.base_prompt = snapshot.original("prompt", "")
        self.base_negative = snapshot.original("negative_prompt", "")
        self.base_sampler = snapshot.original("sampler_name")
        self.last_lora: dict[str, float] = {}

    def _prompt(self, overrides: dict[str, Any]) -> Any:
        lora = overrides.get("lora")
        if lora is None:  # a face pass: keep the LoRAs of the last upscale pass
            lora = self.last_lora
        else:
            self.last_lora = dict(lora)
        base = overrides.get("prompt") or self.base_prompt
        if isinstance(base, list):
            return [pass_prompt(x, lora, self.scheduled) for x in base]
        return pass_prompt(base, lora, self.scheduled)

    def _setup(self, canvases: list[np.ndarray], mask: np.ndarray | None, overrides: dict[str, Any],
               seeds: list[int]) -> None:
        p, snap = self.p, self.snapshot
        h, w = canvases[0].shape[:2]
        p.init_images = [Image.fromarray(c) for c in canvases]
        p.width, p.height = w, h
        p.n_iter = 1
        p.batch_size = len(canvases)
        p.seed = int(seeds[0]) if len(seeds) == 1 else [int(s) for s in seeds]  # a list: every tile the same seed
        p.denoising_strength = float(overrides.get("denoising_strength", snap.original("denoising_strength")))
        p.steps = int(overrides.get("steps", snap.original("steps")))
        p.cfg_scale = float(overrides.get("cfg_scale", snap.original("cfg_scale")))
        p.sampler_name = overrides.get("sampler_name") or self.base_sampler
        p.prompt = self._prompt(overrides)
        p.negative_prompt = overrides.get("negative_prompt") or self.base_negative
        p.resize_mode = 0  # the canvas is already p.width x p.height
        p.image_mask = Image.fromarray(mask) if mask is not None else None
        p.inpaint_full_res = False
        p.do_not_save_samples = True
        p.do_not_save_grid = True
        setattr(p, UPSCALE_MARKER, overrides.get("facepop_pass", "faces"))
        for flag in SKIP_FLAGS:
            setattr(p, flag, True)
        self.control.apply(p, overrides.get("controlnet_weight"))

    def _render(self, canvases: list[np.ndarray], mask: np.ndarray | None, overrides: dict[str, Any],
                seeds: list[int]) -> list[np.ndarray]:
        self._setup(canvases, mask, overrides, seeds)
        processed = processing.process_images(self.p)
        for name in ("pixels_after_sampling", "latents_after_sampling", "extra_result_images"):
            held = getattr(self.p, name, None)  # Forge keeps every tile here: free them as we go
            if isinstance(held, list):
                held.clear()
        state = shared.state
        images = list(processed.images[processed.index_of_first_image:])
        if state.interrupted or state.skipped or len(images) < len(canvases):
            raise RenderInterrupted("interrupted by the user")
        out = []
        for img, canvas in zip(images, canvases, strict=False):
            arr = as_rgb_array(img)
            if arr.shape != canvas.shape:  # sizes not a multiple of 8 come back cropped to latent cells
                arr = lanczos_resize(arr, (canvas.shape[1], canvas.shape[0]))
            out.append(arr)
        if self.on_render is not None:
            self.on_render()
        return out

    def render(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> np.ndarray:
        return self._render([canvas], mask, overrides, [seed])[0]

    def render_batch(self, canvases: list[np.ndarray], masks: list[np.ndarray | None], overrides: dict[str, Any],
                     seeds: list[int]) -> list[np.ndarray]:
        return self._render(list(canvases), None, overrides, list(seeds))


def find_upscaler(name: str) -> Any | None:
    """``shared.sd_upscalers`` entry named ``name`` (case-insensitive), or None."""
    key = name.strip().lower()
    return next((u for u in shared.sd_upscalers or [] if str(u.name).lower() == key), None)


def pixel_upscaler_for(name: str) -> tuple[Callable[[np.ndarray, tuple[int, int]], np.ndarray] | None, str]:
    """The engine's ``pixel_upscaler`` for the WebUI upscaler ``name``, and a note for the infotext.

    Lanczos and "None" give None (the engine's own Lanczos, the same PIL resampler A1111
    uses). A model (ESRGAN, 4x-UltraSharp...) runs through ``Upscaler.upscale``, which
    applies it until the image is big enough and then resizes down with Lanczos; the
    engine finishes the last few pixels. An unknown name falls back to Lanczos.
    """
    if name.strip().lower() in ("lanczos", "none", ""):
        return None, "Lanczos"
    data = find_upscaler(name)
    if data is None or data.scaler is None:
        return None, f"Lanczos ({name} not found)"

    def upscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        h, w = image.shape[:2]
        scale = max(size[0] / w, size[1] / h)
        out = data.scaler.upscale(Image.fromarray(image), scale, data.data_path)
        return np.array(out.convert("RGB"))

    return upscale, str(data.name)
