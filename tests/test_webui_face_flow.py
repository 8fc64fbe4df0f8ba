"""FacePop's "before" flow through the WebUI double (A1111 and Forge): passes, pixels, masks,
batches, seeds, progress, and a ``p`` left as the WebUI expects."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    DENOISE,
    PASS_STEPS,
    STEPS,
    api_dict,
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
two_faces = _support.two_faces


def _scene(k: int, astronaut: np.ndarray, pair: np.ndarray) -> np.ndarray:
    if k == 0:
        from tests.webui_double.core import Double

        return np.asarray(Double.make_image(256, 256, seed=3))
    return astronaut if k == 1 else pair


@pytest.mark.parametrize("k", [0, 1, 2])
def test_k_faces_take_k_face_passes_and_one_main_pass(webui, models, astronaut_256, two_faces, k):
    runner = build(webui, models)
    image = _scene(k, astronaut_256, two_faces)
    h, w = image.shape[:2]
    res = webui.api_img2img(runner, init_images=[pil(image)], alwayson_scripts=api_dict(), steps=STEPS,
                            denoising_strength=DENOISE, seed=77, width=w, height=h)
    webui.assert_no_errors()
    assert webui.counters.process_images == k + 1
    assert len(runs(webui, 2)) == k and len(runs(webui, 1)) == 1
    assert webui.counters.sampler_steps == (k + 1) * PASS_STEPS
    assert all((r.width, r.height) == (128, 128) for r in runs(webui, 2))  # each face on its own canvas
    assert runs(webui, 1)[0].masked == (k > 0)  # no face: the main pass is a plain img2img
    assert len(res.images) == 1
    assert "FacePop enabled: True" in res.processed.infotexts[0]


def test_protected_pixels_are_identical_after_the_main_pass(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    processed = webui.ui_img2img(runner, init_image=pil(two_faces), script_args=ui_args(webui, runner),
                                 width=512, height=256, denoising_strength=DENOISE)
    webui.assert_no_errors()
    (result,) = results
    final = as_array(processed.images[0])
    protect = result.protect == 255
    assert protect[:, :256].sum() > 100 and protect[:, 256:].sum() > 100  # both faces' cores are fully protected
    assert np.array_equal(final[protect], result.image[protect])
    assert not np.array_equal(result.image[protect], two_faces[protect])  # the face passes changed the faces
    rendered = result.main_mask == 255
    changed = np.any(final != result.image, axis=-1)
    assert changed[rendered].mean() > 0.9  # the main pass rendered everything else


@pytest.mark.parametrize(("invert", "only_masked"), [(False, False), (True, False), (False, True)])
def test_user_mask_limits_the_faces_and_the_pixels(webui, models, two_faces, invert, only_masked):
    runner = build(webui, models)
    h, w = two_faces.shape[:2]
    box = (256, 0, 512, 256) if invert else (0, 0, 256, 256)  # inverted: paint the right half, repaint the left
    mask = webui.make_mask(w, h, box)
    processed = webui.ui_img2img(runner, init_image=pil(two_faces), mask=mask, script_args=ui_args(webui, runner),
                                 width=w, height=h, denoising_strength=DENOISE, inpainting_mask_invert=int(invert),
                                 inpaint_full_res=int(only_masked), inpaint_full_res_padding=32)
    webui.assert_no_errors()
    assert len(runs(webui, 2)) == 1  # only the face inside the mask
    final = as_array(processed.images[0])
    band = 2 * int(2.5 * 4 + 0.5) + 1  # the user's mask blur of 4 reaches this far
    assert np.array_equal(final[:, 256 + band:], two_faces[:, 256 + band:])  # outside the mask: untouched
    assert not np.array_equal(final[:, :256 - band], two_faces[:, :256 - band])
    text = processed.infotexts[0]
    assert "Mask blur: 4" in text  # the user's blur, not the 0 the main pass ran with
    assert ("Mask mode: Inpaint not masked" in text) == invert
    assert ("Inpaint area: Only masked" in text) == only_masked


def test_faces_outside_the_mask_are_refined_when_asked(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    mask = webui.make_mask(512, 256, (0, 0, 256, 256))
    processed = webui.ui_img2img(runner, init_image=pil(two_faces), mask=mask, width=512, height=256,
                                 script_args=ui_args(webui, runner, only_in_mask=False), denoising_strength=DENOISE)
    assert len(runs(webui, 2)) == 2
    final = as_array(processed.images[0])
    right = results[0].protect[:, 280:] == 255
    assert right.any() and np.array_equal(final[:, 280:][right], results[0].image[:, 280:][right])
    assert not np.array_equal(final[:, 280:][right], two_faces[:, 280:][right])


def test_batch_size_and_count_render_the_faces_once(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    res = webui.api_img2img(runner, init_images=[pil(two_faces)], alwayson_scripts=api_dict(), steps=STEPS,
                            denoising_strength=DENOISE, seed=500, batch_size=2, n_iter=2, width=512, height=256)
    webui.assert_no_errors()
    assert webui.counters.process_images == 3  # 2 face passes + 1 main job
    main = runs(webui, 1)
    assert [(r.batch, r.seeds) for r in main] == [(2, [500, 501]), (2, [502, 503])]
    assert [r.seeds for r in runs(webui, 2)] == [[500], [501]]  # the first image's seed + face index
    protect = results[0].protect == 255
    finals = [as_array(im) for im in res.images]
    assert len(finals) == 4
    for final in finals:
        assert np.array_equal(final[protect], results[0].image[protect])
    assert not np.array_equal(finals[0], finals[1])  # the rest differs with each image's seed


def test_each_init_image_gets_its_own_composite_and_seeds(webui, models, two_faces):
    runner = build(webui, models)
    results = spy_results(webui, runner)
    other = np.ascontiguousarray(two_faces[::-1])  # upside down: plain detection finds no face in it
    flipped = np.ascontiguousarray(two_faces[:, ::-1])
    res = webui.api_img2img(runner, init_images=[pil(two_faces), pil(other), pil(flipped)], alwayson_scripts=api_dict(),
                            steps=STEPS, denoising_strength=DENOISE, seed=900, batch_size=3, width=512, height=256)
    webui.assert_no_errors()
    assert [r.seeds for r in runs(webui, 2)] == [[900], [901], [902], [903]]  # image 0: 900+i, image 2: 902+i
    assert [len(r.faces) for r in results] == [2, 0, 2] and len(res.images) == 3
    assert len(webui.warnings) <= 1  # the API's own scheduler autocorrection of the outer job, none per face
    for result, final in zip((results[0], results[2]), (res.images[0], res.images[2]), strict=True):
        own = result.protect == 255
        assert np.array_equal(as_array(final)[own], result.image[own])


@pytest.mark.parametrize("seed_mode", ["same", "offset", "random"])
def test_face_seeds_derive_from_the_job_seed(webui, models, two_faces, seed_mode):
    runner = build(webui, models)
    seeds = []
    for _ in range(2):
        webui.reset()
        webui.api_img2img(runner, init_images=[pil(two_faces)], alwayson_scripts=api_dict(seed_mode=seed_mode),
                          steps=STEPS, denoising_strength=DENOISE, seed=4242, width=512, height=256)
        seeds.append([r.seeds[0] for r in runs(webui, 2)])
    assert seeds[0] == seeds[1]  # reproducible from the job seed, "random" included
    expected = {"same": [4242, 4242], "offset": [4242, 4243]}
    if seed_mode in expected:
        assert seeds[0] == expected[seed_mode]
    else:
        assert len(set(seeds[0])) == 2 and 4242 not in seeds[0]


def test_progress_counts_every_face_pass(webui, models, two_faces):
    runner = build(webui, models)
    state = webui.state
    seen = []
    webui.step_callbacks.append(lambda n, p, run: seen.append(
        (run.depth, state.textinfo, state.job, state.job_count, state.job_no)))
    webui.ui_img2img(runner, init_image=pil(two_faces), script_args=ui_args(webui, runner), width=512, height=256,
                     denoising_strength=DENOISE, n_iter=2)
    webui.assert_no_errors()
    per_pass = sorted(set(seen), key=seen.index)
    assert per_pass == [
        (2, "FacePop: face 1/2", "FacePop: face 1/2", 4, 0),
        (2, "FacePop: face 2/2", "FacePop: face 2/2", 4, 1),
        (1, None, "Batch 1 out of 2", 4, 2),
        (1, None, "Batch 2 out of 2", 4, 3),
    ]
    assert state.job_no == 4 and state.progress() == 0.0  # state.end() ran: job_count 0


def test_img2img_batch_tab_reuses_p_and_nothing_leaks(webui, models, two_faces, astronaut_256):
    """modules/img2img.py process_batch: one p, ``p.init_images = [img] * batch_size`` per file."""
    from modules import processing

    runner = build(webui, models)
    plain = np.asarray(webui.make_image(256, 256, seed=5))
    p = processing.StableDiffusionProcessingImg2Img(init_images=[], mask=None, width=256, height=256, steps=STEPS,
                                                    denoising_strength=DENOISE, seed=11, batch_size=2,
                                                    sampler_name="Euler", scheduler="Automatic",
                                                    do_not_save_samples=True, do_not_save_grid=True)
    p.is_api = True
    p.scripts = runner
    p.script_args = tuple(ui_args(webui, runner))
    webui.state.begin(job="img2img")
    infotexts, masked, passes = [], [], []
    for image in (astronaut_256, plain, astronaut_256):
        before = webui.counters.process_images
        img = pil(image)
        p.init_images = [img] * p.batch_size
        processed = processing.process_images(p)
        assert p.init_images == [img, img] and p.image_mask is None and p.overlay_images is None
        assert p.mask is None and p.mask_blur == 4 and p.inpainting_fill == 0
        infotexts.append(processed.infotexts[0])
        masked.append(runs(webui, 1)[-1].masked)
        passes.append(webui.counters.process_images - before)
    webui.state.end()
    webui.assert_no_errors()
    assert passes == [2, 1, 2]  # the repeated init image is refined once, not batch_size times
    assert masked == [True, False, True]  # the face-free file is not inpainted with the previous mask
    assert all("FacePop enabled: True" in t and "FacePop error" not in t for t in infotexts)


def test_disabled_facepop_changes_nothing(webui, models, two_faces):
    runner = build(webui, models)
    args = ui_args(webui, runner, enabled=False)
    processed = webui.ui_img2img(runner, init_image=pil(two_faces), script_args=args, width=512, height=256)
    webui.assert_no_errors()
    assert webui.counters.process_images == 1 and not runs(webui, 1)[0].masked
    assert "FacePop" not in processed.infotexts[0]


def test_transparent_init_image_is_flattened_like_the_webui(webui, models, astronaut_256):
    runner = build(webui, models)
    rgba = np.dstack([astronaut_256, np.full(astronaut_256.shape[:2], 255, np.uint8)])
    rgba[:40, :, 3] = 0  # a transparent strip at the top
    results = spy_results(webui, runner)
    webui.ui_img2img(runner, init_image=Image.fromarray(rgba, "RGBA"), script_args=ui_args(webui, runner),
                     width=256, height=256, denoising_strength=DENOISE)
    webui.assert_no_errors()
    assert len(runs(webui, 2)) == 1
    assert np.all(results[0].image[:30, 200:] == 255)  # the img2img background colour, as the main pass sees it
