"""FacePop: refine every face in its own img2img pass, then let one main pass render the rest.

The always-on Script of the img2img and txt2img tabs. It only routes the WebUI's hooks;
the work is in ``lib_facepop/webui/`` (start with its ``__init__`` for the reading order):

* ``ui()``               the panel, built from ``FaceSettings`` (``webui/ui.py``);
* ``process()``          reads the settings, writes the infotext, and in "before" mode (img2img)
                         refines the faces and points the main pass at the composite
                         (``webui/flow.py``: ``run_before``);
* ``postprocess_image()``"after" mode (txt2img always): refines the faces of each output;
* ``postprocess()``      hands out the composites if an interrupt left the job without an
                         image, and puts ``p`` back as it was.

Every hook returns at once on FacePop's own face passes (``p._facepop_child``) and on jobs
that another script marked ``p._facepop_disabled``. The engine caches (detection graphs,
matting) live on the Script instance, per-job state on ``p``; nothing at module level.
"""

from __future__ import annotations

from typing import Any

from modules import errors, script_callbacks, scripts

from lib_facepop.settings import SettingsError
from lib_facepop.webui import flow, infotext, settings_section, ui
from lib_facepop.webui.child import is_child
from lib_facepop.webui.engine import FaceEngine
from lib_facepop.webui.script_args import settings_from_args


class FacePopScript(scripts.Script):
    """FacePop's always-on script (title "FacePop", the API's ``alwayson_scripts`` key)."""

    sorting_priority = 15  # Forge: UI order within the section; no effect on hook order

    def __init__(self) -> None:
        super().__init__()
        self.engine = FaceEngine()
        self.init_image_components: list[Any] = []

    def title(self) -> str:
        return "FacePop"

    def show(self, is_img2img: bool) -> Any:
        if is_img2img:
            for elem_id in ui.INIT_IMAGE_ELEM_IDS:
                self.on_after_component(self._capture_init_image, elem_id=elem_id)
        return scripts.AlwaysVisible

    def _capture_init_image(self, on_component: Any) -> None:
        """The img2img image inputs are built before the scripts' panels: remember them so
        the preview can read the current init image."""
        if all(c is not on_component.component for c in self.init_image_components):
            self.init_image_components.append(on_component.component)

    def ui(self, is_img2img: bool) -> list[Any]:
        sources = list(self.init_image_components)
        handler = ui.preview_handler(lambda: self.engine.pipeline, len(sources))
        return ui.build(self, is_img2img, handler, sources)

    # ---------------------------------------------------------------------------- hooks
    @staticmethod
    def _skip(p: Any) -> bool:
        return is_child(p) or bool(getattr(p, "_facepop_disabled", False))

    def process(self, p: Any, *args: Any) -> None:
        if self._skip(p):
            return
        leftover = getattr(p, flow.RUN_ATTR, None)
        if leftover is not None:  # a p reused after a job that ended in an exception
            if leftover.patch is not None:
                leftover.patch.restore(p)
            delattr(p, flow.RUN_ATTR)
        infotext.clear(p.extra_generation_params)
        try:
            settings = settings_from_args(args, ui.base_settings())
        except SettingsError as exc:
            message = f"FacePop: invalid arguments, FacePop was not applied: {exc}"
            errors.report(message)
            infotext.write_error(p, message)
            return
        if not settings.enabled:
            return
        if not hasattr(p, "init_images") and settings.mode != "after":
            settings = settings.replace(mode="after")  # txt2img has no init image to refine first
        infotext.write(p.extra_generation_params, settings)
        run = flow.FaceRun(settings=settings)
        setattr(p, flow.RUN_ATTR, run)
        if settings.mode == "after":
            return
        try:
            flow.run_before(p, run, self.engine, self)
        except Exception as exc:  # noqa: BLE001 - the generation goes on without FacePop
            self._fail(p, run, exc)

    def postprocess_image(self, p: Any, pp: Any, *args: Any) -> None:
        if self._skip(p):
            return
        run = getattr(p, flow.RUN_ATTR, None)
        if run is None or run.settings.mode != "after":
            return
        try:
            flow.run_after(p, pp, run, self.engine, self)
        except Exception as exc:  # noqa: BLE001 - the image stays as generated
            self._fail(p, run, exc)

    def postprocess(self, p: Any, processed: Any, *args: Any) -> None:
        if self._skip(p):
            return
        run = getattr(p, flow.RUN_ATTR, None)
        if run is None:
            return
        try:
            flow.finish(p, processed, run)
        finally:
            delattr(p, flow.RUN_ATTR)

    @staticmethod
    def _fail(p: Any, run: flow.FaceRun, exc: Exception) -> None:
        """Report in the console, the UI and the infotext; leave ``p`` as it was."""
        message = f"FacePop failed, the image is generated without it: {type(exc).__name__}: {exc}"
        errors.report(message, exc_info=True)
        infotext.write_error(p, message)
        if run.patch is not None:
            run.patch.restore(p)
        run.fallback_images = []
        run.faces_done = 0
        run.stopped = False


script_callbacks.on_ui_settings(settings_section.register)
