"""FacePop's "after" mode through the WebUI double: txt2img (always after) and img2img on request.

The double's "model" paints block noise, not faces, so a test script ordered before FacePop
stands in for a model that draws one: its ``postprocess_image`` puts a real photo into
``pp.image``, which FacePop's ``postprocess_image`` then works on.
"""

from __future__ import annotations

import numpy as np

from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    FAST,
    STEPS,
    as_array,
    build,
    pil,
    runs,
    spy_results,
    ui_args,
)
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
astronaut_256 = _support.astronaut_256

UNIT = "canny/cn-canny@0.8"


def face_painter(webui, photo: np.ndarray):
    """An always-on script whose output image is ``photo`` (a model that painted a face)."""

    class FacePainter(webui.scripts.Script):
        def title(self):
            return "Face painter"

        def show(self, is_img2img):
            return webui.scripts.AlwaysVisible

        def postprocess_image(self, p, pp, *args):
            if not getattr(p, "_facepop_child", False):
                pp.image = pil(photo.copy()).resize(pp.image.size)

    return FacePainter


def test_txt2img_refines_the_faces_of_every_generated_image(webui, models, astronaut_256):
    runner = build(webui, models, is_img2img=False, extra=(face_painter(webui, astronaut_256),))
    results = spy_results(webui, runner)
    res = webui.api_txt2img(runner, alwayson_scripts={"FacePop": {"args": [FAST]}}, steps=STEPS, seed=10,
                            width=256, height=256, batch_size=2)
    webui.assert_no_errors()
    assert webui.counters.process_images == 3  # the txt2img job + one face pass per image
    faces = runs(webui, 2)
    assert [(r.kind, r.seeds, r.denoising_strength) for r in faces] == [("img2img", [10], 0.4), ("img2img", [11], 0.4)]
    assert len(res.images) == 2 and len(results) == 2
    for final, result in zip(res.images, results, strict=True):
        final = as_array(final)
        assert np.array_equal(final, result.image)  # the refined image is what the WebUI saves and returns
        touched = np.any(final != astronaut_256, axis=-1)
        assert touched.any()
        (face,) = result.faces
        x0, y0, x1, y1 = face.box  # where the refined face was pasted
        outside = np.ones_like(touched)
        outside[y0:y1, x0:x1] = False
        assert not touched[outside].any()  # nothing but the face changed
    assert "FacePop mode: after" in res.processed.infotexts[0]  # txt2img records the mode it really used
    assert webui.state.job_no == 1 + 2


def test_txt2img_panel_is_fixed_to_after(webui, models, astronaut_256):
    runner = build(webui, models, is_img2img=False, extra=(face_painter(webui, astronaut_256),))
    args = ui_args(webui, runner)
    processed = webui.ui_txt2img(runner, script_args=args, width=256, height=256)
    webui.assert_no_errors()
    assert len(runs(webui, 2)) == 1
    assert "FacePop mode: after" in processed.infotexts[0]


def test_img2img_after_mode_refines_the_output_not_the_input(webui, models, astronaut_256):
    runner = build(webui, models, extra=(face_painter(webui, astronaut_256),))
    results = spy_results(webui, runner)
    processed = webui.ui_img2img(runner, init_image=pil(astronaut_256), width=256, height=256,
                                 script_args=ui_args(webui, runner, mode="after"), denoising_strength=0.5)
    webui.assert_no_errors()
    (main,) = runs(webui, 1)
    assert not main.masked  # the main pass is a plain img2img
    assert len(runs(webui, 2)) == 1
    assert np.array_equal(as_array(processed.images[0]), results[0].image)


def test_after_mode_keeps_controlnet_for_the_next_batches(webui, models, astronaut_256):
    runner = build(webui, models, is_img2img=False, controlnet="before", extra=(face_painter(webui, astronaut_256),))
    unit = webui.controlnet_external_code.ControlNetUnit(enabled=True, module="canny", model="cn-canny", weight=0.8)
    args = ui_args(webui, runner, extra={"ControlNet": [unit]})
    webui.ui_txt2img(runner, script_args=args, width=256, height=256, n_iter=2)
    webui.assert_no_errors()
    assert [(r.depth, r.controlnet) for r in webui.sampler_log] == [(1, [UNIT]), (2, [UNIT]), (1, [UNIT]), (2, [UNIT])]
