"""The user's ControlNet units on FacePop's face passes, with the outer job's units intact
(A1111 sd-webui-controlnet, whose child postprocess() unhooks the outer job, and Forge's
built-in ControlNet), whichever of the two scripts runs first."""

from __future__ import annotations

import pytest

from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    DENOISE,
    FAST,
    STEPS,
    build,
    pil,
    runs,
    ui_args,
)
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
two_faces = _support.two_faces

UNIT = "canny/cn-canny@0.8"


def _unit(webui):
    return webui.controlnet_external_code.ControlNetUnit(enabled=True, module="canny", model="cn-canny", weight=0.8)


@pytest.mark.parametrize("order", ["before", "after"])
def test_units_reach_every_face_pass_and_the_main_pass(webui, models, two_faces, order):
    runner = build(webui, models, controlnet=order)
    args = ui_args(webui, runner, extra={"ControlNet": [_unit(webui)]})
    processed = webui.ui_img2img(runner, init_image=pil(two_faces), script_args=args, width=512, height=256,
                                 denoising_strength=DENOISE, n_iter=2)
    webui.assert_no_errors()
    faces, main = runs(webui, 2), runs(webui, 1)
    assert len(faces) == 2 and len(main) == 2
    assert all(r.controlnet == [UNIT] for r in faces)
    assert all(r.controlnet == [UNIT] for r in main)  # both batches of the main job, not only the first
    assert "ControlNet 0: canny/cn-canny" in processed.infotexts[0]
    if webui.a1111:
        assert webui.controlnet_hook is None  # unhooked at the end of the job, as without FacePop


def test_api_unit_dicts_reach_the_face_passes(webui, models, two_faces):
    runner = build(webui, models, controlnet="before")
    unit = {"enabled": True, "module": "canny", "model": "cn-canny", "weight": 0.8}
    webui.api_img2img(runner, init_images=[pil(two_faces)], steps=STEPS, denoising_strength=DENOISE, seed=1,
                      width=512, height=256,
                      alwayson_scripts={"ControlNet": {"args": [unit]}, "FacePop": {"args": [FAST]}})
    webui.assert_no_errors()
    assert [r.controlnet for r in webui.sampler_log] == [[UNIT]] * 3


def test_controlnet_left_off_the_allow_list_stays_out_of_the_face_passes(webui, models, two_faces):
    runner = build(webui, models, controlnet="before")
    webui.opts.data["facepop_child_scripts"] = "comments, dynamic_prompting"
    args = ui_args(webui, runner, extra={"ControlNet": [_unit(webui)]})
    webui.ui_img2img(runner, init_image=pil(two_faces), script_args=args, width=512, height=256,
                     denoising_strength=DENOISE)
    webui.assert_no_errors()
    assert [r.controlnet for r in runs(webui, 2)] == [[], []]
    assert [r.controlnet for r in runs(webui, 1)] == [[UNIT]]


def _hypertile(webui, seen: list):
    """A stand-in for A1111's Hypertile: ``process()`` configures a model-wide tile size for
    ``p``'s size, which every later sampling uses (the global state a face pass overwrites)."""
    config = {}

    class Hypertile(webui.scripts.Script):
        def title(self):
            return "Hypertile"

        def show(self, is_img2img):
            return webui.scripts.AlwaysVisible

        def process(self, p, *args):
            config["size"] = (p.width, p.height)

        def process_before_every_sampling(self, p, *args, **kwargs):
            seen.append(((p.width, p.height), config["size"]))

    return Hypertile


def test_hypertile_is_reconfigured_for_the_main_pass(webui, models, two_faces):
    seen: list = []
    runner = build(webui, models, extra=(_hypertile(webui, seen),))  # loads before FacePop, as built-ins do
    webui.opts.data["facepop_child_scripts"] = "hypertile, comments"
    webui.ui_img2img(runner, init_image=pil(two_faces), script_args=ui_args(webui, runner), width=512, height=256,
                     denoising_strength=DENOISE)
    webui.assert_no_errors()
    assert seen == [((128, 128), (128, 128)), ((128, 128), (128, 128)), ((512, 256), (512, 256))]
