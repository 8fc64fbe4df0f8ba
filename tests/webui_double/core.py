"""The WebUI double: install fake ``modules`` (A1111 v1.10.1 or Forge) into ``sys.modules``.

See ``tests/webui_double/README.md`` for the API and the faithful/simplified list.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import tempfile
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FAKE_ROOT = Path(__file__).resolve().parent / "fake"
MODES = ("a1111", "forge")
CONTROLNET = "controlnet"
"""Put this in ``build_runner(scripts=[...])`` to load the fake ControlNet script at that position."""

_MODULE_ORDER = (
    "errors", "paths_internal", "paths", "devices", "options", "shared_cmd_options", "shared_options", "shared_state",
    "shared", "script_callbacks", "infotext_utils", "images", "masking", "upscaler", "sd_models", "sd_vae",
    "sd_schedulers", "sd_samplers_common", "sd_samplers", "rng", "prompt_parser", "extra_networks", "script_loading",
    "scripts_postprocessing", "api", "api.models", "api.api", "scripts", "processing", "ui_components", "ui",
    "ui_common", "face_restoration", "util",
)
_UI_CATEGORIES = ("prompt", "image", "inpaint", "sampler", "accordions", "checkboxes", "dimensions", "cfg",
                  "denoising", "seed", "batch", "override_settings")

_current: Double | None = None


@dataclass
class Counters:
    """What the double counted since install (or ``Double.reset()``)."""

    process_images: int = 0
    """``processing.process_images`` calls, nested ones included."""
    sampler_calls: int = 0
    """Sampler runs (one per batch; a txt2img hires pass adds one)."""
    sampler_steps: int = 0
    """Sampler steps actually executed (img2img: ``int(min(d, 0.999) * steps) + 1`` per run)."""
    cond_computations: int = 0
    """Text-encoder runs that missed the cond cache."""
    saved_files: list[str] = field(default_factory=list)
    """Every file written by ``images.save_image`` (images, 4chan copies)."""


class ApiError(Exception):
    """What the API would answer with an HTTP error (e.g. 422 for an unknown always-on script)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass
class ApiResult:
    """``/sdapi/v1/*2img`` response: ``images`` are PIL (the API base64-encodes them), ``info`` = ``js()``."""

    processed: Any
    images: list
    info: str
    parameters: dict


class Double:
    """The installed double: module handles, counters, logs and helpers (one per install)."""

    def __init__(self, mode: str, root: Path) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.forge = mode == "forge"
        self.a1111 = not self.forge
        self.root = Path(root)
        self.counters = Counters()
        self.sampler_log: list = []
        """One ``modules.sd_samplers.SamplerRun`` per sampler call."""
        self.hooks: list[tuple[str, str, int]] = []
        """``(method, script class name, nesting depth)`` for every overridden hook the runner called."""
        self.events: list[tuple[str, int]] = []
        """``("process_images:start"|"init"|"process_images:end", depth)``."""
        self.errors: list[str] = []
        """Everything passed to ``errors.report``/``errors.display`` (swallowed hook exceptions included)."""
        self.warnings: list[str] = []
        """Logged warnings (sampler/scheduler autocorrection)."""
        self.launch_calls: list[tuple] = []
        self.depth = 0
        self.vae_loss = True
        """When True the fake VAE round trip moves every pixel by -1/0/+1 (unmasked pixels survive only via the overlay)."""
        self.controlnet_hook: dict | None = None
        """A1111 ControlNet's global UNet hook: ``{"p": p, "units": [...]}`` between its process() and postprocess()."""
        self.step_callbacks: list[Callable[[int, Any, Any], None]] = []
        self._step_actions: dict[int, list[str]] = {}
        self.real_gradio = False
        self.has_controlnet = True
        self._modules: dict[str, types.ModuleType] = {}
        self._saved_modules: dict[str, types.ModuleType] = {}
        self._saved_path: list[str] = []
        self._modules_before: set[str] = set()
        self._api_defaults: dict[int, list] = {}

    # ----------------------------------------------------------------------------- module handles
    def module(self, name: str) -> types.ModuleType:
        """A fake module by its real name, e.g. ``double.module("modules.shared")``."""
        return sys.modules[name]

    @property
    def scripts(self) -> types.ModuleType:
        return sys.modules["modules.scripts"]

    @property
    def processing(self) -> types.ModuleType:
        return sys.modules["modules.processing"]

    @property
    def shared(self) -> types.ModuleType:
        return sys.modules["modules.shared"]

    @property
    def opts(self) -> Any:
        return sys.modules["modules.shared"].opts

    @property
    def state(self) -> Any:
        return sys.modules["modules.shared"].state

    @property
    def images(self) -> types.ModuleType:
        return sys.modules["modules.images"]

    @property
    def script_callbacks(self) -> types.ModuleType:
        return sys.modules["modules.script_callbacks"]

    @property
    def infotext_utils(self) -> types.ModuleType:
        return sys.modules["modules.infotext_utils"]

    @property
    def gradio(self) -> types.ModuleType:
        return sys.modules["gradio"]

    @property
    def controlnet_external_code(self) -> types.ModuleType:
        """Forge: ``lib_controlnet.external_code``; A1111: the sd-webui-controlnet one."""
        if self.forge:
            return importlib.import_module("lib_controlnet.external_code")
        return importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code")

    @property
    def controlnet_script_path(self) -> str:
        if self.forge:
            return str(FAKE_ROOT / "extensions-builtin" / "sd_forge_controlnet" / "scripts" / "controlnet.py")
        return str(FAKE_ROOT / "extensions" / "sd-webui-controlnet" / "scripts" / "controlnet.py")

    # ----------------------------------------------------------------------------- recording
    def reset(self) -> None:
        """Zero the counters and clear the logs (not the options or the files)."""
        self.counters = Counters()
        self.sampler_log.clear()
        self.hooks.clear()
        self.events.clear()
        self.errors.clear()
        self.warnings.clear()

    def record_hook(self, method: str, script: Any, p: Any) -> None:
        base = getattr(self.scripts.Script, method, None)
        if getattr(type(script), method, None) is not base:
            self.hooks.append((method, type(script).__name__, self.depth))

    def record_event(self, name: str, p: Any) -> None:
        self.events.append((name, self.depth))

    def hook_names(self, script_class_name: str | None = None, *, depth: int | None = None) -> list[str]:
        """Hook names called so far, optionally for one script class and/or one nesting depth."""
        return [m for m, cls, d in self.hooks
                if (script_class_name is None or cls == script_class_name) and (depth is None or d == depth)]

    def assert_no_errors(self) -> None:
        """Fail if anything was reported through ``modules.errors`` (e.g. a swallowed hook exception)."""
        assert not self.errors, "errors reported:\n" + "\n".join(self.errors)

    # ----------------------------------------------------------------------------- interrupt / skip
    def interrupt_at_step(self, n: int, action: str = "interrupt") -> None:
        """After the ``n``-th sampler step (1-based, counted over all sampler runs since install or
        ``reset()``) call ``state.interrupt()`` (or ``"skip"`` / ``"stop_generating"``)."""
        if action not in ("interrupt", "skip", "stop_generating"):
            raise ValueError(action)
        self._step_actions.setdefault(n, []).append(action)

    def after_sampler_step(self, p: Any, run: Any) -> None:
        self.counters.sampler_steps += 1
        n = self.counters.sampler_steps
        for action in self._step_actions.pop(n, []):
            getattr(self.state, action)()
        for callback in list(self.step_callbacks):
            callback(n, p, run)

    def controlnet_state(self, p: Any) -> list[str]:
        """What ControlNet would apply to this sampling (recorded in each ``SamplerRun.controlnet``)."""
        if self.forge:
            unet = getattr(getattr(p.sd_model, "forge_objects", None), "unet", None)
            return [f"{m}/{model}@{w}" for _, m, model, w in getattr(unet, "patches", [])]
        hook = self.controlnet_hook
        if not hook:
            return []
        return [f"{u.module}/{u.model}@{u.weight}" for u in hook["units"]]

    # ----------------------------------------------------------------------------- runners
    def build_runner(self, scripts: Iterable[Any] = (), *, is_img2img: bool = True, builtins: bool = True,
                     extension_dir: str | os.PathLike | None = None) -> Any:
        """Load scripts like ``load_scripts`` and build one tab's UI like ``ui.py`` does.

        ``scripts`` items, in load order: a ``Script`` subclass, a path to a script ``.py`` file
        (imported the WebUI way: not in ``sys.modules``, extension dir on ``sys.path``, every Script
        subclass in its namespace registered), or ``CONTROLNET``. Built-ins (Comments, Refiner,
        Sampler, Seed) come last, as ``modules/processing_scripts`` do. The runner becomes
        ``modules.scripts.scripts_img2img`` (or ``scripts_txt2img``); ``args_from``/``args_to`` follow
        the UI construction order (``inputs[0]`` = the "Script" dropdown).
        """
        sm = self.scripts
        sm.scripts_data.clear()
        sm.postprocessing_scripts_data.clear()
        self.script_callbacks.clear_callbacks()
        for item in scripts:
            if isinstance(item, str) and item == CONTROLNET:
                if not self.has_controlnet:
                    raise RuntimeError("installed with controlnet=False")
                item = self.controlnet_script_path
            if isinstance(item, (str, os.PathLike)):
                path = os.path.abspath(os.fspath(item))
                folder = os.path.dirname(path)
                basedir = os.fspath(extension_dir) if extension_dir else (
                    os.path.dirname(folder) if os.path.basename(folder) == "scripts" else folder)
                sm.load_script_file(sm.ScriptFile(basedir, os.path.basename(path), path))
            elif inspect.isclass(item) and issubclass(item, sm.Script):
                path = inspect.getfile(item)
                sm.scripts_data.append(sm.ScriptClassData(item, path, os.path.dirname(path), inspect.getmodule(item)))
            else:
                raise TypeError(f"not a Script subclass, script path or CONTROLNET: {item!r}")
        if builtins:
            for scriptfile in sm.list_builtin_scripts():
                sm.load_script_file(scriptfile)
        runner = sm.ScriptRunner()
        if is_img2img:
            sm.scripts_img2img = runner
        else:
            sm.scripts_txt2img = runner
        self._build_ui(runner, is_img2img)
        self._api_defaults.pop(id(runner), None)
        return runner

    def _ui_categories(self) -> list[str]:
        sm = self.scripts
        sections: dict[str, int] = {}
        for runner in (sm.scripts_txt2img, sm.scripts_img2img):
            for script in getattr(runner, "scripts", []):
                if isinstance(script.section, str) and script.section not in _UI_CATEGORIES:
                    sections[script.section] = 1
        categories = [*_UI_CATEGORIES, *sections, "scripts"]
        user_order = {x.strip(): i * 2 + 1 for i, x in enumerate(self.opts.ui_reorder_list)}
        return [c for _, c in sorted(enumerate(categories), key=lambda x: user_order.get(x[1], x[0] * 2))]

    def _build_ui(self, runner: Any, is_img2img: bool) -> None:
        sm = self.scripts
        gr = self.gradio
        sm.scripts_current = runner
        try:
            runner.initialize_scripts(is_img2img=is_img2img)
            blocks = gr.Blocks() if self.real_gradio else contextlib.nullcontext()
            with blocks:
                runner.prepare_ui()
                for category in self._ui_categories():
                    if category == "accordions":
                        runner.setup_ui_for_section(category)
                    elif category == "scripts":
                        runner.setup_ui()
                    if category != "accordions":
                        runner.setup_ui_for_section(category)
        finally:
            sm.scripts_current = None

    def find_script(self, runner: Any, title: str) -> Any:
        """The script instance whose ``title()`` matches (case-insensitive)."""
        for script in runner.scripts:
            try:
                if script.title().lower() == title.lower():
                    return script
            except Exception:
                continue
        raise KeyError(title)

    @staticmethod
    def _ui_value(control: Any) -> Any:
        """What the browser sends for a control: ``type="index"`` radios/dropdowns send the index."""
        value = getattr(control, "value", None)
        if getattr(control, "type", None) == "index":
            choices = [c[0] if isinstance(c, tuple) else c for c in (getattr(control, "choices", None) or [])]
            return choices.index(value) if value in choices else value
        return value

    def ui_script_args(self, runner: Any, values: dict[str, Any] | None = None, *, selected: str | None = None) -> tuple:
        """The args tuple the UI passes (``p.script_args``): the current control values, with
        ``values[title]`` overriding a script's slice (a list from its start, or ``{index: value}``);
        ``selected`` = title of the selectable script picked in the dropdown (index 0 otherwise)."""
        args = [self._ui_value(c) if c is not None else None for c in runner.inputs]
        args[0] = 0
        if selected is not None:
            script = self.find_script(runner, selected)
            args[0] = runner.selectable_scripts.index(script) + 1
        for title, override in (values or {}).items():
            script = self.find_script(runner, title)
            items = override.items() if isinstance(override, dict) else enumerate(override)
            for i, value in items:
                if script.args_from + i >= script.args_to:
                    raise IndexError(f"{title}: argument {i} outside its {script.args_to - script.args_from} controls")
                args[script.args_from + i] = value
        return tuple(args)

    def default_script_args(self, runner: Any) -> list:
        """The API's ``init_default_script_args`` (api.py): ``[0] = 0``, each script's slice = the
        ``.value`` of its ``ui()`` controls (``ui()`` is called again; index radios give labels)."""
        last = max([1] + [s.args_to for s in runner.scripts if s.args_to is not None])
        args: list = [None] * last
        args[0] = 0
        gr = self.gradio
        with gr.Blocks() if self.real_gradio else contextlib.nullcontext():
            for script in runner.scripts:
                if script.ui(script.is_img2img):
                    args[script.args_from:script.args_to] = [c.value for c in script.ui(script.is_img2img)]
        return args

    # ----------------------------------------------------------------------------- UI / API calls
    def _ui_kwargs(self, is_img2img: bool, kwargs: dict) -> dict:
        opts = self.opts
        base = {
            "outpath_samples": opts.outdir_samples or (opts.outdir_img2img_samples if is_img2img else opts.outdir_txt2img_samples),
            "outpath_grids": opts.outdir_grids or (opts.outdir_img2img_grids if is_img2img else opts.outdir_txt2img_grids),
            "prompt": "", "negative_prompt": "", "styles": [], "batch_size": 1, "n_iter": 1, "cfg_scale": 7.0,
            "width": 512, "height": 512, "override_settings": {},
        }
        if is_img2img:
            base.update({"mask_blur": 4, "inpainting_fill": 1, "resize_mode": 0, "denoising_strength": 0.75,
                         "image_cfg_scale": 1.5, "inpaint_full_res": 0, "inpaint_full_res_padding": 32,
                         "inpainting_mask_invert": 0})
        base.update(kwargs)
        return base

    def ui_img2img(self, runner: Any = None, *, init_image: Image.Image, mask: Image.Image | None = None,
                   script_args: Sequence | None = None, username: str | None = None, **p_kwargs: Any) -> Any:
        """Run img2img the way the UI does (modules/img2img.py ``img2img``): UI defaults, ``p.scripts``
        then ``p.script_args = args`` (tuple; is_api False, so built-in setup() runs), the selectable
        script if ``args[0]``, else ``process_images``; ``state.begin``/``end`` around it. Returns Processed."""
        runner = runner or self.scripts.scripts_img2img
        args = tuple(script_args) if script_args is not None else self.ui_script_args(runner)
        kwargs = self._ui_kwargs(True, p_kwargs)
        p = self.processing.StableDiffusionProcessingImg2Img(sd_model=self.shared.sd_model, init_images=[init_image],
                                                             mask=mask, **kwargs)
        return self._run_ui(p, runner, args, username)

    def ui_txt2img(self, runner: Any = None, *, script_args: Sequence | None = None, username: str | None = None,
                   **p_kwargs: Any) -> Any:
        """Run txt2img the way the UI does (modules/txt2img.py)."""
        runner = runner or self.scripts.scripts_txt2img
        args = tuple(script_args) if script_args is not None else self.ui_script_args(runner)
        p = self.processing.StableDiffusionProcessingTxt2Img(sd_model=self.shared.sd_model,
                                                             **self._ui_kwargs(False, p_kwargs))
        return self._run_ui(p, runner, args, username)

    def _run_ui(self, p: Any, runner: Any, args: tuple, username: str | None) -> Any:
        state = self.state
        state.begin(job="img2img" if hasattr(p, "init_images") else "txt2img")
        try:
            p.scripts = runner
            p.script_args = args
            p.user = username
            try:
                processed = runner.run(p, *args)
                if processed is None:
                    processed = self.processing.process_images(p)
            finally:
                p.close()
            self.shared.total_tqdm.clear()
            return processed
        finally:
            state.end()

    def api_img2img(self, runner: Any = None, *, init_images: list[Image.Image], mask: Image.Image | None = None,
                    alwayson_scripts: dict[str, dict] | None = None, script_name: str | None = None,
                    script_args: list | None = None, save_images: bool = False, **request: Any) -> ApiResult:
        """``POST /sdapi/v1/img2img`` (api.py img2imgapi): API-model defaults, ``is_api = True`` (so
        built-in setup() is skipped), always-on args copied into the default args as-is from JSON."""
        runner = runner or self.scripts.scripts_img2img
        request.setdefault("denoising_strength", 0.75)
        p_cls = self.processing.StableDiffusionProcessingImg2Img
        return self._run_api(p_cls, runner, request, alwayson_scripts, script_name, script_args, save_images,
                             init_images=init_images, mask=mask)

    def api_txt2img(self, runner: Any = None, *, alwayson_scripts: dict[str, dict] | None = None,
                    script_name: str | None = None, script_args: list | None = None, save_images: bool = False,
                    **request: Any) -> ApiResult:
        """``POST /sdapi/v1/txt2img`` (api.py text2imgapi)."""
        runner = runner or self.scripts.scripts_txt2img
        p_cls = self.processing.StableDiffusionProcessingTxt2Img
        return self._run_api(p_cls, runner, request, alwayson_scripts, script_name, script_args, save_images)

    def _run_api(self, p_cls: type, runner: Any, request: dict, alwayson_scripts: dict | None, script_name: str | None,
                 script_args: list | None, save_images: bool, init_images: list | None = None, mask: Any = None) -> ApiResult:
        sd_samplers = self.module("modules.sd_samplers")
        request = dict(request)
        for key in ("include_init_images", "send_images", "infotext"):
            request.pop(key, None)
        selectable, selectable_idx = None, None
        if script_name:
            titles = [s.title().lower() for s in runner.selectable_scripts]
            if script_name.lower() not in titles:
                raise ApiError(422, f"Script '{script_name}' not found")
            selectable_idx = titles.index(script_name.lower())
            selectable = runner.selectable_scripts[selectable_idx]
        sampler, scheduler = sd_samplers.get_sampler_and_scheduler(
            request.pop("sampler_name", None) or request.pop("sampler_index", None) or "Euler", request.get("scheduler"))
        args = dict(request)
        args["sampler_name"] = sampler
        if not args.get("scheduler") and scheduler != "Automatic":
            args["scheduler"] = scheduler
        args["do_not_save_samples"] = not save_images
        args["do_not_save_grid"] = not save_images
        if init_images is not None:
            args["mask"] = mask
        if id(runner) not in self._api_defaults:
            self._api_defaults[id(runner)] = self.default_script_args(runner)
        full_args = list(self._api_defaults[id(runner)])
        if selectable is not None:
            full_args[selectable.args_from:selectable.args_to] = list(script_args or [])
            full_args[0] = selectable_idx + 1
        for name, payload in (alwayson_scripts or {}).items():
            titles = [s.title().lower() for s in runner.scripts]
            if name.lower() not in titles:
                raise ApiError(422, f"always on script {name} not found")
            script = runner.scripts[titles.index(name.lower())]
            if not script.alwayson:
                raise ApiError(422, "Cannot have a selectable script in the always on scripts params")
            if "args" in payload:
                for i in range(min(script.args_to - script.args_from, len(payload["args"]))):
                    full_args[script.args_from + i] = payload["args"][i]
        state = self.state
        p = p_cls(sd_model=self.shared.sd_model, **args)
        try:
            if init_images is not None:
                p.init_images = list(init_images)
            p.is_api = True
            p.scripts = runner
            is_img2img = init_images is not None
            p.outpath_grids = self.opts.outdir_img2img_grids if is_img2img else self.opts.outdir_txt2img_grids
            p.outpath_samples = self.opts.outdir_img2img_samples if is_img2img else self.opts.outdir_txt2img_samples
            state.begin(job="scripts_img2img" if is_img2img else "scripts_txt2img")
            try:
                if selectable is not None:
                    p.script_args = full_args
                    processed = runner.run(p, *p.script_args)
                else:
                    p.script_args = tuple(full_args)
                    processed = self.processing.process_images(p)
            finally:
                state.end()
                self.shared.total_tqdm.clear()
        finally:
            p.close()
        return ApiResult(processed, list(processed.images), processed.js(), dict(request))

    # ----------------------------------------------------------------------------- infotext paste
    def paste_infotext(self, paste_fields: Sequence[tuple[Any, Any]], infotext: str) -> list[dict]:
        """What the paste button sends to each ``(component, key)`` (infotext_utils.connect_paste):
        ``infotext_pasted`` callbacks run first; callable keys get the params dict; values are cast
        to ``type(component.value)`` (bool "False" -> False, int via float); failures/None -> no update."""
        gr = self.gradio
        params = self.infotext_utils.parse_generation_parameters(infotext)
        self.script_callbacks.infotext_pasted_callback(infotext, params)
        res = []
        for output, key in paste_fields:
            if callable(key):
                try:
                    v = key(params)
                except Exception:
                    self.module("modules.errors").report(f"Error executing {key}", exc_info=True)
                    v = None
            else:
                v = params.get(key, None)
            if v is None:
                res.append(gr.update())
            elif isinstance(v, dict) and v.get("__type__") == "update":
                res.append(v)
            else:
                try:
                    valtype = type(output.value)
                    if valtype is bool and v == "False":
                        val = False
                    elif valtype is int:
                        val = float(v)
                    else:
                        val = valtype(v)
                    res.append(gr.update(value=val))
                except Exception:
                    res.append(gr.update())
        return res

    # ----------------------------------------------------------------------------- images
    @staticmethod
    def make_image(width: int = 512, height: int = 512, seed: int = 0) -> Image.Image:
        """A deterministic RGB test picture (smooth gradients + a little texture)."""
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        rng = np.random.default_rng(seed)
        base = np.stack([xx / max(width - 1, 1), yy / max(height - 1, 1), (xx + yy) / max(width + height - 2, 1)], -1)
        arr = np.clip(base * 200 + 20 + rng.integers(0, 16, (height, width, 3)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "RGB")

    @staticmethod
    def make_mask(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
        """An "L" mask, white (repaint) inside ``box = (x1, y1, x2, y2)``, black elsewhere."""
        arr = np.zeros((height, width), dtype=np.uint8)
        x1, y1, x2, y2 = box
        arr[y1:y2, x1:x2] = 255
        return Image.fromarray(arr, "L")


# --------------------------------------------------------------------------------- install
def _load_package(name: str, directory: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, directory / "__init__.py",
                                                  submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_module(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _owned_tops(double: Double) -> tuple[str, ...]:
    tops = ["modules", "launch", "extensions"]
    if not double.real_gradio:
        tops.append("gradio")
    if double.forge:
        tops += ["lib_controlnet", "modules_forge"]
    return tuple(tops)


def _is_under(name: str, tops: tuple[str, ...]) -> bool:
    return any(name == t or name.startswith(t + ".") for t in tops)


def _component_hook(phase: str, component: Any, kwargs: dict) -> None:
    """modules/gradio_extensons.py IOComponent_init: runner + script_callbacks around each component."""
    scripts = sys.modules.get("modules.scripts")
    callbacks = sys.modules.get("modules.script_callbacks")
    runner = getattr(scripts, "scripts_current", None)
    if phase == "before":
        if runner is not None:
            runner.before_component(component, **kwargs)
        if callbacks is not None:
            callbacks.before_component_callback(component, **kwargs)
    else:
        if callbacks is not None:
            callbacks.after_component_callback(component, **kwargs)
        if runner is not None:
            runner.after_component(component, **kwargs)


_REAL_GRADIO_ORIGINALS: dict[str, Any] = {}


def _patch_real_gradio() -> None:
    """What A1111's ``modules/gradio_extensons.py`` does to a *real* gradio (3.41), so a Script's
    ``ui()`` builds real components as in the WebUI: every input/output component's constructor
    pops ``tooltip=`` into ``webui_tooltip``, runs the before/after component callbacks around the
    original constructor (``_component_hook``) and prefixes ``gradio-<block name>`` to its
    ``elem_classes``; ``get_config()`` hands ``webui_tooltip`` to the page (the WebUI's hints.js
    reads it from ``gradio_config``). ``uninstall()`` puts the originals back."""
    import gradio

    if _REAL_GRADIO_ORIGINALS:
        return
    io_class = getattr(gradio.components, "IOComponent", None) or gradio.components.Component
    block_class = gradio.blocks.Block
    original_init = io_class.__init__
    original_get_config = block_class.get_config

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        self.webui_tooltip = kwargs.pop("tooltip", None)
        _component_hook("before", self, kwargs)
        original_init(self, *args, **kwargs)
        self.elem_classes = [f"gradio-{self.get_block_name()}", *(self.elem_classes or [])]
        if getattr(self, "multiselect", False):
            self.elem_classes.append("multiselect")
        _component_hook("after", self, kwargs)

    def get_config(self: Any) -> dict:
        config = original_get_config(self)
        if getattr(self, "webui_tooltip", None):
            config["webui_tooltip"] = self.webui_tooltip
        return config

    _REAL_GRADIO_ORIGINALS.update({"io_class": io_class, "init": original_init,
                                   "block_class": block_class, "get_config": original_get_config})
    io_class.__init__ = init
    block_class.get_config = get_config


def _unpatch_real_gradio() -> None:
    if not _REAL_GRADIO_ORIGINALS:
        return
    _REAL_GRADIO_ORIGINALS["io_class"].__init__ = _REAL_GRADIO_ORIGINALS["init"]
    _REAL_GRADIO_ORIGINALS["block_class"].get_config = _REAL_GRADIO_ORIGINALS["get_config"]
    _REAL_GRADIO_ORIGINALS.clear()


def current() -> Double | None:
    """The installed Double, or None."""
    return _current


def install(mode: str = "a1111", tmp_path: str | os.PathLike | None = None, *, controlnet: bool = True) -> Double:
    """Put the fake WebUI modules into ``sys.modules`` under their real names and return the Double.

    ``mode``: ``"a1111"`` (v1.10.1, plus the fake sd-webui-controlnet importable as
    ``extensions.sd-webui-controlnet.scripts.external_code``) or ``"forge"`` (adds ``lib_controlnet``,
    ``modules_forge``, Forge signatures). ``tmp_path``: where the fake webui root (models, outputs,
    params.txt) lives; a new temp dir if None. ``controlnet=False``: the ControlNet extension is
    absent (its ``external_code`` / ``lib_controlnet`` imports fail). A previous install is
    uninstalled first.
    """
    global _current
    if _current is not None:
        uninstall()
    root = Path(tmp_path) if tmp_path is not None else Path(tempfile.mkdtemp(prefix="webui-double-"))
    root.mkdir(parents=True, exist_ok=True)
    double = Double(mode, root)
    double._saved_path = list(sys.path)
    double._modules_before = set(sys.modules)
    saved_gradio = {k: v for k, v in sys.modules.items() if _is_under(k, ("gradio",))}
    double.real_gradio = bool(saved_gradio) or importlib.util.find_spec("gradio") is not None
    tops = _owned_tops(double)
    double._saved_modules = {k: v for k, v in sys.modules.items() if _is_under(k, tops)}
    for name in double._saved_modules:
        del sys.modules[name]
    _current = double
    try:
        if not double.real_gradio:
            gradio = _load_package("gradio", FAKE_ROOT / "gradio")
            gradio._component_hook = _component_hook
        else:
            _patch_real_gradio()
        modules = _load_package("modules", FAKE_ROOT / "modules")
        modules.WEBUI_DOUBLE = double
        for name in _MODULE_ORDER:
            importlib.import_module(f"modules.{name}")
        _load_module("launch", FAKE_ROOT / "launch.py")
        if double.forge:
            _load_package("modules_forge", FAKE_ROOT / "modules_forge")
            importlib.import_module("modules_forge.forge_version")
        double.has_controlnet = controlnet
        if controlnet and double.forge:
            _load_package("lib_controlnet", FAKE_ROOT / "lib_controlnet")
            for name in ("enums", "external_code", "global_state"):
                importlib.import_module(f"lib_controlnet.{name}")
        elif controlnet:
            _load_package("extensions", FAKE_ROOT / "extensions")
            importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code")
        shared = sys.modules["modules.shared"]
        shared.sd_upscalers = sys.modules["modules.upscaler"].default_upscalers()
        sd_models = sys.modules["modules.sd_models"]
        info = sd_models.register_checkpoint("v1-5-pruned-emaonly.safetensors")
        shared.sd_model = sd_models.FakeSdModel(info)
        shared.opts.data["sd_model_checkpoint"] = info.title
        double.build_runner(is_img2img=False)
        double.build_runner(is_img2img=True)
        double.reset()
    except BaseException:
        uninstall()
        raise
    return double


def _references(module: types.ModuleType, names: set[str], objects: set[int]) -> bool:
    for value in list(vars(module).values()):
        if isinstance(value, types.ModuleType):
            if id(value) in objects:
                return True
            continue
        owner = getattr(value, "__module__", None)
        if not isinstance(owner, str):
            owner = getattr(type(value), "__module__", None)
        if isinstance(owner, str) and owner in names:
            return True
    return False


def uninstall() -> None:
    """Remove every fake module, restore what they shadowed, and purge modules imported meanwhile
    that hold references to the fakes (so e.g. ``lib_facepop.webui`` is re-imported next time)."""
    global _current
    double = _current
    if double is None:
        return
    tops = _owned_tops(double)
    fake_names = {name for name in sys.modules if _is_under(name, tops)}
    purged_ids = {id(sys.modules[name]) for name in fake_names}
    for name in fake_names:
        del sys.modules[name]
    new_names = set(sys.modules) - double._modules_before
    changed = True
    while changed:
        changed = False
        for name in sorted(new_names):
            module = sys.modules.get(name)
            if module is None or not isinstance(module, types.ModuleType):
                continue
            if _references(module, fake_names, purged_ids):
                purged_ids.add(id(module))
                fake_names.add(name)
                del sys.modules[name]
                changed = True
    sys.modules.update(double._saved_modules)
    sys.path[:] = double._saved_path
    _unpatch_real_gradio()
    _current = None
