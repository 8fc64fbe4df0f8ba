"""Shared helpers of the FacePop Script tests (tests/test_webui_face_*.py); no tests here.

Scenes are real photos with real faces (skimage's astronaut, once and mirrored), and
detection is the real mediapipe one through one ``Models`` per session (conftest
``models``). The settings keep the tests fast: plain (non-aggressive) detection, which
finds these large upright faces in ~40 ms, 128 px face canvases, and the offline
"face_oval" matting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.webui_double import CONTROLNET

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "scripts" / "facepop.py")

#: settings every test starts from (plain detection, small canvases, offline matte, no face files)
FAST = {"enabled": True, "aggressive": False, "face_width": 128, "face_height": 128, "matting": "face_oval",
        "output_faces": False}
STEPS = 4
DENOISE = 0.5
#: img2img steps the double runs for STEPS at DENOISE: int(min(d, 0.999) * steps) + 1
PASS_STEPS = int(DENOISE * STEPS) + 1


def astronaut(size: int = 256) -> np.ndarray:
    """skimage's astronaut, ``size`` px square (one upright face about 0.21 * size wide)."""
    from skimage import data

    return cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def astronaut_256() -> np.ndarray:
    """256x256 RGB, one upright face about 55 px wide."""
    return astronaut(256)


@pytest.fixture(scope="session")
def two_faces() -> np.ndarray:
    """512x256 RGB: the astronaut and its mirror image side by side (two faces)."""
    a = astronaut(256)
    return np.ascontiguousarray(np.hstack([a, a[:, ::-1]]))


def build(webui: Any, models: Any, *, controlnet: str | None = None, is_img2img: bool = True,
          extra: tuple = ()) -> Any:
    """A runner with FacePop (and optionally ControlNet "before"/"after" FacePop), sharing the
    session's detection graphs."""
    items: list[Any] = [*extra, SCRIPT]
    if controlnet == "before":
        items.insert(0, CONTROLNET)
    elif controlnet == "after":
        items.append(CONTROLNET)
    runner = webui.build_runner(items, is_img2img=is_img2img)
    facepop(webui, runner).engine.use_models(models)
    return runner


def facepop(webui: Any, runner: Any) -> Any:
    return webui.find_script(runner, "FacePop")


def ui_args(webui: Any, runner: Any, *, main_seed: int = 1234, main_steps: int = STEPS, extra: dict | None = None,
            **settings: Any) -> tuple:
    """The args tuple the UI sends with FacePop set to ``FAST`` + ``settings`` (and the
    built-in Seed/Sampler panels set to ``main_seed``/``main_steps``)."""
    from lib_facepop.webui.script_args import FIELD_NAMES, to_ui_value

    values = {**FAST, **settings}
    override = {FIELD_NAMES.index(k): to_ui_value(k, v) for k, v in values.items()}
    return webui.ui_script_args(runner, {"FacePop": override, "Seed": [main_seed], "Sampler": {0: main_steps},
                                          **(extra or {})})


def api_dict(**settings: Any) -> dict:
    return {"FacePop": {"args": [{**FAST, **settings}]}}


def spy_results(webui: Any, runner: Any) -> list:
    """Every ``PipelineResult`` the Script's engine produces from now on."""
    pipeline = facepop(webui, runner).engine.pipeline
    original = pipeline.run
    results: list = []

    def run(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        results.append(result)
        return result

    pipeline.run = run
    return results


def pil(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(arr))


def runs(webui: Any, depth: int) -> list:
    """Sampler runs at one nesting depth (1 = the main job, 2 = FacePop's face passes)."""
    return [r for r in webui.sampler_log if r.depth == depth]


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
