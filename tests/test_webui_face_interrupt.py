"""Interrupt, Skip, Stop generating and failures inside FacePop, through the WebUI double.

Two faces, STEPS=4 at denoise 0.5: each face pass runs 3 sampler steps (steps 1-3 and 4-6),
then the main pass (7-9). ``interrupt_at_step(n)`` acts after the n-th step overall.
"""

from __future__ import annotations

import numpy as np

from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    DENOISE,
    PASS_STEPS,
    as_array,
    build,
    facepop,
    pil,
    runs,
    spy_results,
    ui_args,
)
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
two_faces = _support.two_faces


def _run(webui, runner, image, **kwargs):
    return webui.ui_img2img(runner, init_image=pil(image), script_args=ui_args(webui, runner, **kwargs), width=512,
                            height=256, denoising_strength=DENOISE)


def test_interrupt_inside_a_face_pass_still_gives_an_image(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    webui.interrupt_at_step(PASS_STEPS + 1)  # inside the second face pass
    processed = _run(webui, runner, two_faces)
    webui.assert_no_errors()
    faces = runs(webui, 2)
    assert len(faces) == 2 and faces[1].interrupted and not runs(webui, 1)  # no main pass
    assert [r.status for r in results[0].faces] == ["done", "interrupted"]
    assert len(processed.images) == 1 == len(processed.infotexts)  # the WebUI alone would return none
    assert np.array_equal(as_array(processed.images[0]), results[0].image)  # face 1 refined, face 2 as it was
    assert "FacePop enabled: True" in processed.infotexts[0]
    assert "stopped before the main pass" in processed.comments


def test_interrupt_in_the_first_face_pass_gives_the_original(webui, models, two_faces):
    runner = build(webui, models)
    webui.interrupt_at_step(1)
    processed = _run(webui, runner, two_faces)
    assert len(runs(webui, 2)) == 1 and not runs(webui, 1)
    assert np.array_equal(as_array(processed.images[0]), two_faces)


def test_skip_inside_a_face_pass_skips_the_rest_of_facepop_only(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    webui.interrupt_at_step(PASS_STEPS + 1, "skip")
    processed = _run(webui, runner, two_faces)
    webui.assert_no_errors()
    (main,) = runs(webui, 1)
    assert main.masked and not main.interrupted and main.steps_done == PASS_STEPS  # the main pass ran in full
    assert not webui.state.skipped
    result = results[0]
    assert [r.status for r in result.faces] == ["done", "interrupted"]
    final = as_array(processed.images[0])
    protect = result.protect == 255
    assert protect.any() and np.array_equal(final[protect], result.image[protect])
    assert not protect[:, 300:].any()  # the skipped (right) face is left to the main pass


def test_stop_generating_between_face_passes_keeps_the_finished_face(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    webui.interrupt_at_step(PASS_STEPS, "stop_generating")  # pressed during face 1: it still finishes
    processed = _run(webui, runner, two_faces)
    webui.assert_no_errors()
    assert len(runs(webui, 2)) == 1 and not runs(webui, 2)[0].interrupted and not runs(webui, 1)
    assert [r.status for r in results[0].faces] == ["done", "skipped"]
    assert np.array_equal(as_array(processed.images[0]), results[0].image)


def test_interrupt_during_the_main_pass_keeps_the_faces(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    webui.interrupt_at_step(2 * PASS_STEPS + 1)
    processed = _run(webui, runner, two_faces)
    (main,) = runs(webui, 1)
    assert main.interrupted and main.steps_done == 1
    protect = results[0].protect == 255
    assert np.array_equal(as_array(processed.images[0])[protect], results[0].image[protect])


class _BrokenMatter:
    def matte(self, canvases, method, landmarks=None):
        raise RuntimeError("matting exploded")


def test_an_exception_in_facepop_is_reported_and_the_job_goes_on(webui, models, two_faces):
    runner = build(webui, models)
    facepop(webui, runner).engine.use_matter(_BrokenMatter())
    processed = _run(webui, runner, two_faces)
    assert any("FacePop failed" in e and "matting exploded" in e for e in webui.errors)  # console
    assert "matting exploded" in processed.comments  # the UI
    assert "FacePop error:" in processed.infotexts[0]  # the infotext and the API's info
    (main,) = runs(webui, 1)
    assert not main.masked  # the main pass ran on the untouched job
    assert len(processed.images) == 1
    assert webui.state.job_count == 0 and webui.state.job_no == 3  # 2 face passes + 1 main, counted
