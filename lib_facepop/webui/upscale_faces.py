"""Optional face refinement on the last upscale pass, through the same ``p``.

FacePop's own engine (``lib_facepop.pipeline.FacePipeline``) finds the faces of the final
pass, crops each one upright to its working canvas, renders it with the upscale's
renderer (one more ``process_images(p)`` per face, with the LoRAs of the last pass and
no ControlNet tile unit), mattes it and blends it back.

Settings: those of the FacePop panel of the same tab (detection, face canvas, mask,
prompts...; its enable checkbox does not matter, the upscale's "Refine faces" does), and
the panel's face-pass engine, so the detection and matting models are loaded once for
both scripts. "Separate face processing" is always on: the face passes use the panel's
face steps / CFG / denoise (40 / 7 / 0.4 by default), because the last upscale pass runs
at a denoise too low to fix a face and the img2img sliders are not used by the upscale.
Without the FacePop script, FacePop's defaults and an engine of our own are used. A
failure (no face models...) is reported and leaves the upscaled image as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np
from modules import errors, shared

from lib_facepop.render import Renderer, RenderInterrupted
from lib_facepop.settings import FaceSettings

#: forced on the FacePop panel's settings for the refinement (see the module docstring)
REFINE_SETTINGS = MappingProxyType({"enabled": True, "mode": "after", "separate": True})
FACE_SCRIPT_TITLE = "FacePop"


def default_pipeline() -> Any:
    """FacePop's ``FacePipeline`` with the face script's model folder and matting set-up
    (``webui.engine``); the caller builds it once per script instance."""
    from lib_facepop.webui.engine import FaceEngine

    return FaceEngine().pipeline


def find_face_script(p: Any) -> Any | None:
    """The FacePop face script among ``p.scripts``' always-on scripts, or None."""
    for script in getattr(p.scripts, "alwayson_scripts", None) or []:
        try:
            if script.title() == FACE_SCRIPT_TITLE:
                return script
        except Exception:  # a broken title() must not stop the upscale
            continue
    return None


def face_setup(p: Any, fallback: Callable[[], Any]) -> tuple[FaceSettings, Callable[[], Any]]:
    """The face settings and the pipeline getter for this job (see the module docstring)."""
    script = find_face_script(p)
    settings = FaceSettings()
    pipeline = fallback
    if script is not None:
        try:
            from lib_facepop.webui import ui as face_ui
            from lib_facepop.webui.script_args import settings_from_args

            settings = settings_from_args(list(p.script_args[script.args_from:script.args_to]),
                                          face_ui.base_settings())
        except Exception as exc:  # unreadable panel values: FacePop's defaults still refine the faces
            errors.report(f"FacePop Upscale: the FacePop panel's settings could not be read ({exc}); "
                          "using FacePop's defaults", exc_info=True)
        engine = getattr(script, "engine", None)
        if engine is not None:
            def pipeline() -> Any:
                return engine.pipeline

    return settings.replace(**REFINE_SETTINGS), pipeline


class FaceRefiner:
    """``face_refiner`` for ``upscale_image``: ``refiner(image) -> image`` (HxWx3 uint8).

    ``pipeline`` returns the (cached) pipeline; ``notes`` collects one line for the infotext.
    ``state.job_count`` grows by the number of faces found, so the progress bar stays right.
    """

    def __init__(self, pipeline: Callable[[], Any], settings: FaceSettings, renderer: Renderer, seed: int,
                 notes: list[str]) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.renderer = renderer
        self.seed = seed
        self.notes = notes

    def __call__(self, image: np.ndarray) -> np.ndarray:
        state = shared.state
        counted: list[int] = []

        def progress(index: int, n_faces: int, stage: str) -> None:
            if not counted:
                counted.append(n_faces)
                state.job_count += n_faces
            if stage == "render":
                state.job = state.textinfo = f"FacePop Upscale: face {index + 1}/{n_faces}"

        try:
            result = self.pipeline().run(image, self.settings, self.renderer, seed=self.seed, progress=progress,
                                         should_stop=lambda: bool(state.interrupted or state.skipped))
        except RenderInterrupted:
            raise
        except Exception as exc:  # models or matting missing: keep the upscale, say why
            errors.report(f"FacePop Upscale: face refinement failed ({exc}); the upscaled image is kept",
                          exc_info=True)
            self.notes.append("failed")
            return image
        done = sum(1 for f in result.faces if f.status == "done")
        self.notes.append(f"{done} of {len(result.faces)} refined")
        return np.asarray(result.image)
