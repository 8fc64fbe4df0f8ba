"""Shared helpers for the FacePop Upscale WebUI tests (not a test module itself)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from lib_facepop.settings import UpscaleSettings

SCRIPT = "scripts/facepop_upscale.py"
TITLE = "FacePop Upscale"
TILE_MODEL = "control_v11f1e_sd15_tile [a371b31b]"
SRC = (192, 192)


def settings(**changes: Any) -> UpscaleSettings:
    """Small, fast settings: a 192 px source, 2 passes, no tiling unless asked."""
    base = {"enabled": True, "scale": 2.0, "passes": 2, "tile_size": 512, "tile_overlap": 64}
    return UpscaleSettings(**{**base, **changes})


def register_tile_model(webui: Any, name: str = TILE_MODEL) -> None:
    if webui.forge:
        from lib_controlnet import global_state

        global_state.register_model(name)
    else:
        webui.controlnet_external_code.cn_models_names[name.split(" [")[0]] = name


def ui_args(webui: Any, runner: Any, s: UpscaleSettings, extra: dict | None = None) -> tuple:
    return webui.ui_script_args(runner, {TITLE: s.to_args(), **(extra or {})}, selected=TITLE)


def run_ui(webui: Any, runner: Any, s: UpscaleSettings, *, size: tuple[int, int] = SRC, extra: dict | None = None,
           **p_kwargs: Any) -> Any:
    img = p_kwargs.pop("init_image", None) or webui.make_image(*size)
    return webui.ui_img2img(runner, init_image=img, script_args=ui_args(webui, runner, s, extra),
                            width=size[0], height=size[1], **p_kwargs)


def first_step_recorder(webui: Any, read: Any) -> list:
    """``read(p, run)`` once per sampler run (at its first step), in run order."""
    seen: dict[int, Any] = {}
    out: list = []

    def callback(n: int, p: Any, run: Any) -> None:
        if id(run) not in seen:
            seen[id(run)] = True
            out.append(read(p, run))

    webui.step_callbacks.append(callback)
    return out


def enabled_units(p: Any) -> list:
    """ControlNet's enabled units in ``p.script_args`` (A1111 and Forge alike)."""
    cn = next(s for s in p.scripts.alwayson_scripts if s.title() == "ControlNet")
    return [u for u in p.script_args[cn.args_from:cn.args_to] if getattr(u, "enabled", False)]


class FakeFacePipeline:
    """Stands in for ``FacePipeline``: one "face" = the top-left 128 px square, rendered through
    the upscale's renderer with the face pass's overrides, pasted back."""

    def __init__(self) -> None:
        self.rendered: list[np.ndarray] = []

    def run(self, image: np.ndarray, settings: Any, renderer: Any, inpaint_mask: Any = None, *, seed: int = 0,
            faces: Any = None, progress: Any = None, should_stop: Any = None) -> Any:
        canvas = np.ascontiguousarray(image[:128, :128])
        if progress is not None:
            progress(0, 1, "render")
        out = renderer.render(canvas, None, {"width": 128, "height": 128, "steps": settings.steps,
                                             "cfg_scale": settings.cfg_scale,
                                             "denoising_strength": settings.denoise}, seed)
        self.rendered.append(out)
        composite = image.copy()
        composite[:128, :128] = out
        return SimpleNamespace(image=composite, faces=[SimpleNamespace(status="done")], interrupted=False)
