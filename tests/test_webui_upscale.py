"""FacePop Upscale through the WebUI double (A1111 and Forge): passes, tiles, ControlNet, LoRA,
interrupts, saving, progress, face refinement and ``p`` left as found."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

from lib_facepop.tiles import render_tiled
from lib_facepop.upscale import lanczos_resize, plan_upscale
from lib_facepop.webui.upscale_prompt import count_tags
from tests.test_webui_upscale_helpers import (
    SCRIPT,
    SRC,
    TILE_MODEL,
    TITLE,
    FakeFacePipeline,
    enabled_units,
    first_step_recorder,
    register_tile_model,
    run_ui,
    settings,
    ui_args,
)
from tests.webui_double import CONTROLNET
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
webui_a1111 = _fixtures.webui_a1111


def make_probe(scripts_mod, log: list):
    """An always-on script that records what each tile render saw."""

    class UpscaleProbe(scripts_mod.Script):
        def title(self):
            return "Upscale probe"

        def show(self, is_img2img):
            return scripts_mod.AlwaysVisible

        def process(self, p, *args):
            log.append(("process", getattr(p, "facepop_upscale_pass", None), getattr(p, "_facepop_disabled", False),
                        getattr(p, "_ad_inner", False)))

        def postprocess_image(self, p, pp, *args):
            log.append(("tile", np.array(p.init_images[0]), np.array(pp.image)))

    return UpscaleProbe


# ---------------------------------------------------------------------------------- schedules
def test_pass_sizes_and_schedules_reach_the_sampler(webui):
    runner = webui.build_runner([SCRIPT])
    s = settings(passes=3, denoise_start=0.4, denoise_floor=0.2, cfg_start=7, cfg_end=5, steps=20,
                 min_effective_steps=9)
    processed = run_ui(webui, runner, s)
    plan = plan_upscale(s, SRC, seed=processed.seed)
    runs = webui.sampler_log
    assert [(r.width, r.height) for r in runs] == [pp.output_size for pp in plan.passes]
    assert [r.denoising_strength for r in runs] == [pp.denoise for pp in plan.passes]
    assert [r.cfg_scale for r in runs] == [pp.cfg for pp in plan.passes]
    assert [r.seeds for r in runs] == [[pp.seed] for pp in plan.passes]
    # the double runs int(min(d, .999) * steps) + 1 steps: the planner's effective steps, kept >= 9
    assert [r.steps_planned for r in runs] == [pp.effective_steps + 1 for pp in plan.passes]
    assert all(pp.effective_steps >= 9 for pp in plan.passes)
    assert [pp.seed for pp in plan.passes] == [processed.seed + k for k in range(3)]
    assert [im.size for im in processed.images] == [plan.target_size] == [(384, 384)]
    assert all(r.depth == 1 and not r.interrupted for r in runs)  # one plain process_images per render
    webui.assert_no_errors()


def test_progress_shows_pass_and_tile_and_counts_every_render(webui):
    from lib_facepop.webui.upscale_run import render_calls

    runner = webui.build_runner([SCRIPT])
    s = settings(passes=2, tile_size=256, tile_overlap=64)
    seen = first_step_recorder(webui, lambda p, run: (webui.state.job, webui.state.job_count, webui.state.job_no))
    processed = run_ui(webui, runner, s)
    plan = plan_upscale(s, SRC, seed=processed.seed)
    expected = [f"Pass {pp.number}/2, tile {t}/{pp.tiles}" for pp in plan.passes for t in range(1, pp.tiles + 1)]
    assert [job for job, _, _ in seen] == expected
    assert {count for _, count, _ in seen} == {render_calls(plan, 1)} == {len(expected)}
    assert [no for _, _, no in seen] == list(range(len(expected)))  # process_images' nextjob() per render


# ---------------------------------------------------------------------------------- tiles
def test_tiles_stay_within_the_max_tile_size_and_are_stitched_with_the_feathered_blend(webui):
    log: list = []
    runner = webui.build_runner([make_probe(webui.scripts, log), SCRIPT])
    s = settings(passes=1, tile_size=256, tile_overlap=64, color_fix="none", seed=77)
    source = webui.make_image(*SRC)
    processed = run_ui(webui, runner, s, init_image=source)
    grid = plan_upscale(s, SRC).passes[0].grid
    assert (grid.cols, grid.rows) == (2, 2) and grid.tile_width == 256
    assert all(r.width <= 256 and r.height <= 256 for r in webui.sampler_log)  # the memory bound
    assert len(webui.sampler_log) == grid.count

    canvas = lanczos_resize(np.array(source), (384, 384))
    tiles = [(inp, out) for kind, inp, out in (e for e in log if e[0] == "tile")]
    for tile, (inp, _) in zip(grid.tiles(), tiles, strict=True):  # each render got its crop of the canvas
        assert np.array_equal(inp, canvas[tile.y:tile.y + 256, tile.x:tile.x + 256])

    class Replay:  # hands back what the WebUI rendered, in order
        def __init__(self):
            self.outs = iter(out for _, out in tiles)

        def render(self, canvas, mask, overrides, seed):
            return next(self.outs)

    expected = render_tiled(canvas.copy(), grid, Replay(), {}, 0)
    result = np.array(processed.images[0])
    assert np.array_equal(result, expected)
    naive = canvas.copy()
    for tile, (_, out) in zip(grid.tiles(), tiles, strict=True):
        naive[tile.y:tile.y + 256, tile.x:tile.x + 256] = out
    overlap = slice(grid.xs[1], grid.xs[0] + 256)
    assert not np.array_equal(result[:, overlap], naive[:, overlap])  # the overlap is blended, not pasted over

    # the same tiles rendered two per batch give the same picture (every tile keeps the pass seed)
    webui.reset()
    batched = run_ui(webui, runner, s.replace(tile_batch=2), init_image=source)
    assert [r.batch for r in webui.sampler_log] == [2, 2]
    assert all(r.seeds == [77, 77] for r in webui.sampler_log)
    assert np.array_equal(np.array(batched.images[0]), result)
    webui.assert_no_errors()


def test_face_scripts_are_told_to_skip_tiles(webui):
    log: list = []
    runner = webui.build_runner([make_probe(webui.scripts, log), SCRIPT])
    run_ui(webui, runner, settings(passes=2, tile_size=256, tile_overlap=64))
    marks = [e[1:] for e in log if e[0] == "process"]
    assert marks == [(1, True, True)] * 4 + [(2, True, True)] * 4  # pass number, FacePop's and ADetailer's skip flags


def test_the_facepop_face_script_stays_out_of_the_tiles(webui):
    runner = webui.build_runner(["scripts/facepop.py", SCRIPT])
    face_runs = first_step_recorder(webui, lambda p, run: getattr(p, "_facepop_run", None))
    processed = run_ui(webui, runner, settings(passes=2, tile_size=256, tile_overlap=64), extra={"FacePop": [True]})
    assert face_runs == [None] * 8 and all(r.depth == 1 for r in webui.sampler_log)
    assert "FacePop enabled" not in processed.infotexts[0]
    webui.assert_no_errors()


# ---------------------------------------------------------------------------------- ControlNet
def test_controlnet_tile_unit_per_pass(webui):
    runner = webui.build_runner([CONTROLNET, SCRIPT])
    register_tile_model(webui)
    s = settings(passes=3, tile_size=256, tile_overlap=64, controlnet_weight_start=0.5, controlnet_weight_end=0.7,
                 tile_batch=2)
    units = first_step_recorder(webui, lambda p, run: [(u.module, u.model, u.weight, u.control_mode.value, u.image)
                                                      for u in enabled_units(p)])
    processed = run_ui(webui, runner, s)
    plan = plan_upscale(s, SRC, seed=processed.seed)
    assert [pp.controlnet_weight for pp in plan.passes] == [0.5, 0.6, 0.7]
    expected = [[f"tile_resample/{TILE_MODEL}@{pp.controlnet_weight}"] for pp in plan.passes for _ in range(pp.tiles)]
    assert [r.controlnet for r in webui.sampler_log] == expected
    assert {u[0][3] for u in units} == {"My prompt is more important"}
    assert all(u[0][4] is None for u in units)  # no image: ControlNet conditions on the tile itself
    # ... which is p.init_images[0]: a batch of tiles would all get the first one's, so no batches
    assert all(r.batch == 1 for r in webui.sampler_log)
    assert "FacePop Upscale tile batch used: 1 (ControlNet)" in processed.infotexts[0]
    assert f"FacePop Upscale ControlNet: tile_resample/{TILE_MODEL}," in processed.infotexts[0]
    webui.assert_no_errors()


def test_controlnet_preprocessor_and_mode_come_from_the_settings(webui):
    runner = webui.build_runner([CONTROLNET, SCRIPT])
    register_tile_model(webui)
    register_tile_model(webui, "controlnet-tile-sdxl-1.0 [12345678]")
    s = settings(passes=1, controlnet_module="tile_colorfix", controlnet_mode="Balanced")
    units = first_step_recorder(webui, lambda p, run: [(u.module, u.model, u.control_mode.value)
                                                      for u in enabled_units(p)])
    run_ui(webui, runner, s)
    assert units == [[("tile_colorfix", TILE_MODEL, "Balanced")]]  # the SD1.5 model for an SD1.5 checkpoint


def test_the_users_own_controlnet_units_are_used_instead(webui):
    runner = webui.build_runner([CONTROLNET, SCRIPT])
    register_tile_model(webui)
    unit = webui.controlnet_external_code.ControlNetUnit(enabled=True, module="canny", model="cn-canny", weight=0.8)
    processed = run_ui(webui, runner, settings(passes=2), extra={"ControlNet": [unit]})
    assert [r.controlnet for r in webui.sampler_log] == [["canny/cn-canny@0.8"]] * 2
    assert "FacePop Upscale ControlNet: your units" in processed.infotexts[0]


@pytest.mark.parametrize("with_controlnet", [True, False])
def test_without_a_tile_model_or_controlnet_the_passes_run_plain(webui, with_controlnet):
    runner = webui.build_runner([CONTROLNET, SCRIPT] if with_controlnet else [SCRIPT])
    processed = run_ui(webui, runner, settings(passes=2))
    assert [r.controlnet for r in webui.sampler_log] == [[], []]
    note = "no SD1.5 tile model installed" if with_controlnet else "not installed"
    assert f"FacePop Upscale ControlNet: {note}" in processed.infotexts[0]
    webui.assert_no_errors()


# ---------------------------------------------------------------------------------- LoRA
def test_lora_tags_are_rebuilt_from_the_users_prompt_every_pass(webui):
    runner = webui.build_runner([SCRIPT])
    s = settings(passes=3, loras=["detail:0.8,0.6,0.4", "style:1@2"])
    prompts = first_step_recorder(webui, lambda p, run: p.all_prompts[0])
    user_prompt = "masterpiece <lora:detail:0.3>, <lora:other:1>"
    processed = run_ui(webui, runner, s, prompt=user_prompt)
    assert len(prompts) == 3
    for k, (prompt, detail) in enumerate(zip(prompts, ["0.8", "0.6", "0.4"], strict=True)):
        assert count_tags(prompt, "detail") == 1 and f"<lora:detail:{detail}>" in prompt
        assert count_tags(prompt, "style") == (1 if k == 1 else 0)
        assert count_tags(prompt, "other") == 1 and prompt.startswith("masterpiece")
    assert "<lora:style:1>" in prompts[1]
    assert all("lora" not in p for r in webui.sampler_log for p in r.prompts)  # tags parsed out by the WebUI
    assert processed.prompt == user_prompt and processed.infotexts[0].startswith(user_prompt + "\n")


# ---------------------------------------------------------------------------------- interrupt / skip
def test_interrupt_mid_pass_returns_the_last_completed_pass(webui):
    runner = webui.build_runner([SCRIPT])
    s = settings(passes=3)
    plan = plan_upscale(s, SRC)
    first = plan.passes[0].effective_steps + 1
    webui.interrupt_at_step(first + 2)  # inside pass 2
    processed = run_ui(webui, runner, s)
    assert [im.size for im in processed.images] == [plan.passes[0].output_size]
    assert len(webui.sampler_log) == 2 and webui.sampler_log[1].interrupted
    assert "FacePop Upscale stopped: after pass 1 of 3" in processed.infotexts[0]
    assert webui.counters.saved_files == []  # cut short: not saved (save_incomplete_images is off)


def test_interrupt_in_the_first_pass_over_the_api_still_returns_the_image(webui):
    runner = webui.build_runner([SCRIPT])
    webui.interrupt_at_step(2)
    source = webui.make_image(*SRC)
    res = webui.api_img2img(runner, init_images=[source], script_name=TITLE, script_args=[settings().to_dict()])
    assert len(res.images) == 1 and np.array_equal(np.array(res.images[0]), np.array(source))
    assert "after pass 0 of 2" in res.processed.infotexts[0]


def test_skip_ends_the_current_image_only(webui):
    runner = webui.build_runner([SCRIPT])
    s = settings(passes=2)
    plan = plan_upscale(s, SRC)
    webui.interrupt_at_step(plan.passes[0].effective_steps + 2, "skip")  # image 1, pass 2
    processed = run_ui(webui, runner, s, n_iter=2)
    assert [im.size for im in processed.images] == [plan.passes[0].output_size, (384, 384)]
    assert processed.all_seeds == [processed.seed, processed.seed + 1]
    assert "stopped" in processed.infotexts[0] and "stopped" not in processed.infotexts[1]


# ---------------------------------------------------------------------------------- saving
def test_intermediate_passes_and_the_final_image_are_saved_without_overwriting(webui_a1111):
    webui = webui_a1111
    runner = webui.build_runner([SCRIPT])
    s = settings(passes=3, save_passes=True)
    processed = run_ui(webui, runner, s)
    files = list(webui.counters.saved_files)
    assert len(files) == 3
    assert "-upscale-pass1" in files[0] and "-upscale-pass2" in files[1] and "-upscale-pass" not in files[2]
    with Image.open(files[0]) as im:
        first_info = im.info["parameters"]
        assert im.size == plan_upscale(s, SRC).passes[0].output_size
    assert "FacePop Upscale pass: 1 of 3" in first_info
    with Image.open(files[2]) as im:
        assert im.size == (384, 384) and im.info["parameters"] == processed.infotexts[0]
    run_ui(webui, runner, s)
    assert len(set(webui.counters.saved_files)) == 6  # numbered names: nothing overwritten


# ---------------------------------------------------------------------------------- pixel upscaler
def test_pixel_upscaler_by_name_with_lanczos_fallback(webui):
    runner = webui.build_runner([SCRIPT])
    model = next(u for u in webui.shared.sd_upscalers if u.name == "R-ESRGAN 4x+")
    processed = run_ui(webui, runner, settings(passes=2, pixel_upscaler="R-ESRGAN 4x+"))
    assert model.scaler.calls == 2 and processed.images[0].size == (384, 384)
    assert "upscaler used" not in processed.infotexts[0]
    processed = run_ui(webui, runner, settings(passes=2, pixel_upscaler="4x-Missing"))
    assert model.scaler.calls == 2
    assert "FacePop Upscale upscaler used: Lanczos (4x-Missing not found)" in processed.infotexts[0]


# ---------------------------------------------------------------------------------- faces
def test_face_refinement_renders_through_the_same_p_on_the_last_pass(webui):
    runner = webui.build_runner([CONTROLNET, SCRIPT])
    register_tile_model(webui)
    script = webui.find_script(runner, TITLE)
    pipeline = FakeFacePipeline()
    script.face_pipeline_factory = lambda: pipeline
    prompts = first_step_recorder(webui, lambda p, run: p.all_prompts[0])
    s = settings(passes=2, face_refine=True, loras=["detail:0.7@2"])
    processed = run_ui(webui, runner, s, prompt="a portrait")
    face_run = webui.sampler_log[-1]
    assert len(webui.sampler_log) == 3 and (face_run.width, face_run.height) == (128, 128)
    assert face_run.denoising_strength == 0.4 and face_run.cfg_scale == 7.0  # FacePop's face-pass settings
    assert face_run.controlnet == []  # no tile unit on a face
    assert prompts[-1] == "a portrait <lora:detail:0.7>"  # the last pass's LoRAs
    assert np.array_equal(np.array(processed.images[0])[:128, :128], pipeline.rendered[0])
    assert "FacePop Upscale faces: 1 of 1 refined" in processed.infotexts[0]
    assert webui.state.job_no == 3  # 2 passes + 1 face, all counted
    webui.assert_no_errors()


def test_face_refinement_uses_facepops_engine_and_panel_settings(webui, models):
    import cv2
    from skimage import data

    from lib_facepop.webui.script_args import FIELD_NAMES, to_ui_value

    runner = webui.build_runner(["scripts/facepop.py", SCRIPT])
    webui.find_script(runner, "FacePop").engine.use_models(models)  # the session's detection graphs
    # the panel is off (the upscale's own checkbox asks for the faces) but its settings are used
    panel = {"enabled": False, "aggressive": False, "face_width": 128, "face_height": 128, "matting": "face_oval",
             "output_faces": False}
    extra = {"FacePop": {FIELD_NAMES.index(k): to_ui_value(k, v) for k, v in panel.items()}}
    source = Image.fromarray(cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA))
    s = settings(passes=1, scale=1.5, seed=3, denoise_start=0.1, denoise_floor=0.1)  # the double paints blocks
    plain = run_ui(webui, runner, s, size=(256, 256), init_image=source, extra=extra)
    webui.reset()
    refined = run_ui(webui, runner, s.replace(face_refine=True), size=(256, 256), init_image=source, extra=extra)
    upscale_run, *face_runs = webui.sampler_log
    assert (upscale_run.width, upscale_run.height) == (384, 384) and len(face_runs) == 1
    assert max(face_runs[0].width, face_runs[0].height) == 128 and face_runs[0].denoising_strength == 0.4
    assert "FacePop Upscale faces: 1 of 1 refined" in refined.infotexts[0]
    changed = np.any(np.array(plain.images[0]) != np.array(refined.images[0]), axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and (ys.ptp() + 1) * (xs.ptp() + 1) < 0.25 * 384 * 384  # only around the face
    webui.assert_no_errors()


def test_a_failing_face_refinement_keeps_the_upscale(webui_a1111):
    webui = webui_a1111
    runner = webui.build_runner([SCRIPT])

    def broken():
        raise ImportError("no face models here")

    webui.find_script(runner, TITLE).face_pipeline_factory = broken
    processed = run_ui(webui, runner, settings(passes=1, face_refine=True))
    assert processed.images[0].size == (384, 384) and len(webui.sampler_log) == 1
    assert "FacePop Upscale faces: failed" in processed.infotexts[0]
    assert any("face refinement failed" in e and "no face models here" in e for e in webui.errors)


# ---------------------------------------------------------------------------------- p as found
def test_p_is_left_as_found(webui):
    runner = webui.build_runner([CONTROLNET, SCRIPT])
    register_tile_model(webui)
    s = settings(passes=2, tile_size=256, tile_overlap=64, loras=["detail:0.5"])
    args = ui_args(webui, runner, s)
    source = webui.make_image(*SRC)
    mask = webui.make_mask(*SRC, (10, 10, 50, 50))
    p = webui.processing.StableDiffusionProcessingImg2Img(
        sd_model=webui.shared.sd_model, init_images=[source], mask=mask, prompt="a cat <lora:detail:0.2>",
        negative_prompt="ugly", width=512, height=512, denoising_strength=0.75, steps=20, cfg_scale=7.0,
        n_iter=1, batch_size=1, outpath_samples=webui.opts.outdir_img2img_samples,
        extra_generation_params={"Mine": "kept"}, override_settings={})
    p.scripts = runner
    p.script_args = args
    before = {k: copy.copy(v) if isinstance(v, (dict, list)) else v for k, v in vars(p).items()}
    ids = {k: id(v) for k, v in vars(p).items()}
    slices = [(sc.args_from, sc.args_to) for sc in runner.scripts]
    webui.state.begin()
    try:
        processed = runner.run(p, *args)
    finally:
        webui.state.end()
    assert processed.images[0].size == (384, 384)  # the whole image, the inpaint mask notwithstanding
    assert set(vars(p)) == set(before)
    for name, value in before.items():
        assert vars(p)[name] == value, name
        assert id(vars(p)[name]) == ids[name], name
    assert [(sc.args_from, sc.args_to) for sc in runner.scripts] == slices
    assert p.seed == -1 and p.prompt == "a cat <lora:detail:0.2>" and p.init_images[0] is source
    assert not hasattr(p, "facepop_upscale_pass")
    webui.assert_no_errors()
