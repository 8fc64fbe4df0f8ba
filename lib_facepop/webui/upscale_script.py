"""The "FacePop Upscale" selectable img2img script (the code behind ``scripts/facepop_upscale.py``).

Pick it in img2img's Script dropdown: the image is enlarged in several img2img passes,
each re-rendered in tiles under a ControlNet tile unit, with LoRA weights and denoise
scheduled per pass (``lib_facepop.upscale``). The controls are generated from
``UpscaleSettings`` (``upscale_ui``), ``run()`` is ``upscale_run``.

API: ``"script_name": "FacePop Upscale"`` with ``"script_args"`` either the values in
``UpscaleSettings`` field order (``UpscaleSettings().to_args()``; a shorter list leaves the
rest at their defaults) or ``[{"scale": 4, "passes": 3, ...}]`` (one dict of settings; a
``"preset": "Creative" | "Faithful" | "Fast"`` key applies that preset under the other keys).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modules import scripts

from lib_facepop.settings import UpscaleSettings
from lib_facepop.upscale import apply_preset
from lib_facepop.webui.upscale_faces import default_pipeline
from lib_facepop.webui.upscale_run import run_upscale
from lib_facepop.webui.upscale_ui import build_controls

TITLE = "FacePop Upscale"
#: elem_ids of img2img's width/height sliders: the plan table is shown for that image size
_DIM_IDS = ("img2img_width", "img2img_height")


def settings_from_args(args: Sequence[Any]) -> UpscaleSettings:
    """The script's args (UI values, or an API list / ``[dict]``) -> settings, enabled.

    With the dict form the API's slice assignment shortens the args list, so whatever
    follows the dict belongs to other scripts and is ignored. Selecting the script is
    what enables it, so ``enabled`` is forced on.
    """
    args = list(args)
    if args and isinstance(args[0], Mapping):
        data = dict(args[0])
        preset = data.pop("preset", None)
        if preset is not None:
            # the preset fills its fields first; keys given next to it still win
            base = apply_preset(UpscaleSettings(), str(preset))
            settings = UpscaleSettings.from_dict({**base.to_dict(), **data})
        else:
            settings = UpscaleSettings.from_dict(data)
    else:
        settings = UpscaleSettings.from_args(args)
    return settings if settings.enabled else settings.replace(enabled=True)


class FacePopUpscaleScript(scripts.Script):
    """Selectable img2img script: multi-pass, tiled, ControlNet-guided upscale."""

    def __init__(self) -> None:
        super().__init__()
        self.dims: dict[str, Any] = {}
        #: builds the face pipeline on first use (tests swap in a stand-in)
        self.face_pipeline_factory: Callable[[], Any] = default_pipeline
        self._face_pipeline: Any = None
        self.preset_control: Any = None
        self.plan_control: Any = None

    def title(self) -> str:
        return TITLE

    def show(self, is_img2img: bool) -> bool:
        return is_img2img

    def after_component(self, component: Any, **kwargs: Any) -> None:
        if kwargs.get("elem_id") in _DIM_IDS:
            self.dims[kwargs["elem_id"]] = component

    def ui(self, is_img2img: bool) -> list[Any]:
        dims = [self.dims[k] for k in _DIM_IDS if k in self.dims]
        built = build_controls(self.elem_id, dims if len(dims) == 2 else ())
        self.infotext_fields = built.infotext_fields
        self.paste_field_names = [i.infotext_key for i in UpscaleSettings.fields_info()]
        self.preset_control, self.plan_control = built.preset, built.plan
        return built.controls

    def face_pipeline(self) -> Any:
        """The face pipeline, built once per script instance (its models load only once)."""
        if self._face_pipeline is None:
            self._face_pipeline = self.face_pipeline_factory()
        return self._face_pipeline

    def run(self, p: Any, *args: Any) -> Any:
        return run_upscale(p, settings_from_args(args), title=self.title(), face_pipeline=self.face_pipeline)
