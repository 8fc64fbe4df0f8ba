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


def _report(message: str) -> None:
    """Every failure in a script is reported with its traceback and then ignored."""
    errors.report(message, exc_info=True)


# ------------------------------------------------------------------------- arguments of some hooks
class MaskBlendArgs:
    def __init__(self, current_latent, nmask, init_latent, mask, blended_latent, denoiser=None, sigma=None) -> None:
        self.current_latent, self.nmask, self.init_latent = current_latent, nmask, init_latent
        self.mask, self.blended_latent = mask, blended_latent
        self.denoiser, self.is_final_blend, self.sigma = denoiser, denoiser is None, sigma


class PostSampleArgs:
    def __init__(self, samples) -> None:
        self.samples = samples


if _double().forge:
    class PostprocessImageArgs:
        """Forge: ``index`` = ``i + p.iteration * p.batch_size`` (Forge processing.py L1054)."""

        def __init__(self, image, index) -> None:
            self.image, self.index = image, index
else:
    class PostprocessImageArgs:
        def __init__(self, image) -> None:
            self.image = image


class PostprocessBatchListArgs:
    def __init__(self, images) -> None:
        self.images = images


class PostProcessMaskOverlayArgs:
    def __init__(self, index, mask_for_overlay, overlay_image) -> None:
        self.index, self.mask_for_overlay, self.overlay_image = index, mask_for_overlay, overlay_image


@dataclass
class OnComponent:
    component: Any


# ---------------------------------------------------------------------------------------- Script
def _add_component_callback(script, attribute: str, elem_id, callback) -> None:
    registered = getattr(script, attribute)
    if registered is None:
        registered = []
        setattr(script, attribute, registered)
    registered.append((elem_id, callback))


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
        _add_component_callback(self, "on_before_component_elem_id", elem_id, callback)

    def on_after_component(self, callback, *, elem_id):
        _add_component_callback(self, "on_after_component_elem_id", elem_id, callback)

    def describe(self):
        return ""

    def elem_id(self, item_id):
        """``script_[tab_]<title>_<item_id>``; tab prefix only if show(True) == show(False)."""
        in_both_tabs = self.show(True) == self.show(False)  # then the ids need the tab to stay unique
        tab_prefix = ("img2img_" if self.is_img2img else "txt2img_") if in_both_tabs else ""
        slug = re.sub(r"\s", "_", self.title().lower())
        return f"script_{tab_prefix}{re.sub(r'[^a-z_0-9]', '', slug)}_{item_id}"

    def before_hr(self, p, *args):
        pass


if _double().forge:
    Script.sorting_priority = 0


class ScriptBuiltinUI(Script):
    """The WebUI's own always-visible controls (seed, sampler, ...): plain elem_ids, UI-only setup()."""

    def show(self, is_img2img):
        return AlwaysVisible

    def elem_id(self, item_id):
        if not self.show(True) == self.show(False):
            return f"{item_id}"
        return f"{'img2img' if self.is_img2img else 'txt2img'}_{item_id}"

    setup_for_ui_only = True


# ------------------------------------------------------------------------------------ loading
ScriptFile = namedtuple("ScriptFile", "basedir filename path")
ScriptClassData = namedtuple("ScriptClassData", "script_class path basedir module")
scripts_data: list = []
postprocessing_scripts_data: list = []
current_basedir = paths.script_path


def basedir():
    """The extension dir while its script module is being imported; the webui root otherwise."""
    return current_basedir


@dataclass
class ScriptWithDependencies:
    """One script file with its metadata.ini ordering constraints."""

    script_canonical_name: str
    file: ScriptFile
    requires: list
    load_before: list
    load_after: list


def topological_sort(dependencies: dict) -> list:
    """Depth-first: a name comes after the (known) names it depends on; ties keep dict order."""
    ordered: list = []
    placed: set = set()

    def place(name):
        placed.add(name)
        for required in dependencies.get(name, []):
            if required not in placed and required in dependencies:
                place(required)
        ordered.append(name)

    for name in dependencies:
        if name not in placed:
            place(name)
    return ordered


def register_scripts_from_module(module, scriptfile: ScriptFile) -> None:
    """Every class in the module namespace that subclasses Script is registered (L497-504)."""
    for candidate in module.__dict__.values():
        if not inspect.isclass(candidate):
            continue
        if issubclass(candidate, Script):
            registry = scripts_data
        elif issubclass(candidate, scripts_postprocessing.ScriptPostprocessing):
            registry = postprocessing_scripts_data
        else:
            continue
        registry.append(ScriptClassData(candidate, scriptfile.path, scriptfile.basedir, module))


def _extension_dir_on_sys_path(directory: str, forge: bool) -> None:
    """A1111 prepends the dir on a new list (restored afterwards); Forge inserts it once and keeps it."""
    if not forge:
        sys.path = [directory, *sys.path]
    elif directory not in sys.path:
        sys.path.insert(0, directory)


def load_script_file(scriptfile: ScriptFile) -> None:
    """Import one script file the WebUI way (L506-523); Forge keeps the basedir on sys.path."""
    global current_basedir
    path_before = sys.path
    forge = _double().forge
    try:
        if scriptfile.basedir != paths.script_path:
            _extension_dir_on_sys_path(scriptfile.basedir, forge)
        current_basedir = scriptfile.basedir
        register_scripts_from_module(script_loading.load_module(scriptfile.path), scriptfile)
    except Exception:
        _report(f"Error loading script: {scriptfile.filename}")
    finally:
        current_basedir = paths.script_path
        if not forge:
            sys.path = path_before


def list_builtin_scripts() -> list[ScriptFile]:
    folder = os.path.join(os.path.dirname(__file__), "processing_scripts")
    return [ScriptFile(paths.script_path, name, os.path.join(folder, name))
            for name in sorted(os.listdir(folder)) if name.endswith(".py") and not name.startswith("_")]


def load_scripts(extension_script_files: list[ScriptFile] | None = None, *, builtins: bool = True) -> None:
    """Clear and reload: extension script files in the given order, then the built-ins."""
    global scripts_txt2img, scripts_img2img, scripts_postproc
    for registry in (scripts_data, postprocessing_scripts_data):
        registry.clear()
    script_callbacks.clear_callbacks()
    files = list(extension_script_files or [])
    if builtins:
        files += list_builtin_scripts()
    for scriptfile in files:
        load_script_file(scriptfile)
    scripts_txt2img, scripts_img2img, scripts_postproc = (
        ScriptRunner(), ScriptRunner(), scripts_postprocessing.ScriptPostprocessingRunner())


reload_scripts = load_scripts


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):
    try:
        result = func(*args, **kwargs)
    except Exception:
        _report(f"Error calling: {filename}/{funcname}")
        return default
    return result


def _title_or(script: Script, fallback: str) -> str:
    return wrap_call(script.title, script.filename, "title") or fallback


def _api_arg(control):
    """The ``ScriptArg`` the API lists for one control."""
    from modules.api import models as api_models

    described = api_models.ScriptArg(label=getattr(control, "label", None) or "")
    present = {name: getattr(control, name, None) for name in ("value", "minimum", "maximum", "step")}
    for name, known in present.items():
        if known is not None:
            setattr(described, name, known)
    choices = getattr(control, "choices", None)
    if choices is not None:
        described.choices = list(map(_choice_label, choices))
    return described


def _choice_label(choice):
    """gradio lists choices as values or as (label, value) pairs; the API shows the label."""
    return choice[0] if isinstance(choice, tuple) else choice


def _script_selector(runner, gr):
    """The dropdown's change handler: show the chosen selectable script's group, hide the others."""

    def select_script(script_index):
        index = 0 if script_index is None else script_index
        chosen = None if not index > 0 else runner.selectable_scripts[index - 1]
        return [gr.update(visible=chosen == script) for script in runner.selectable_scripts]

    return select_script


def _inherits_hook(script: Script, method_name: str) -> bool:
    """True when the script's class does not override ``method_name`` (then it gets no call)."""
    return getattr(script.__class__, method_name, None) == getattr(Script, method_name, None)


# ---------------------------------------------------------------------------------- ScriptRunner
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
        for registry in (self.scripts, self.alwayson_scripts, self.selectable_scripts):
            registry.clear()
        self.callback_map.clear()
        tab = "img2img" if is_img2img else "txt2img"
        for entry in scripts_data:
            try:
                script = entry.script_class()
            except Exception:
                _report(f"Error # failed to initialize Script {entry.module}: ")
                continue
            script.filename = entry.path
            script.is_txt2img, script.is_img2img, script.tabname = not is_img2img, is_img2img, tab
            shown = script.show(script.is_img2img)
            if shown == AlwaysVisible:
                kind_list = self.alwayson_scripts
                script.alwayson = True
            elif shown:
                kind_list = self.selectable_scripts
            else:
                continue  # hidden in this tab
            self.scripts.append(script)
            kind_list.append(script)
        self.apply_on_before_component_callbacks()

    def apply_on_before_component_callbacks(self) -> None:
        """Move each script's pending on_before/on_after_component callbacks into the runner's tables."""
        tables = (("on_before_component_elem_id", self.on_before_component_elem_id),
                  ("on_after_component_elem_id", self.on_after_component_elem_id))
        for script in self.scripts:
            for attribute, table in tables:
                pending = getattr(script, attribute) or []
                for elem_id, callback in pending:
                    table.setdefault(elem_id, []).append((callback, script))
                pending.clear()

    def create_script_ui(self, script: Script) -> None:
        script.args_from = script.args_to = len(self.inputs)  # an empty slice unless ui() adds controls
        try:
            self.create_script_ui_inner(script)
        except Exception:
            _report(f"Error creating UI for {script.name}: ")

    def create_script_ui_inner(self, script: Script) -> None:
        from modules.api import models as api_models

        controls = script.controls = wrap_call(script.ui, script.filename, "ui", script.is_img2img)
        if controls is None:
            return
        title = wrap_call(script.title, script.filename, "title", default=script.filename)
        script.name = title.lower()
        api_args, origin = [], script.filename
        for control in controls:
            control.custom_script_source = os.path.basename(origin)  # the file that made the control
            api_args.append(_api_arg(control))
        script.api_info = api_models.ScriptInfo(name=script.name, is_img2img=script.is_img2img,
                                                is_alwayson=script.alwayson, args=api_args)
        for attribute in ("infotext_fields", "paste_field_names"):
            contributed = getattr(script, attribute)
            if contributed is not None:
                getattr(self, attribute).extend(contributed)
        self.inputs.extend(list(controls))
        script.args_to = len(self.inputs)

    def setup_ui_for_section(self, section, scriptlist=None) -> None:
        import gradio as gr

        candidates = self.alwayson_scripts if scriptlist is None else scriptlist
        if _double().forge:
            candidates = sorted(candidates, key=lambda script: script.sorting_priority)
        for script in candidates:
            if script.alwayson and script.section != section:
                continue  # it belongs to another section of the tab
            if not script.create_group:
                self.create_script_ui(script)
                continue
            shown_now = script.alwayson  # selectable scripts start hidden until chosen in the dropdown
            with gr.Group(visible=shown_now) as group:
                self.create_script_ui(script)
            script.group = group

    def prepare_ui(self) -> None:
        self.inputs = [None]

    def setup_ui(self) -> list:
        import gradio as gr

        titles = [_title_or(script, script.filename) for script in self.scripts]
        self.title_map = {title.lower(): script for title, script in zip(titles, self.scripts, strict=False)}
        self.titles = [_title_or(script, f"{script.filename} [error]") for script in self.selectable_scripts]
        self.setup_ui_for_section(None)
        dropdown = gr.Dropdown(label="Script", elem_id="script_list", choices=["None"] + self.titles, value="None",
                               type="index")
        self.inputs[0] = dropdown  # its index (1-based, 0 = None) is args[0] of run()
        self.setup_ui_for_section(None, self.selectable_scripts)
        dropdown.change(fn=_script_selector(self, gr), inputs=[dropdown],
                        outputs=[s.group for s in self.selectable_scripts])
        self.infotext_fields.append((dropdown, lambda x: gr.update(value=x.get("Script", "None"))))
        self.apply_on_before_component_callbacks()
        return self.inputs

    def run(self, p, *args):
        chosen = args[0]
        if chosen is None or chosen == 0:
            return None
        script = self.selectable_scripts[chosen - 1]
        if script is None:
            return None
        processed = script.run(p, *args[script.args_from:script.args_to])
        shared.total_tqdm.clear()
        return processed

    def list_scripts_for_method(self, method_name: str) -> list[Script]:
        if method_name in ("before_component", "after_component"):
            return self.scripts
        return self.alwayson_scripts

    def create_ordered_callbacks_list(self, method_name: str, *, enable_user_sort: bool = True) -> list:
        category = f"script_{method_name}"
        found: list = []
        for script in self.list_scripts_for_method(method_name):
            if _inherits_hook(script, method_name):
                continue
            script_callbacks.add_callback(found, script, category=category, name=script.__class__.__name__,
                                          filename=script.filename)
        return script_callbacks.sort_callbacks(category, found, enable_user_sort=enable_user_sort)

    def ordered_callbacks(self, method_name: str, *, enable_user_sort: bool = True) -> list:
        """Cached per method; the cache is only rebuilt when the number of scripts changed."""
        category = f"script_{method_name}"
        count = len(self.list_scripts_for_method(method_name))
        cached_count, cached = self.callback_map.get(category, (-1, None))
        if cached is None or cached_count != count:
            cached = self.create_ordered_callbacks_list(method_name, enable_user_sort=enable_user_sort)
            self.callback_map[category] = count, cached
        return cached

    def ordered_scripts(self, method_name: str) -> list[Script]:
        return [entry.callback for entry in self.ordered_callbacks(method_name)]

    def _call(self, method: str, script: Script, p, *call_args, **kwargs) -> None:
        """Slice this script's args out of ``p.script_args``, call, swallow + report errors."""
        _double().record_hook(method, script, p)
        try:
            script_args = p.script_args[script.args_from:script.args_to]
            getattr(script, method)(p, *call_args, *script_args, **kwargs)
        except Exception:
            _report(f"Error running {method}: {script.filename}")

    def _each(self, method: str, p, *call_args, **kwargs) -> None:
        """The hook ``method`` of every always-on script that overrides it, in order."""
        for script in self.ordered_scripts(method):
            self._call(method, script, p, *call_args, **kwargs)

    def before_process(self, p) -> None:
        self._each("before_process", p)

    def process(self, p) -> None:
        self._each("process", p)

    def process_before_every_sampling(self, p, **kwargs) -> None:
        if not _double().forge:
            self._each("process_before_every_sampling", p, **kwargs)
            return
        for script in list(self.alwayson_scripts):  # Forge: every always-on script, overriding or not
            self._call("process_before_every_sampling", script, p, **kwargs)

    def before_process_batch(self, p, **kwargs) -> None:
        self._each("before_process_batch", p, **kwargs)

    def after_extra_networks_activate(self, p, **kwargs) -> None:
        self._each("after_extra_networks_activate", p, **kwargs)

    def process_batch(self, p, **kwargs) -> None:
        self._each("process_batch", p, **kwargs)

    def postprocess(self, p, processed) -> None:
        self._each("postprocess", p, processed)

    def postprocess_batch(self, p, images, **kwargs) -> None:
        self._each("postprocess_batch", p, images=images, **kwargs)

    def postprocess_batch_list(self, p, pp: PostprocessBatchListArgs, **kwargs) -> None:
        self._each("postprocess_batch_list", p, pp, **kwargs)

    def post_sample(self, p, ps: PostSampleArgs) -> None:
        self._each("post_sample", p, ps)

    def on_mask_blend(self, p, mba: MaskBlendArgs) -> None:
        self._each("on_mask_blend", p, mba)

    def postprocess_image(self, p, pp: PostprocessImageArgs) -> None:
        self._each("postprocess_image", p, pp)

    def postprocess_maskoverlay(self, p, ppmo: PostProcessMaskOverlayArgs) -> None:
        self._each("postprocess_maskoverlay", p, ppmo)

    def postprocess_image_after_composite(self, p, pp: PostprocessImageArgs) -> None:
        self._each("postprocess_image_after_composite", p, pp)

    def before_hr(self, p) -> None:
        self._each("before_hr", p)

    def _component_hooks(self, method: str, component, kwargs: dict, by_elem_id: list) -> None:
        """First the callbacks registered for this elem_id, then every script's ``method``."""
        for callback, script in by_elem_id:
            try:
                callback(OnComponent(component=component))
            except Exception:
                _report(f"Error running on_{method}: {script.filename}")
        for script in self.ordered_scripts(method):
            try:
                getattr(script, method)(component, **kwargs)
            except Exception:
                _report(f"Error running {method}: {script.filename}")

    def before_component(self, component, **kwargs) -> None:
        registered = self.on_before_component_elem_id.get(kwargs.get("elem_id"), [])
        self._component_hooks("before_component", component, kwargs, registered)

    def after_component(self, component, **kwargs) -> None:
        registered = self.on_after_component_elem_id.get(getattr(component, "elem_id", None), [])
        self._component_hooks("after_component", component, kwargs, registered)

    def script(self, title: str) -> Script | None:
        return self.title_map.get(title.lower())

    def reload_sources(self, cache: dict) -> None:
        for position, old in list(enumerate(self.scripts)):
            module = cache.get(old.filename)
            if module is None:
                module = cache[old.filename] = script_loading.load_module(old.filename)
            for candidate in module.__dict__.values():
                if type(candidate) is not type or not issubclass(candidate, Script):
                    continue
                fresh = candidate()
                fresh.filename, fresh.args_from, fresh.args_to = old.filename, old.args_from, old.args_to
                self.scripts[position] = fresh

    def setup_scrips(self, p, *, is_ui: bool = True) -> None:
        for script in self.ordered_scripts("setup"):
            if script.setup_for_ui_only and not is_ui:
                continue  # the built-in UI scripts only set up from the UI, not from the API
            self._call("setup", script, p)

    def set_named_arg(self, args, script_name: str, arg_elem_id: str, value, fuzzy: bool = False):
        """Set one control's value in a full args tuple/list by the control's elem_id (L998-1025)."""
        position = _named_arg_position(self.scripts, script_name, arg_elem_id, fuzzy)
        if isinstance(args, list):
            args[position] = value
            return args
        if isinstance(args, tuple):
            return (*args[:position], value, *args[position + 1:])
        kind = type(args)
        raise RuntimeError(f"args is not a list or tuple, but {kind}")


def _named_arg_position(scripts: list, script_name: str, arg_elem_id: str, fuzzy: bool) -> int:
    owner = next((script for script in scripts if script.name == script_name), None)
    if owner is None:
        raise RuntimeError(f"script {script_name} not found")
    for offset, control in enumerate(owner.controls):
        found = (arg_elem_id in control.elem_id) if fuzzy else (control.elem_id == arg_elem_id)
        if found:
            return owner.args_from + offset
    raise RuntimeError(f"arg_elem_id {arg_elem_id} not found in script {script_name}")


if _double().forge:
    def _before_process_init_images(self, p, pp, **kwargs) -> None:
        self._each("before_process_init_images", p, pp, **kwargs)

    ScriptRunner.before_process_init_images = _before_process_init_images


scripts_txt2img: ScriptRunner | None = None
scripts_img2img: ScriptRunner | None = None
scripts_postproc = None
scripts_current: ScriptRunner | None = None


def reload_script_body_only() -> None:
    cache: dict = {}
    for runner in (scripts_txt2img, scripts_img2img):
        runner.reload_sources(cache)
