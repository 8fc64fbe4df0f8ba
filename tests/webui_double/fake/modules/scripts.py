"""``modules.scripts`` (A1111 v1.10.1 modules/scripts.py; Forge deltas), written from its behaviour.

Faithful (line numbers: A1111 @82a973c0):
- ``AlwaysVisible`` sentinel (L14); arg classes (L16-45); Forge's ``PostprocessImageArgs(image, index)``
  requires ``index`` (Forge scripts.py L32), A1111's takes only ``image``.
- ``Script`` fields and no-op hooks (L52-348); ``elem_id`` formula (L334-342); ``ScriptBuiltinUI``
  (L351-363, ``setup_for_ui_only = True``); Forge adds ``sorting_priority = 0`` (Forge L100).
- ``ScriptRunner``: ``initialize_scripts`` classifies by ``show()`` (L578-612); ``create_script_ui``
  sets ``args_from``/``args_to`` around the ``ui()`` controls appended to ``inputs`` (L634-687,
  ``ui()`` returning None gives an empty slice); ``setup_ui`` puts the "Script" dropdown at
  ``inputs[0]`` between the section-less always-on scripts and the selectable ones (L708-766);
  ``run`` uses ``args[0]`` as a 1-based index into ``selectable_scripts`` (L768-784).
- Hook dispatch: only always-on scripts, only if the class overrides the hook (L786-803), in
  load order, cached per method by the number of scripts (L805-815); each call gets
  ``p.script_args[args_from:args_to]`` and any exception is swallowed and ``errors.report``-ed
  (L820-996). ``setup_scrips(p, is_ui=...)`` skips ``setup_for_ui_only`` scripts when not UI (L987-996).
- Forge: ``process_before_every_sampling`` calls every always-on script in list order (the second
  definition wins, Forge L888-894); extra hook ``before_process_init_images`` (Forge L864-870).
- ``load_scripts``: script files are imported with ``script_loading.load_module`` (not put in
  ``sys.modules``) with the extension dir prepended to ``sys.path`` and ``basedir()`` pointing to
  it; every class that is a ``Script`` subclass in the module namespace (imported ones included)
  is registered (L487-530); built-in ``modules/processing_scripts`` come last.
Simplified: metadata.ini ordering and the Settings callback-priority UI are not modelled.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from modules import _double, errors, paths, script_callbacks, script_loading, scripts_postprocessing, shared

AlwaysVisible = object()


class MaskBlendArgs:
    def __init__(self, current_latent, nmask, init_latent, mask, blended_latent, denoiser=None, sigma=None) -> None:
        self.current_latent = current_latent
        self.nmask = nmask
        self.init_latent = init_latent
        self.mask = mask
        self.blended_latent = blended_latent
        self.denoiser = denoiser
        self.is_final_blend = denoiser is None
        self.sigma = sigma


class PostSampleArgs:
    def __init__(self, samples) -> None:
        self.samples = samples


if _double().forge:
    class PostprocessImageArgs:
        """Forge: ``index`` = ``i + p.iteration * p.batch_size`` (Forge processing.py L1054)."""

        def __init__(self, image, index) -> None:
            self.image = image
            self.index = index
else:
    class PostprocessImageArgs:
        def __init__(self, image) -> None:
            self.image = image


class PostProcessMaskOverlayArgs:
    def __init__(self, index, mask_for_overlay, overlay_image) -> None:
        self.index = index
        self.mask_for_overlay = mask_for_overlay
        self.overlay_image = overlay_image


class PostprocessBatchListArgs:
    def __init__(self, images) -> None:
        self.images = images


@dataclass
class OnComponent:
    component: Any


class Script:
    name = None
    section = None
    filename = None
    args_from = None
    args_to = None
    alwayson = False
    is_txt2img = False
    is_img2img = False
    tabname = None
    group = None
    create_group = True
    infotext_fields = None
    paste_field_names = None
    api_info = None
    on_before_component_elem_id = None
    on_after_component_elem_id = None
    setup_for_ui_only = False
    controls = None

    def title(self):
        raise NotImplementedError()

    def ui(self, is_img2img):
        pass

    def show(self, is_img2img):
        return True

    def run(self, p, *args):
        pass

    def setup(self, p, *args):
        pass

    def before_process(self, p, *args):
        pass

    def process(self, p, *args):
        pass

    def before_process_batch(self, p, *args, **kwargs):
        pass

    def after_extra_networks_activate(self, p, *args, **kwargs):
        pass

    def process_before_every_sampling(self, p, *args, **kwargs):
        pass

    def process_batch(self, p, *args, **kwargs):
        pass

    def postprocess_batch(self, p, *args, **kwargs):
        pass

    def postprocess_batch_list(self, p, pp: PostprocessBatchListArgs, *args, **kwargs):
        pass

    def on_mask_blend(self, p, mba: MaskBlendArgs, *args):
        pass

    def post_sample(self, p, ps: PostSampleArgs, *args):
        pass

    def postprocess_image(self, p, pp: PostprocessImageArgs, *args):
        pass

    def postprocess_maskoverlay(self, p, ppmo: PostProcessMaskOverlayArgs, *args):
        pass

    def postprocess_image_after_composite(self, p, pp: PostprocessImageArgs, *args):
        pass

    def postprocess(self, p, processed, *args):
        pass

    def before_component(self, component, **kwargs):
        pass

    def after_component(self, component, **kwargs):
        pass

    def on_before_component(self, callback, *, elem_id):
        if self.on_before_component_elem_id is None:
            self.on_before_component_elem_id = []
        self.on_before_component_elem_id.append((elem_id, callback))

    def on_after_component(self, callback, *, elem_id):
        if self.on_after_component_elem_id is None:
            self.on_after_component_elem_id = []
        self.on_after_component_elem_id.append((elem_id, callback))

    def describe(self):
        return ""

    def elem_id(self, item_id):
        """``script_[tab_]<title>_<item_id>``; tab prefix only if show(True) == show(False)."""
        need_tabname = self.show(True) == self.show(False)
        tabkind = "img2img" if self.is_img2img else "txt2img"
        tabname = f"{tabkind}_" if need_tabname else ""
        title = re.sub(r"[^a-z_0-9]", "", re.sub(r"\s", "_", self.title().lower()))
        return f"script_{tabname}{title}_{item_id}"

    def before_hr(self, p, *args):
        pass


if _double().forge:
    Script.sorting_priority = 0


class ScriptBuiltinUI(Script):
    setup_for_ui_only = True

    def elem_id(self, item_id):
        need_tabname = self.show(True) == self.show(False)
        tabname = ("img2img" if self.is_img2img else "txt2img") + "_" if need_tabname else ""
        return f"{tabname}{item_id}"

    def show(self, is_img2img):
        return AlwaysVisible


current_basedir = paths.script_path


def basedir():
    """The extension dir while its script module is being imported; the webui root otherwise."""
    return current_basedir


ScriptFile = namedtuple("ScriptFile", ["basedir", "filename", "path"])
scripts_data: list = []
postprocessing_scripts_data: list = []
ScriptClassData = namedtuple("ScriptClassData", ["script_class", "path", "basedir", "module"])


@dataclass
class ScriptWithDependencies:
    script_canonical_name: str
    file: ScriptFile
    requires: list
    load_before: list
    load_after: list


def topological_sort(dependencies: dict) -> list:
    visited: dict = {}
    result: list = []

    def inner(name):
        visited[name] = True
        for dep in dependencies.get(name, []):
            if dep in dependencies and dep not in visited:
                inner(dep)
        result.append(name)

    for depname in dependencies:
        if depname not in visited:
            inner(depname)
    return result


def register_scripts_from_module(module, scriptfile: ScriptFile) -> None:
    """Every class in the module namespace that subclasses Script is registered (L497-504)."""
    for script_class in module.__dict__.values():
        if not inspect.isclass(script_class):
            continue
        if issubclass(script_class, Script):
            scripts_data.append(ScriptClassData(script_class, scriptfile.path, scriptfile.basedir, module))
        elif issubclass(script_class, scripts_postprocessing.ScriptPostprocessing):
            postprocessing_scripts_data.append(ScriptClassData(script_class, scriptfile.path, scriptfile.basedir, module))


def load_script_file(scriptfile: ScriptFile) -> None:
    """Import one script file the WebUI way (L506-523); Forge keeps the basedir on sys.path."""
    global current_basedir
    syspath = sys.path
    forge = _double().forge
    try:
        if scriptfile.basedir != paths.script_path:
            if forge:
                if scriptfile.basedir not in sys.path:
                    sys.path.insert(0, scriptfile.basedir)
            else:
                sys.path = [scriptfile.basedir] + sys.path
        current_basedir = scriptfile.basedir
        script_module = script_loading.load_module(scriptfile.path)
        register_scripts_from_module(script_module, scriptfile)
    except Exception:
        errors.report(f"Error loading script: {scriptfile.filename}", exc_info=True)
    finally:
        if not forge:
            sys.path = syspath
        current_basedir = paths.script_path


def list_builtin_scripts() -> list[ScriptFile]:
    folder = os.path.join(os.path.dirname(__file__), "processing_scripts")
    return [ScriptFile(paths.script_path, name, os.path.join(folder, name))
            for name in sorted(os.listdir(folder)) if name.endswith(".py") and not name.startswith("_")]


def load_scripts(extension_script_files: list[ScriptFile] | None = None, *, builtins: bool = True) -> None:
    """Clear and reload: extension script files in the given order, then the built-ins."""
    global scripts_txt2img, scripts_img2img, scripts_postproc
    scripts_data.clear()
    postprocessing_scripts_data.clear()
    script_callbacks.clear_callbacks()
    for scriptfile in list(extension_script_files or []) + (list_builtin_scripts() if builtins else []):
        load_script_file(scriptfile)
    scripts_txt2img = ScriptRunner()
    scripts_img2img = ScriptRunner()
    scripts_postproc = scripts_postprocessing.ScriptPostprocessingRunner()


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception:
        errors.report(f"Error calling: {filename}/{funcname}", exc_info=True)
    return default


class ScriptRunner:
    def __init__(self) -> None:
        self.scripts: list[Script] = []
        self.selectable_scripts: list[Script] = []
        self.alwayson_scripts: list[Script] = []
        self.titles: list[str] = []
        self.title_map: dict[str, Script] = {}
        self.infotext_fields: list = []
        self.paste_field_names: list = []
        self.inputs: list = [None]
        self.callback_map: dict = {}
        self.callback_names = [
            "before_process", "process", "before_process_batch", "after_extra_networks_activate", "process_batch",
            "postprocess", "postprocess_batch", "postprocess_batch_list", "post_sample", "on_mask_blend",
            "postprocess_image", "postprocess_maskoverlay", "postprocess_image_after_composite",
            "before_component", "after_component",
        ]
        self.on_before_component_elem_id: dict = {}
        self.on_after_component_elem_id: dict = {}

    def initialize_scripts(self, is_img2img: bool) -> None:
        self.scripts.clear()
        self.alwayson_scripts.clear()
        self.selectable_scripts.clear()
        for script_data in scripts_data:
            try:
                script = script_data.script_class()
            except Exception:
                errors.report(f"Error # failed to initialize Script {script_data.module}: ", exc_info=True)
                continue
            script.filename = script_data.path
            script.is_txt2img = not is_img2img
            script.is_img2img = is_img2img
            script.tabname = "img2img" if is_img2img else "txt2img"
            visibility = script.show(script.is_img2img)
            if visibility == AlwaysVisible:
                self.scripts.append(script)
                self.alwayson_scripts.append(script)
                script.alwayson = True
            elif visibility:
                self.scripts.append(script)
                self.selectable_scripts.append(script)
        self.callback_map.clear()
        self.apply_on_before_component_callbacks()

    def apply_on_before_component_callbacks(self) -> None:
        for script in self.scripts:
            on_before = script.on_before_component_elem_id or []
            on_after = script.on_after_component_elem_id or []
            for elem_id, callback in on_before:
                self.on_before_component_elem_id.setdefault(elem_id, []).append((callback, script))
            for elem_id, callback in on_after:
                self.on_after_component_elem_id.setdefault(elem_id, []).append((callback, script))
            on_before.clear()
            on_after.clear()

    def create_script_ui(self, script: Script) -> None:
        script.args_from = len(self.inputs)
        script.args_to = len(self.inputs)
        try:
            self.create_script_ui_inner(script)
        except Exception:
            errors.report(f"Error creating UI for {script.name}: ", exc_info=True)

    def create_script_ui_inner(self, script: Script) -> None:
        from modules.api import models as api_models

        controls = wrap_call(script.ui, script.filename, "ui", script.is_img2img)
        script.controls = controls
        if controls is None:
            return
        script.name = wrap_call(script.title, script.filename, "title", default=script.filename).lower()
        api_args = []
        for control in controls:
            control.custom_script_source = os.path.basename(script.filename)
            arg_info = api_models.ScriptArg(label=getattr(control, "label", None) or "")
            for field in ("value", "minimum", "maximum", "step"):
                v = getattr(control, field, None)
                if v is not None:
                    setattr(arg_info, field, v)
            choices = getattr(control, "choices", None)
            if choices is not None:
                arg_info.choices = [x[0] if isinstance(x, tuple) else x for x in choices]
            api_args.append(arg_info)
        script.api_info = api_models.ScriptInfo(name=script.name, is_img2img=script.is_img2img,
                                                is_alwayson=script.alwayson, args=api_args)
        if script.infotext_fields is not None:
            self.infotext_fields += script.infotext_fields
        if script.paste_field_names is not None:
            self.paste_field_names += script.paste_field_names
        self.inputs += list(controls)
        script.args_to = len(self.inputs)

    def setup_ui_for_section(self, section, scriptlist=None) -> None:
        import gradio as gr

        if scriptlist is None:
            scriptlist = self.alwayson_scripts
        if _double().forge:
            scriptlist = sorted(scriptlist, key=lambda x: x.sorting_priority)
        for script in scriptlist:
            if script.alwayson and script.section != section:
                continue
            if script.create_group:
                with gr.Group(visible=script.alwayson) as group:
                    self.create_script_ui(script)
                script.group = group
            else:
                self.create_script_ui(script)

    def prepare_ui(self) -> None:
        self.inputs = [None]

    def setup_ui(self) -> list:
        import gradio as gr

        all_titles = [wrap_call(script.title, script.filename, "title") or script.filename for script in self.scripts]
        self.title_map = {title.lower(): script for title, script in zip(all_titles, self.scripts, strict=False)}
        self.titles = [wrap_call(script.title, script.filename, "title") or f"{script.filename} [error]"
                       for script in self.selectable_scripts]
        self.setup_ui_for_section(None)
        dropdown = gr.Dropdown(label="Script", elem_id="script_list", choices=["None"] + self.titles, value="None",
                               type="index")
        self.inputs[0] = dropdown
        self.setup_ui_for_section(None, self.selectable_scripts)

        def select_script(script_index):
            if script_index is None:
                script_index = 0
            selected = self.selectable_scripts[script_index - 1] if script_index > 0 else None
            return [gr.update(visible=selected == s) for s in self.selectable_scripts]

        dropdown.change(fn=select_script, inputs=[dropdown], outputs=[s.group for s in self.selectable_scripts])
        self.infotext_fields.append((dropdown, lambda x: gr.update(value=x.get("Script", "None"))))
        self.apply_on_before_component_callbacks()
        return self.inputs

    def run(self, p, *args):
        script_index = args[0]
        if script_index == 0 or script_index is None:
            return None
        script = self.selectable_scripts[script_index - 1]
        if script is None:
            return None
        script_args = args[script.args_from:script.args_to]
        processed = script.run(p, *script_args)
        shared.total_tqdm.clear()
        return processed

    def list_scripts_for_method(self, method_name: str) -> list[Script]:
        if method_name in ("before_component", "after_component"):
            return self.scripts
        return self.alwayson_scripts

    def create_ordered_callbacks_list(self, method_name: str, *, enable_user_sort: bool = True) -> list:
        script_list = self.list_scripts_for_method(method_name)
        category = f"script_{method_name}"
        callbacks: list = []
        for script in script_list:
            if getattr(script.__class__, method_name, None) == getattr(Script, method_name, None):
                continue
            script_callbacks.add_callback(callbacks, script, category=category, name=script.__class__.__name__,
                                          filename=script.filename)
        return script_callbacks.sort_callbacks(category, callbacks, enable_user_sort=enable_user_sort)

    def ordered_callbacks(self, method_name: str, *, enable_user_sort: bool = True) -> list:
        script_list = self.list_scripts_for_method(method_name)
        category = f"script_{method_name}"
        scripts_len, callbacks = self.callback_map.get(category, (-1, None))
        if callbacks is None or scripts_len != len(script_list):
            callbacks = self.create_ordered_callbacks_list(method_name, enable_user_sort=enable_user_sort)
            self.callback_map[category] = len(script_list), callbacks
        return callbacks

    def ordered_scripts(self, method_name: str) -> list[Script]:
        return [x.callback for x in self.ordered_callbacks(method_name)]

    def _call(self, method: str, script: Script, p, *call_args, **kwargs) -> None:
        """Slice this script's args out of ``p.script_args``, call, swallow + report errors."""
        _double().record_hook(method, script, p)
        try:
            script_args = p.script_args[script.args_from:script.args_to]
            getattr(script, method)(p, *call_args, *script_args, **kwargs)
        except Exception:
            errors.report(f"Error running {method}: {script.filename}", exc_info=True)

    def before_process(self, p) -> None:
        for script in self.ordered_scripts("before_process"):
            self._call("before_process", script, p)

    def process(self, p) -> None:
        for script in self.ordered_scripts("process"):
            self._call("process", script, p)

    def process_before_every_sampling(self, p, **kwargs) -> None:
        scripts = self.alwayson_scripts if _double().forge else self.ordered_scripts("process_before_every_sampling")
        for script in list(scripts):
            self._call("process_before_every_sampling", script, p, **kwargs)

    def before_process_batch(self, p, **kwargs) -> None:
        for script in self.ordered_scripts("before_process_batch"):
            self._call("before_process_batch", script, p, **kwargs)

    def after_extra_networks_activate(self, p, **kwargs) -> None:
        for script in self.ordered_scripts("after_extra_networks_activate"):
            self._call("after_extra_networks_activate", script, p, **kwargs)

    def process_batch(self, p, **kwargs) -> None:
        for script in self.ordered_scripts("process_batch"):
            self._call("process_batch", script, p, **kwargs)

    def postprocess(self, p, processed) -> None:
        for script in self.ordered_scripts("postprocess"):
            self._call("postprocess", script, p, processed)

    def postprocess_batch(self, p, images, **kwargs) -> None:
        for script in self.ordered_scripts("postprocess_batch"):
            self._call("postprocess_batch", script, p, images=images, **kwargs)

    def postprocess_batch_list(self, p, pp: PostprocessBatchListArgs, **kwargs) -> None:
        for script in self.ordered_scripts("postprocess_batch_list"):
            self._call("postprocess_batch_list", script, p, pp, **kwargs)

    def post_sample(self, p, ps: PostSampleArgs) -> None:
        for script in self.ordered_scripts("post_sample"):
            self._call("post_sample", script, p, ps)

    def on_mask_blend(self, p, mba: MaskBlendArgs) -> None:
        for script in self.ordered_scripts("on_mask_blend"):
            self._call("on_mask_blend", script, p, mba)

    def postprocess_image(self, p, pp: PostprocessImageArgs) -> None:
        for script in self.ordered_scripts("postprocess_image"):
            self._call("postprocess_image", script, p, pp)

    def postprocess_maskoverlay(self, p, ppmo: PostProcessMaskOverlayArgs) -> None:
        for script in self.ordered_scripts("postprocess_maskoverlay"):
            self._call("postprocess_maskoverlay", script, p, ppmo)

    def postprocess_image_after_composite(self, p, pp: PostprocessImageArgs) -> None:
        for script in self.ordered_scripts("postprocess_image_after_composite"):
            self._call("postprocess_image_after_composite", script, p, pp)

    def before_component(self, component, **kwargs) -> None:
        for callback, script in self.on_before_component_elem_id.get(kwargs.get("elem_id"), []):
            try:
                callback(OnComponent(component=component))
            except Exception:
                errors.report(f"Error running on_before_component: {script.filename}", exc_info=True)
        for script in self.ordered_scripts("before_component"):
            try:
                script.before_component(component, **kwargs)
            except Exception:
                errors.report(f"Error running before_component: {script.filename}", exc_info=True)

    def after_component(self, component, **kwargs) -> None:
        for callback, script in self.on_after_component_elem_id.get(getattr(component, "elem_id", None), []):
            try:
                callback(OnComponent(component=component))
            except Exception:
                errors.report(f"Error running on_after_component: {script.filename}", exc_info=True)
        for script in self.ordered_scripts("after_component"):
            try:
                script.after_component(component, **kwargs)
            except Exception:
                errors.report(f"Error running after_component: {script.filename}", exc_info=True)

    def script(self, title: str) -> Script | None:
        return self.title_map.get(title.lower())

    def reload_sources(self, cache: dict) -> None:
        for si, script in list(enumerate(self.scripts)):
            args_from, args_to, filename = script.args_from, script.args_to, script.filename
            module = cache.get(filename)
            if module is None:
                module = script_loading.load_module(script.filename)
                cache[filename] = module
            for script_class in module.__dict__.values():
                if type(script_class) is type and issubclass(script_class, Script):
                    self.scripts[si] = script_class()
                    self.scripts[si].filename = filename
                    self.scripts[si].args_from = args_from
                    self.scripts[si].args_to = args_to

    def before_hr(self, p) -> None:
        for script in self.ordered_scripts("before_hr"):
            self._call("before_hr", script, p)

    def setup_scrips(self, p, *, is_ui: bool = True) -> None:
        for script in self.ordered_scripts("setup"):
            if not is_ui and script.setup_for_ui_only:
                continue
            self._call("setup", script, p)

    def set_named_arg(self, args, script_name: str, arg_elem_id: str, value, fuzzy: bool = False):
        """Set one control's value in a full args tuple/list by the control's elem_id (L998-1025)."""
        script = next((x for x in self.scripts if x.name == script_name), None)
        if script is None:
            raise RuntimeError(f"script {script_name} not found")
        for i, control in enumerate(script.controls):
            if (arg_elem_id in control.elem_id) if fuzzy else (arg_elem_id == control.elem_id):
                index = script.args_from + i
                if isinstance(args, tuple):
                    return args[:index] + (value,) + args[index + 1:]
                if isinstance(args, list):
                    args[index] = value
                    return args
                raise RuntimeError(f"args is not a list or tuple, but {type(args)}")
        raise RuntimeError(f"arg_elem_id {arg_elem_id} not found in script {script_name}")


if _double().forge:
    def _before_process_init_images(self, p, pp, **kwargs) -> None:
        for script in self.ordered_scripts("before_process_init_images"):
            self._call("before_process_init_images", script, p, pp, **kwargs)

    ScriptRunner.before_process_init_images = _before_process_init_images


scripts_txt2img: ScriptRunner | None = None
scripts_img2img: ScriptRunner | None = None
scripts_postproc = None
scripts_current: ScriptRunner | None = None


def reload_script_body_only() -> None:
    cache: dict = {}
    scripts_txt2img.reload_sources(cache)
    scripts_img2img.reload_sources(cache)


reload_scripts = load_scripts
