"""``modules.script_callbacks`` (A1111 v1.10.1; Forge identical), written from its behaviour.

Faithful: registration ``on_*(callback, *, name=None)`` appends to ``callback_map`` (L219-241),
callbacks run in registration order, each wrapped in try/except -> ``errors.report`` (L253-432),
``script_unloaded``/``before_ui`` run in reverse order (L386-400), ``clear_callbacks()`` empties all
(L246-250), ``ImageSaveParams(image, p, filename, pnginfo)`` (L18-30). Simplified: callback names
use the calling file's basename (no extension lookup); metadata.ini ordering is not modelled, the
user priority option ``prioritized_callbacks_<category>`` is (L186-190).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Any

from modules import errors, shared


def report_exception(c: ScriptCallback, job: str) -> None:
    description = f"callback {job} for {c.script}"
    errors.report(f"Error executing {description}", exc_info=True)


# Parameter objects handed to the callbacks: plain attribute holders, filled in argument order.
class ImageSaveParams:
    def __init__(self, image, p, filename: str, pnginfo: dict) -> None:
        self.image, self.p, self.filename, self.pnginfo = image, p, filename, pnginfo


class ExtraNoiseParams:
    def __init__(self, noise, x, xi) -> None:
        self.noise, self.x, self.xi = noise, x, xi


class CFGDenoiserParams:
    def __init__(self, x, image_cond, sigma, sampling_step, total_sampling_steps, text_cond, text_uncond,
                 denoiser=None):
        self.x, self.image_cond, self.sigma = x, image_cond, sigma
        self.sampling_step, self.total_sampling_steps = sampling_step, total_sampling_steps
        self.text_cond, self.text_uncond, self.denoiser = text_cond, text_uncond, denoiser


class CFGDenoisedParams:
    def __init__(self, x, sampling_step, total_sampling_steps, inner_model) -> None:
        self.x, self.sampling_step, self.total_sampling_steps = x, sampling_step, total_sampling_steps
        self.inner_model = inner_model


class AfterCFGCallbackParams:
    def __init__(self, x, sampling_step, total_sampling_steps) -> None:
        self.x, self.sampling_step, self.total_sampling_steps = x, sampling_step, total_sampling_steps


class ImageGridLoopParams:
    def __init__(self, imgs, cols: int, rows: int) -> None:
        self.imgs, self.cols, self.rows = imgs, cols, rows


class UiTrainTabParams:
    def __init__(self, txt2img_preview_params) -> None:
        self.txt2img_preview_params = txt2img_preview_params


@dataclasses.dataclass
class BeforeTokenCounterParams:
    prompt: str
    steps: int
    styles: list
    is_positive: bool = True


@dataclasses.dataclass
class ScriptCallback:
    script: str
    callback: Any
    name: str = "unnamed"


_CATEGORIES = (
    "app_started", "model_loaded", "ui_tabs", "ui_train_tabs", "ui_settings", "before_image_saved", "image_saved",
    "extra_noise", "cfg_denoiser", "cfg_denoised", "cfg_after_cfg", "before_component", "after_component",
    "image_grid", "infotext_pasted", "script_unloaded", "before_ui", "on_reload", "list_optimizers", "list_unets",
    "before_token_counter",
)
callback_map: dict[str, list[ScriptCallback]] = {f"callbacks_{c}": [] for c in _CATEGORIES}


def add_callback(callbacks: list, fun, *, name: str | None = None, category: str = "unknown", filename: str | None = None) -> None:
    if filename is None:
        stack = [x for x in inspect.stack(0) if x.filename != __file__]
        filename = stack[0].filename if stack else "unknown file"
    callback_name = f"base/{os.path.basename(filename)}/{category}"
    if name is not None:
        callback_name += f"/{name}"
    unique = callback_name
    for index in range(1000):
        if not any(x.name == unique for x in callbacks):
            break
        unique = f"{callback_name}-{index + 1}"
    callbacks.append(ScriptCallback(filename, fun, unique))


def sort_callbacks(category: str, unordered_callbacks: list, *, enable_user_sort: bool = True) -> list:
    ordered = unordered_callbacks.copy()
    if not enable_user_sort:
        return ordered
    preferred = getattr(shared.opts, "prioritized_callbacks_" + category, [])
    for name in reversed(preferred):  # last first, so that the first preferred one ends up in front
        position = next((i for i, c in enumerate(ordered) if c.name == name), None)
        if position is not None:
            ordered.insert(0, ordered.pop(position))
    return ordered


def ordered_callbacks(category: str, unordered_callbacks: list | None = None, *, enable_user_sort: bool = True) -> list:
    if unordered_callbacks is None:
        unordered_callbacks = callback_map.get("callbacks_" + category, [])
    return sort_callbacks(category, unordered_callbacks, enable_user_sort=enable_user_sort)


def enumerate_callbacks():
    """``(category, callbacks)`` pairs, the category without its ``callbacks_`` prefix."""
    for key, registered in callback_map.items():
        yield key.removeprefix("callbacks_"), registered


def clear_callbacks() -> None:
    for callback_list in callback_map.values():
        callback_list.clear()


def _run(category: str, *args: Any, reverse: bool = False) -> None:
    callbacks = ordered_callbacks(category)
    for c in reversed(callbacks) if reverse else callbacks:
        try:
            c.callback(*args)
        except Exception:
            report_exception(c, f"{category}_callback")


def app_started_callback(demo, app) -> None:
    _run("app_started", demo, app)


def app_reload_callback() -> None:
    _run("on_reload")


def model_loaded_callback(sd_model) -> None:
    _run("model_loaded", sd_model)


def ui_tabs_callback() -> list:
    res: list = []
    for c in ordered_callbacks("ui_tabs"):
        try:
            res += c.callback() or []
        except Exception:
            report_exception(c, "ui_tabs_callback")
    return res


def ui_train_tabs_callback(params: UiTrainTabParams) -> None:
    _run("ui_train_tabs", params)


def ui_settings_callback() -> None:
    _run("ui_settings")


def before_image_saved_callback(params: ImageSaveParams) -> None:
    _run("before_image_saved", params)


def image_saved_callback(params: ImageSaveParams) -> None:
    _run("image_saved", params)


def extra_noise_callback(params: ExtraNoiseParams) -> None:
    _run("extra_noise", params)


def cfg_denoiser_callback(params: CFGDenoiserParams) -> None:
    _run("cfg_denoiser", params)


def cfg_denoised_callback(params: CFGDenoisedParams) -> None:
    _run("cfg_denoised", params)


def cfg_after_cfg_callback(params: AfterCFGCallbackParams) -> None:
    _run("cfg_after_cfg", params)


def before_component_callback(component, **kwargs: Any) -> None:
    for c in ordered_callbacks("before_component"):
        try:
            c.callback(component, **kwargs)
        except Exception:
            report_exception(c, "before_component_callback")


def after_component_callback(component, **kwargs: Any) -> None:
    for c in ordered_callbacks("after_component"):
        try:
            c.callback(component, **kwargs)
        except Exception:
            report_exception(c, "after_component_callback")


def image_grid_callback(params: ImageGridLoopParams) -> None:
    _run("image_grid", params)


def infotext_pasted_callback(infotext: str, params: dict[str, Any]) -> None:
    _run("infotext_pasted", infotext, params)


def script_unloaded_callback() -> None:
    _run("script_unloaded", reverse=True)


def before_ui_callback() -> None:
    _run("before_ui", reverse=True)


def list_optimizers_callback() -> list:
    res: list = []
    _run("list_optimizers", res)
    return res


def list_unets_callback() -> list:
    res: list = []
    _run("list_unets", res)
    return res


def before_token_counter_callback(params: BeforeTokenCounterParams) -> None:
    _run("before_token_counter", params)


def remove_current_script_callbacks() -> None:
    stack = [x for x in inspect.stack(0) if x.filename != __file__]
    filename = stack[0].filename if stack else "unknown file"
    _drop_callbacks(lambda registered: registered.script == filename)


def remove_callbacks_for_function(callback_func) -> None:
    _drop_callbacks(lambda registered: registered.callback == callback_func)


def _drop_callbacks(matches) -> None:
    """Remove the matching callbacks from every category, in place."""
    for registered_list in callback_map.values():
        registered_list[:] = [registered for registered in registered_list if not matches(registered)]


def _register(category: str):
    def on(callback, *, name: str | None = None) -> None:
        add_callback(callback_map["callbacks_" + category], callback, name=name, category=category)

    on.__name__ = f"on_{category}"
    on.__doc__ = f"Register a callback for {category!r} (script_callbacks.py L456-613)."
    return on


on_app_started = _register("app_started")
on_before_reload = _register("on_reload")
on_model_loaded = _register("model_loaded")
on_ui_tabs = _register("ui_tabs")
on_ui_train_tabs = _register("ui_train_tabs")
on_ui_settings = _register("ui_settings")
on_before_image_saved = _register("before_image_saved")
on_image_saved = _register("image_saved")
on_extra_noise = _register("extra_noise")
on_cfg_denoiser = _register("cfg_denoiser")
on_cfg_denoised = _register("cfg_denoised")
on_cfg_after_cfg = _register("cfg_after_cfg")
on_before_component = _register("before_component")
on_after_component = _register("after_component")
on_image_grid = _register("image_grid")
on_infotext_pasted = _register("infotext_pasted")
on_script_unloaded = _register("script_unloaded")
on_before_ui = _register("before_ui")
on_list_optimizers = _register("list_optimizers")
on_list_unets = _register("list_unets")
on_before_token_counter = _register("before_token_counter")
