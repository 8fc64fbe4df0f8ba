"""Tests of the WebUI double itself (tests/webui_double): it must behave like A1111 v1.10.1 / Forge."""

from __future__ import annotations

import importlib
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from tests.webui_double import CONTROLNET, install, uninstall
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
webui_a1111 = _fixtures.webui_a1111

W, H = 128, 96
BOX = (40, 32, 88, 64)  # x1, y1, x2, y2 of the white (repaint) area


def make_probe(scripts, log: list, title: str = "Probe", controls: int = 2):
    """An always-on script that records every hook (name, args) into ``log``."""
    import gradio as gr

    class Probe(scripts.Script):
        def title(self):
            return title

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def ui(self, is_img2img):
            items = [gr.Checkbox(value=True, label="on", elem_id=self.elem_id("on")),
                     gr.Slider(minimum=0, maximum=1, value=0.5, label="s", elem_id=self.elem_id("s"))]
            return items[:controls]

        def setup(self, p, *args):
            log.append(("setup", args))

        def before_process(self, p, *args):
            log.append(("before_process", args))

        def process(self, p, *args):
            log.append(("process", args))

        def before_process_init_images(self, p, pp, *args, **kwargs):
            log.append(("before_process_init_images", args))

        def before_process_batch(self, p, *args, **kwargs):
            log.append(("before_process_batch", args))

        def after_extra_networks_activate(self, p, *args, **kwargs):
            log.append(("after_extra_networks_activate", args))

        def process_batch(self, p, *args, **kwargs):
            log.append(("process_batch", args))

        def process_before_every_sampling(self, p, *args, **kwargs):
            log.append(("process_before_every_sampling", args))

        def on_mask_blend(self, p, mba, *args):
            log.append(("on_mask_blend", args))

        def post_sample(self, p, ps, *args):
            log.append(("post_sample", args))

        def postprocess_batch(self, p, *args, **kwargs):
            log.append(("postprocess_batch", args))

        def postprocess_batch_list(self, p, pp, *args, **kwargs):
            log.append(("postprocess_batch_list", args))

        def postprocess_image(self, p, pp, *args):
            log.append(("postprocess_image", (p.batch_index, getattr(pp, "index", None))))

        def postprocess_maskoverlay(self, p, ppmo, *args):
            log.append(("postprocess_maskoverlay", args))

        def postprocess_image_after_composite(self, p, pp, *args):
            log.append(("postprocess_image_after_composite", args))

        def postprocess(self, p, processed, *args):
            log.append(("postprocess", args))

    return Probe


def collapse(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name or name != "on_mask_blend":
            out.append(name)
    return out


def changed_pixels(a: Image.Image, b: Image.Image) -> np.ndarray:
    return np.any(np.asarray(a, dtype=np.int16) != np.asarray(b, dtype=np.int16), axis=-1)


# --------------------------------------------------------------------------------------- install
def test_install_uses_real_names_and_uninstall_removes_them(tmp_path):
    double = install("a1111", tmp_path)
    import modules.generation_parameters_copypaste as old_name
    from modules import infotext_utils, processing, scripts, shared

    assert old_name is infotext_utils
    assert scripts.scripts_img2img is not None and scripts.scripts_txt2img is not None
    assert processing.StableDiffusionProcessingImg2Img.__module__ == "modules.processing"
    assert [u.name for u in shared.sd_upscalers][:3] == ["None", "Lanczos", "Nearest"]
    ext = importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code", "external_code")
    assert ext.get_api_version() == 3 and ext.ControlNetUnit().enabled is False
    assert not hasattr(scripts.Script, "sorting_priority")
    assert double.opts.samples_save is True
    uninstall()
    assert "modules" not in sys.modules and "modules.scripts" not in sys.modules and "launch" not in sys.modules

    forge = install("forge", tmp_path)
    from lib_controlnet import external_code, global_state
    from modules import scripts as forge_scripts

    assert forge.forge and external_code.get_api_version() == 2 and external_code.ControlNetUnit().enabled is True
    assert global_state.get_all_controlnet_names() == ["None"]
    assert importlib.util.find_spec("modules_forge") is not None
    assert forge_scripts.Script.sorting_priority == 0
    with pytest.raises(TypeError):
        forge_scripts.PostprocessImageArgs(Image.new("RGB", (8, 8)))
    uninstall()
    assert "lib_controlnet" not in sys.modules

    install("forge", tmp_path, controlnet=False)
    with pytest.raises(ImportError):
        importlib.import_module("lib_controlnet")
    uninstall()
    install("a1111", tmp_path, controlnet=False)
    with pytest.raises(ImportError):
        importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code")
    uninstall()


def test_opts_behave_like_options(webui):
    opts = webui.opts
    with pytest.raises(AttributeError):
        _ = opts.no_such_option
    assert getattr(opts, "no_such_option", "dflt") == "dflt"
    assert opts.set("samples_format", "jpg") is True and opts.samples_format == "jpg"
    assert opts.set("samples_format", "jpg") is False
    assert opts.get_default("samples_format") == "png" and opts.get_default("nope") is None
    with pytest.raises(KeyError):
        opts.set("nope", 1)
    opts.add_option("facepop_test", webui.shared.OptionInfo(3, "x", section=("facepop", "FacePop")))
    assert opts.facepop_test == 3 and opts.data["facepop_test"] == 3
    assert opts.outdir_img2img_samples.startswith(str(webui.root))
    assert webui.infotext_utils.create_override_settings_dict(["Clip skip: 2"]) == {"CLIP_stop_at_last_layers": 2}


# --------------------------------------------------------------------------------------- args
def test_arg_slicing_with_two_always_on_scripts_and_a_selectable_one(webui_a1111):
    import gradio as gr
    from modules import scripts

    seen: dict[str, list] = {"A": [], "B": [], "S": []}

    class AlwaysA(scripts.Script):
        def title(self):
            return "Always A"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def ui(self, is_img2img):
            return [gr.Checkbox(value=False, label="enable"), gr.Slider(minimum=0, maximum=1, value=0.4, label="strength")]

        def process(self, p, *args):
            seen["A"].append(args)

    class AlwaysB(scripts.Script):
        def title(self):
            return "Always B"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def ui(self, is_img2img):
            return [gr.Textbox(value="x", label="t"), gr.Number(value=3, label="n"),
                    gr.Radio(choices=["one", "two"], value="two", type="index", label="r")]

        def process(self, p, *args):
            seen["B"].append(args)

    class Selectable(scripts.Script):
        def title(self):
            return "My Upscale"

        def show(self, is_img2img):
            return is_img2img

        def ui(self, is_img2img):
            return [gr.Slider(minimum=1, maximum=4, value=2, label="scale")]

        def run(self, p, *args):
            seen["S"].append(args)
            return None  # the caller then runs process_images itself

    runner = webui_a1111.build_runner([AlwaysA, AlwaysB, Selectable])
    a, b, s = (webui_a1111.find_script(runner, t) for t in ("Always A", "Always B", "My Upscale"))
    seed = webui_a1111.find_script(runner, "Seed")
    comments = webui_a1111.find_script(runner, "Comments")
    assert runner.inputs[0].elem_id == "script_list"
    # ui.py order: sampler, accordions (refiner), seed, then the "scripts" area: section-less always-on
    # scripts in load order, the dropdown (inputs[0]), then the selectable scripts.
    assert webui_a1111.find_script(runner, "Sampler").args_from == 1
    assert (a.args_from, a.args_to) == (seed.args_to, seed.args_to + 2)
    assert (b.args_from, b.args_to) == (a.args_to, a.args_to + 3)
    assert comments.args_from == comments.args_to == b.args_to  # ui() returned None: empty slice
    assert (s.args_from, s.args_to) == (b.args_to, b.args_to + 1)
    assert runner.selectable_scripts == [s] and runner.title_map["my upscale"] is s

    args = webui_a1111.ui_script_args(runner, {"Always A": [True, 0.9], "Always B": {0: "hello"}})
    assert args[b.args_from + 2] == 1  # type="index" radio: the UI sends the index
    img = webui_a1111.make_image(W, H)
    webui_a1111.ui_img2img(runner, init_image=img, script_args=args, width=W, height=H)
    assert seen["A"] == [(True, 0.9)] and seen["B"] == [("hello", 3, 1)] and seen["S"] == []

    args = webui_a1111.ui_script_args(runner, {"My Upscale": [3]}, selected="My Upscale")
    assert args[0] == 1
    webui_a1111.ui_img2img(runner, init_image=img, script_args=args, width=W, height=H)
    assert seen["S"] == [(3,)] and len(seen["A"]) == 2  # run() returned None -> process_images(p)

    defaults = webui_a1111.default_script_args(runner)
    assert defaults[0] == 0 and defaults[b.args_from:b.args_to] == ["x", 3, "two"]  # API: labels, not indexes
    webui_a1111.assert_no_errors()


def test_hook_exceptions_are_swallowed_and_reported(webui):
    from modules import scripts

    class Broken(scripts.Script):
        def title(self):
            return "Broken"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def process(self, p, *args):
            raise ValueError("boom")

    runner = webui.build_runner([Broken])
    processed = webui.ui_img2img(runner, init_image=webui.make_image(W, H), width=W, height=H)
    assert len(processed.images) == 1
    assert any("Error running process" in e and "boom" in e for e in webui.errors)


def test_non_overridden_hooks_are_not_called_and_set_named_arg(webui_a1111):
    from modules import scripts

    runner = webui_a1111.build_runner([])
    sampler = webui_a1111.find_script(runner, "Sampler")
    assert [x.callback for x in runner.ordered_callbacks("process")] == [webui_a1111.find_script(runner, "Comments")]
    assert sampler not in runner.ordered_scripts("postprocess_image")
    args = webui_a1111.ui_script_args(runner)
    new = runner.set_named_arg(args, "sampler", "img2img_steps", 7)
    assert isinstance(new, tuple) and new[sampler.args_from] == 7
    with pytest.raises(RuntimeError):
        runner.set_named_arg(args, "sampler", "nope", 1)
    assert isinstance(scripts.AlwaysVisible, object)


# --------------------------------------------------------------------------------------- hook order
def expected_order(forge: bool, batch: int) -> list[str]:
    head = ["setup", "before_process", "process"] + (["before_process_init_images"] if forge else [])
    per_batch = ["before_process_batch", "after_extra_networks_activate", "process_batch",
                 "process_before_every_sampling", "on_mask_blend", "post_sample", "postprocess_batch",
                 "postprocess_batch_list"]
    per_image = ["postprocess_image", "postprocess_maskoverlay", "postprocess_image_after_composite"]
    return head + per_batch + per_image * batch + ["postprocess"]


def test_hook_order_img2img_inpaint(webui):
    log: list = []
    probe = make_probe(webui.scripts, log)
    runner = webui.build_runner([probe])
    img = webui.make_image(W, H)
    mask = webui.make_mask(W, H, BOX)
    webui.ui_img2img(runner, init_image=img, mask=mask, width=W, height=H, batch_size=2,
                     script_args=webui.ui_script_args(runner, {"Probe": [True, 0.25]}))
    names = [n for n, _ in log]
    assert collapse(names) == expected_order(webui.forge, batch=2)
    # every denoising step blends (with denoiser set), plus the final blend in Img2Img.sample
    steps = int(0.75 * 20) + 1
    assert names.count("on_mask_blend") == steps + 1
    assert all(args == (True, 0.25) for n, args in log if n not in ("postprocess_image",))
    images = [args for n, args in log if n == "postprocess_image"]
    assert images == ([(0, 0), (1, 1)] if webui.forge else [(0, None), (1, None)])
    assert webui.hook_names("Probe")[:3] == ["setup", "before_process", "process"]
    webui.assert_no_errors()


def test_process_runs_before_init_reads_init_images_and_mask(webui):
    from modules import scripts

    replacement = Image.new("RGB", (W, H), (10, 200, 30))

    class Swap(scripts.Script):
        def title(self):
            return "Swap"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def process(self, p, *args):
            p.init_images = [replacement]
            p.image_mask = None
            p.extra_generation_params["Swap"] = "yes"

    runner = webui.build_runner([Swap])
    processed = webui.ui_img2img(runner, init_image=webui.make_image(W, H),
                                 mask=webui.make_mask(W, H, BOX), width=W, height=H, denoising_strength=0.0)
    out = np.asarray(processed.images[0], dtype=np.int16)
    assert np.abs(out - np.asarray(replacement, dtype=np.int16)).max() <= 1  # only the +-1 "VAE" loss
    assert "Swap: yes" in processed.info and "Mask blur" not in processed.info


# --------------------------------------------------------------------------------------- mask semantics
@pytest.mark.parametrize("blur", [0, 4])
def test_mask_only_white_changes_with_blur_band(webui, blur):
    img = webui.make_image(W, H)
    processed = webui.ui_img2img(init_image=img, mask=webui.make_mask(W, H, BOX), width=W, height=H,
                                 mask_blur=blur, denoising_strength=1.0, inpaint_full_res=0)
    changed = changed_pixels(processed.images[0], img)
    band = int(2.5 * blur + 0.5) if blur else 0  # blur kernel radius: 2*int(2.5*sigma+0.5)+1 wide
    x1, y1, x2, y2 = BOX
    outside = np.ones_like(changed)
    outside[max(y1 - band, 0):y2 + band, max(x1 - band, 0):x2 + band] = False
    assert not changed[outside].any()  # bit-identical outside the mask + band
    inner = changed[y1 + band:y2 - band, x1 + band:x2 - band]
    assert inner.mean() > 0.9  # repainted inside
    if blur:
        ys, xs = np.nonzero(changed)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1 - band, y1 - band, x2 + band, y2 + band)
        assert f"Mask blur: {blur}" in processed.info
    else:
        assert "Mask blur" not in processed.info


def test_overlay_restores_unmasked_pixels_only_after_composite(webui):
    from modules import scripts

    img = webui.make_image(W, H)
    seen: dict[str, Image.Image] = {}

    class Peek(scripts.Script):
        def title(self):
            return "Peek"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def postprocess_image(self, p, pp, *args):
            seen["before"] = pp.image.copy()

        def postprocess_image_after_composite(self, p, pp, *args):
            seen["after"] = pp.image.copy()

    runner = webui.build_runner([Peek])
    webui.ui_img2img(runner, init_image=img, mask=webui.make_mask(W, H, BOX), width=W, height=H, mask_blur=0)
    outside = np.ones((H, W), dtype=bool)
    outside[BOX[1]:BOX[3], BOX[0]:BOX[2]] = False
    assert changed_pixels(seen["before"], img)[outside].any()  # "VAE" round trip: not pasted back yet
    assert not changed_pixels(seen["after"], img)[outside].any()


def test_only_masked_inpaint_pastes_back_in_the_crop(webui):
    img = webui.make_image(W, H)
    seen = {}

    class Peek(webui.scripts.Script):
        def title(self):
            return "Peek"

        def show(self, is_img2img):
            return webui.scripts.AlwaysVisible

        def postprocess_image(self, p, pp, *args):
            seen["size"] = pp.image.size
            seen["paste_to"] = p.paste_to

    runner = webui.build_runner([Peek])
    processed = webui.ui_img2img(runner, init_image=img, mask=webui.make_mask(W, H, BOX), width=64, height=64,
                                 inpaint_full_res=1, inpaint_full_res_padding=4, mask_blur=2)
    assert seen["size"] == (64, 64)  # the crop, processed at p.width x p.height
    x, y, w, h = seen["paste_to"]
    assert w == h and x <= BOX[0] - 4 and y <= BOX[1] - 4
    out = processed.images[0]
    assert out.size == (W, H) and "Inpaint area: Only masked" in processed.info
    changed = changed_pixels(out, img)
    band = int(2.5 * 2 + 0.5)
    outside = np.ones((H, W), dtype=bool)
    outside[BOX[1] - band:BOX[3] + band, BOX[0] - band:BOX[2] + band] = False
    assert not changed[outside].any() and changed[BOX[1]:BOX[3], BOX[0]:BOX[2]].any()


def test_inverted_mask_and_blank_only_masked_fallback(webui):
    img = webui.make_image(W, H)
    processed = webui.ui_img2img(init_image=img, mask=webui.make_mask(W, H, BOX), width=W, height=H, mask_blur=0,
                                 inpainting_mask_invert=1, denoising_strength=1.0)
    changed = changed_pixels(processed.images[0], img)
    assert not changed[BOX[1]:BOX[3], BOX[0]:BOX[2]].any() and changed.mean() > 0.5
    assert "Mask mode: Inpaint not masked" in processed.info
    blank = Image.new("L", (W, H), 0)
    processed = webui.ui_img2img(init_image=img, mask=blank, width=W, height=H, inpaint_full_res=1)
    assert changed_pixels(processed.images[0], img).mean() > 0.5  # blank mask: whole-image img2img
    assert "Inpaint Only mask" in processed.comments


# --------------------------------------------------------------------------------------- the setup() pitfall
def test_assigning_script_args_runs_builtin_setup_unless_is_api(webui):
    from modules import processing

    runner = webui.scripts.scripts_img2img
    args = webui.ui_script_args(runner)

    def child():
        return processing.StableDiffusionProcessingImg2Img(init_images=[webui.make_image(W, H)], steps=2,
                                                           sampler_name="Euler", scheduler="Automatic", seed=123,
                                                           width=W, height=H, do_not_save_samples=True)

    with pytest.raises(TypeError):
        processing.StableDiffusionProcessingImg2Img(scripts=runner)
    with pytest.raises(TypeError):
        processing.StableDiffusionProcessingImg2Img(image_mask=Image.new("L", (8, 8)))

    p = child()
    p.scripts = runner
    assert (p.steps, p.sampler_name, p.seed) == (2, "Euler", 123)  # no args yet: no setup
    p.script_args = args  # is_api False -> Seed/Sampler/Refiner setup() overwrite the child
    assert (p.steps, p.sampler_name, p.scheduler, p.seed) == (20, "DPM++ 2M", "Automatic", -1)
    p.script_args = args
    assert p.scripts_setup_complete

    p = child()
    p.is_api = True
    p.scripts = runner
    p.script_args = args
    assert (p.steps, p.sampler_name, p.seed) == (2, "Euler", 123)
    processed = processing.process_images(p)
    assert webui.sampler_log[-1].steps_done == int(0.75 * 2) + 1 and processed.seed == 123

    m = processing.StableDiffusionProcessingImg2Img(mask=webui.make_mask(8, 8, (0, 0, 4, 4)), mask_blur=3)
    assert m.mask is None and m.image_mask is not None and (m.mask_blur_x, m.mask_blur_y, m.mask_blur) == (3, 3, 3)
    m.mask_blur_x = 5
    assert m.mask_blur is None
    assert m.extra_generation_params == {} and m.override_settings == {}


def test_scheduler_autocorrection_warning_and_steps_arithmetic(webui):
    from modules import processing

    def run(**kwargs):
        p = processing.StableDiffusionProcessingImg2Img(init_images=[webui.make_image(W, H)], width=W, height=H,
                                                        sampler_name="Euler", steps=20, do_not_save_samples=True,
                                                        **kwargs)
        processing.process_images(p)
        return webui.sampler_log[-1].steps_done

    assert run(scheduler="Automatic", denoising_strength=0.5) == 11
    assert webui.warnings == []
    assert run(denoising_strength=1.0) == 20  # min(d, 0.999): int(19.98) + 1
    assert webui.warnings and "autocorrection" in webui.warnings[-1]  # scheduler None -> "Automatic"
    webui.opts.img2img_fix_steps = True
    assert run(scheduler="Automatic", denoising_strength=0.3) == 20
    assert webui.counters.sampler_steps == 11 + 20 + 20 and webui.counters.process_images == 3


# --------------------------------------------------------------------------------------- interrupt
def test_interrupt_at_step_n(webui):
    webui.interrupt_at_step(3)
    processed = webui.ui_img2img(init_image=webui.make_image(W, H), width=W, height=H, n_iter=2)
    run = webui.sampler_log[0]
    assert (run.steps_done, run.interrupted, len(webui.sampler_log)) == (3, True, 1)
    assert len(processed.images) == 1  # the cut-short batch is still post-processed and returned
    assert webui.counters.saved_files == []  # save_samples() is False once interrupted
    assert webui.state.job == "" and webui.state.job_count == 0  # state.end()


def test_skip_at_step_n_only_cuts_that_batch(webui):
    webui.interrupt_at_step(2, "skip")
    processed = webui.ui_img2img(init_image=webui.make_image(W, H), width=W, height=H, n_iter=2)
    assert [r.steps_done for r in webui.sampler_log] == [2, 16]
    assert len(processed.images) == 3  # 2 images + the grid
    assert len(webui.counters.saved_files) == 2  # the skipped image is not saved; 2nd image + grid are


def test_nested_process_images_corrupts_state_and_interrupt_in_child_loses_outer(webui):
    from modules import processing

    shared_state = webui.state
    observed = {}

    def child_from(p):
        c = processing.StableDiffusionProcessingImg2Img(init_images=[p.init_images[0]], width=64, height=64, steps=4,
                                                        sampler_name="Euler", scheduler="Automatic", seed=1,
                                                        do_not_save_samples=True, do_not_save_grid=True)
        res = processing.process_images(c)
        c.close()
        return res

    class Nested(webui.scripts.Script):
        def title(self):
            return "Nested"

        def show(self, is_img2img):
            return webui.scripts.AlwaysVisible

        def process(self, p, *args):
            if observed.get("mode") == "process":
                child_from(p)

        def postprocess_image(self, p, pp, *args):
            if observed.get("mode") == "postprocess_image":
                child_from(p)
                observed["job"] = (shared_state.job_no, shared_state.job_count, shared_state.progress())

    runner = webui.build_runner([Nested])
    observed["mode"] = "postprocess_image"
    webui.ui_img2img(runner, init_image=webui.make_image(W, H), width=W, height=H)
    assert observed["job"] == (2, 1, 1.0)  # job_no overshoots job_count: progress stuck at 1.0
    assert [e for e in webui.events if e[0] == "init"] == [("init", 1), ("init", 2)]

    observed["mode"] = "process"
    webui.reset()
    webui.interrupt_at_step(2)  # inside the child, run from process()
    processed = webui.ui_img2img(runner, init_image=webui.make_image(W, H), width=W, height=H)
    assert processed.images == [] and len(webui.sampler_log) == 1  # the outer loop breaks: 0 images


# --------------------------------------------------------------------------------------- images / infotext
def test_save_image_never_overwrites_and_png_parameters_round_trip(webui, tmp_path):
    from modules import images, infotext_utils, script_callbacks

    calls = []
    script_callbacks.on_before_image_saved(lambda params: calls.append(params.filename))
    processed = webui.ui_img2img(init_image=webui.make_image(W, H), width=W, height=H, prompt="a face, smiling",
                                 negative_prompt="blurry")
    info = processed.infotexts[0]
    img = processed.images[0]
    out = tmp_path / "out"
    first, txt = images.save_image(img, str(out), "", seed=7, prompt="a face", extension="png", info=info)
    second, _ = images.save_image(img, str(out), "", seed=7, prompt="a face", extension="png", info=info)
    assert txt is None and first != second and os.path.exists(first) and os.path.exists(second)
    assert os.path.basename(first) == "00000-7.png" and os.path.basename(second) == "00001-7.png"
    assert os.path.dirname(first) != str(out)  # opts.save_to_dirs: a [date] sub-directory
    assert calls[-2:] == [first, second]
    webui.opts.save_to_dirs = False
    third, _ = images.save_image(img, str(out), "grid", seed=7, prompt="a face", info=info)
    assert os.path.basename(third) == "grid-0000-7-a face.png"  # pattern [seed]-[prompt_spaces] without dirs

    with Image.open(first) as saved:
        geninfo, _ = images.read_info_from_image(saved)
    assert geninfo == info
    params = infotext_utils.parse_generation_parameters(geninfo)
    assert params["Prompt"] == "a face, smiling" and params["Negative prompt"] == "blurry"
    assert params["Steps"] == "20" and params["Size-1"] == str(W) and params["Size-2"] == str(H)
    assert params["Denoising strength"] == "0.75" and params["Sampler"] == "DPM++ 2M"
    assert params["Mask mode"] == "Inpaint masked"  # defaults added by the parser
    assert len(webui.counters.saved_files) == 1 + 3  # the UI run saved one sample


def test_create_infotext_quoting_and_value_kinds(webui):
    from modules import infotext_utils, processing

    p = processing.StableDiffusionProcessingImg2Img(init_images=[webui.make_image(W, H)], width=W, height=H,
                                                    sampler_name="Euler", scheduler="Automatic", steps=3, batch_size=2,
                                                    prompt="portrait", seed=5, do_not_save_samples=True,
                                                    do_not_save_grid=True)
    p.extra_generation_params.update({
        "FacePop": "faces: 2, mode: before",
        "FacePop json": json.dumps({"a": 1, "b": [1, 2]}),
        "Raw dict": {"a": 1, "b": 2},
        "Plain": "ok",
        "Same": "Same",
        "Per image": ["first", "second"],
        "Callable": lambda p, index, **kwargs: f"idx{index}",
        "Skipped": None,
    })
    processing.process_images(p)
    text = processing.create_infotext(p, p.all_prompts, p.all_seeds, p.all_subseeds, index=1)
    assert 'FacePop: "faces: 2, mode: before"' in text and "Plain: ok" in text
    assert ", Same," in text and "Per image: second" in text and "Callable: idx1" in text
    assert "Skipped" not in text and "Seed: 6" in text  # all_seeds = seed + index
    params = infotext_utils.parse_generation_parameters(text)
    assert params["FacePop"] == "faces: 2, mode: before"
    assert json.loads(params["FacePop json"]) == {"a": 1, "b": [1, 2]}
    assert params["Raw dict"] == '{"a": 1'  # dicts are not supported: cut at the first comma
    assert infotext_utils.quote("a:b") == '"a:b"' and infotext_utils.quote("ab") == "ab"
    assert infotext_utils.unquote('"x, y"') == "x, y"


def test_paste_infotext_casts_like_the_ui(webui):
    import gradio as gr

    check = gr.Checkbox(value=True)
    slider = gr.Slider(minimum=0, maximum=1, value=0.5)
    number = gr.Number(value=3)
    text = "p\nSteps: 5, Sampler: Euler, CFG scale: 7, FacePop: False, FacePop strength: 0.25, Level: 4"
    updates = webui.paste_infotext([(check, "FacePop"), (slider, "FacePop strength"), (number, "Level"),
                                    (slider, "Missing"), (check, lambda d: "FacePop" in d)], text)
    assert [u.get("value") for u in updates] == [False, 0.25, 4.0, None, True]


def test_split_and_combine_grid_and_upscaler(webui):
    from modules import images, shared

    img = webui.make_image(300, 200)
    grid = images.split_grid(img, tile_w=128, tile_h=128, overlap=32)
    assert grid.tile_count == len(grid.tiles) * len(grid.tiles[0][2])
    assert all(tile.size == (128, 128) for _, _, row in grid.tiles for _, _, tile in row)
    assert np.array_equal(np.asarray(images.combine_grid(grid)), np.asarray(img))
    lanczos = next(u for u in shared.sd_upscalers if u.name == "Lanczos")
    assert lanczos.scaler.upscale(Image.new("RGB", (101, 77)), 1.5, lanczos.data_path).size == (144, 112)
    assert images.resize_image(1, Image.new("RGB", (100, 50)), 64, 64).size == (64, 64)


# --------------------------------------------------------------------------------------- scripts from files
def test_script_file_loads_the_webui_way(webui, tmp_path):
    ext = tmp_path / "sd-webui-facepop-test"
    (ext / "scripts").mkdir(parents=True)
    (ext / "scripts" / "probe.py").write_text(
        "from modules import scripts\n"
        "from modules.scripts import Script  # imported Script classes get registered too (a pitfall)\n"
        "import sys\n"
        "BASEDIR = scripts.basedir()\n"
        "ON_PATH = sys.path[0]\n"
        "class FileProbe(scripts.Script):\n"
        "    def title(self):\n"
        "        return 'File probe'\n"
        "    def show(self, is_img2img):\n"
        "        return scripts.AlwaysVisible\n"
        "    def process(self, p, *args):\n"
        "        p.extra_generation_params['From file'] = BASEDIR\n"
    )
    runner = webui.build_runner([ext / "scripts" / "probe.py"])
    probe = webui.find_script(runner, "File probe")
    module = sys.modules.get("probe.py")
    assert module is None  # not put in sys.modules
    assert type(probe).__module__ == "probe.py"
    assert (str(ext) in sys.path) == webui.forge  # Forge keeps script dirs on sys.path, A1111 restores it
    assert any("Error calling" in e for e in webui.errors)  # the imported base Script became a selectable one
    webui.reset()
    processed = webui.ui_img2img(runner, init_image=webui.make_image(W, H), width=W, height=H)
    assert f"From file: {webui.infotext_utils.quote(str(ext))}" in processed.info


# --------------------------------------------------------------------------------------- API
def test_api_path_skips_builtin_setup_and_takes_json_args(webui):
    log: list = []
    runner = webui.build_runner([make_probe(webui.scripts, log, title="FacePop Test")])
    with pytest.raises(Exception) as err:
        webui.api_img2img(runner, init_images=[webui.make_image(W, H)], alwayson_scripts={"nope": {"args": []}})
    assert getattr(err.value, "status_code", None) == 422
    res = webui.api_img2img(runner, init_images=[webui.make_image(W, H)], width=W, height=H, steps=4, seed=9,
                            prompt="x", alwayson_scripts={"facepop test": {"args": [{"model": "m"}]}})
    assert dict(log)["process"] == ({"model": "m"}, 0.5)  # JSON value as-is; missing ones keep UI defaults
    run = webui.sampler_log[-1]
    assert (run.sampler_name, run.seeds, run.steps_done) == ("Euler", [9], 4)  # request values, no builtin setup
    info = json.loads(res.info)
    assert info["seed"] == 9 and info["infotexts"][0].startswith("x\nSteps: 4")
    assert webui.counters.saved_files == []  # save_images defaults to False


# --------------------------------------------------------------------------------------- ControlNet
def test_controlnet_nested_job_unhooks_outer_in_a1111_but_not_in_forge(webui):
    from modules import processing

    ext = webui.controlnet_external_code
    state = {"done": False}

    class Nested(webui.scripts.Script):
        def title(self):
            return "Nested"

        def show(self, is_img2img):
            return webui.scripts.AlwaysVisible

        def postprocess_image(self, p, pp, *args):
            if state["done"]:
                return
            state["done"] = True
            c = processing.StableDiffusionProcessingImg2Img(init_images=[pp.image], width=64, height=64, steps=2,
                                                            sampler_name="Euler", scheduler="Automatic", seed=1,
                                                            do_not_save_samples=True, do_not_save_grid=True)
            c.is_api = True
            c.scripts = p.scripts
            c.script_args = p.script_args
            processing.process_images(c)

    runner = webui.build_runner([CONTROLNET, Nested])
    cn = webui.find_script(runner, "ControlNet")
    unit = ext.ControlNetUnit(enabled=True, module="canny", model="cn-canny", weight=0.8)
    args = webui.ui_script_args(runner, {"ControlNet": [unit]})
    webui.ui_img2img(runner, init_image=webui.make_image(W, H), width=W, height=H, n_iter=2, script_args=args)
    outer = [r for r in webui.sampler_log if r.depth == 1]
    assert outer[0].controlnet == ["canny/cn-canny@0.8"]
    if webui.forge:
        assert outer[1].controlnet == ["canny/cn-canny@0.8"]  # patched per sampling: nothing leaks
    else:
        assert outer[1].controlnet == []  # the child's ControlNet postprocess() unhooked the outer job
    assert cn.args_to - cn.args_from == 3


def test_a1111_update_cn_script_in_processing_shifts_later_scripts(webui_a1111):
    from modules import processing

    ext = webui_a1111.controlnet_external_code
    log: list = []
    runner = webui_a1111.build_runner([CONTROLNET, make_probe(webui_a1111.scripts, log)])
    probe = webui_a1111.find_script(runner, "Probe")
    before = probe.args_from
    p = processing.StableDiffusionProcessingImg2Img(init_images=[webui_a1111.make_image(W, H)])
    p.is_api = True
    p.scripts = runner
    p.script_args = webui_a1111.ui_script_args(runner)
    webui_a1111.opts.data["control_net_unit_count"] = 4
    ext.update_cn_script_in_processing(p, [ext.ControlNetUnit(enabled=True, model="m")])
    assert probe.args_from == before + 1 and len(ext.get_all_units_in_processing(p)) == 4
    assert ext.get_all_units_in_processing(p)[0].enabled is True


# --------------------------------------------------------------------------------------- txt2img / misc
def test_txt2img_hires_calls_before_hr_and_forge_samples_hook_twice(webui):
    log: list = []
    runner = webui.build_runner([make_probe(webui.scripts, log)], is_img2img=False)
    processed = webui.ui_txt2img(runner, width=64, height=64, enable_hr=True, hr_scale=2, hr_upscaler="Lanczos",
                                 hr_second_pass_steps=5, denoising_strength=0.5)
    names = [n for n, _ in log]
    assert names.count("process_before_every_sampling") == (3 if webui.forge else 2)
    hires = webui.sampler_log[-1]
    assert processed.images[0].size == (128, 128) and hires.kind == "hires" and hires.steps_done == 5
    assert "Hires upscale: 2" in processed.info and "Hires steps: 5" in processed.info


def test_override_settings_are_restored_and_batch_rules(webui):
    from modules import processing

    with pytest.raises(TypeError):  # no outpath_samples and opts.samples_save: save_image(None, ...) fails
        processing.process_images(processing.StableDiffusionProcessingImg2Img(
            init_images=[webui.make_image(W, H)], width=W, height=H, sampler_name="Euler", scheduler="Automatic"))
    p = processing.StableDiffusionProcessingImg2Img(init_images=[webui.make_image(W, H)] * 2, width=W, height=H,
                                                    outpath_samples=webui.opts.outdir_img2img_samples,
                                                    outpath_grids=webui.opts.outdir_img2img_grids,
                                                    batch_size=4, sampler_name="Euler", scheduler="Automatic",
                                                    override_settings={"samples_format": "jpg",
                                                                       "sd_model_checkpoint": "missing"})
    processed = processing.process_images(p)
    assert p.batch_size == 2 and len(processed.images) == 3  # batch_size shrinks to len(init_images); + grid
    assert webui.opts.samples_format == "png" and "sd_model_checkpoint" not in p.override_settings
    assert all(f.endswith(".jpg") for f in webui.counters.saved_files if "grid" not in f)
    too_many = processing.StableDiffusionProcessingImg2Img(init_images=[webui.make_image(W, H)] * 3, batch_size=2,
                                                           sampler_name="Euler", scheduler="Automatic")
    with pytest.raises(RuntimeError):
        processing.process_images(too_many)
    assert processing.get_fixed_seed("12") == 12 and 0 <= processing.get_fixed_seed(None) < 4294967294


def test_component_callbacks_fire_while_the_ui_is_built(webui_a1111, tmp_path):
    from modules import script_callbacks, scripts

    early: list = []
    script_callbacks.on_after_component(lambda component, **kwargs: early.append(kwargs.get("elem_id")))
    (tmp_path / "watch.py").write_text(
        "from modules import script_callbacks\n"
        "SEEN = []\n"
        "script_callbacks.on_after_component(lambda component, **kwargs: SEEN.append(kwargs.get('elem_id')))\n"
    )
    hooked: list[str] = []
    seen: list = []

    class Watcher(scripts.Script):
        def title(self):
            return "Watcher"

        def show(self, is_img2img):
            self.on_after_component(lambda oc: hooked.append(oc.component.elem_id), elem_id="img2img_steps")
            return scripts.AlwaysVisible

        def after_component(self, component, **kwargs):
            seen.append(kwargs.get("elem_id"))

    runner = webui_a1111.build_runner([tmp_path / "watch.py", Watcher])
    assert early == []  # load_scripts() clears callbacks: register them while your script file is imported
    module_seen = script_callbacks.callback_map["callbacks_after_component"][0].callback.__globals__["SEEN"]
    assert webui_a1111.find_script(runner, "Watcher").alwayson
    assert "img2img_steps" in module_seen and "script_list" in module_seen
    assert hooked == ["img2img_steps"] and "img2img_steps" in seen


def test_uninstall_purges_modules_that_imported_the_fakes(tmp_path):
    (tmp_path / "glue_mod.py").write_text("from modules import shared\nfrom modules.processing import Processed\n")
    sys.path.insert(0, str(tmp_path))
    try:
        install("forge", tmp_path / "root")
        import glue_mod

        assert glue_mod.shared.opts is not None
        uninstall()
        assert "glue_mod" not in sys.modules
        install("a1111", tmp_path / "root2")
        import glue_mod as again

        assert again.shared is sys.modules["modules.shared"]
    finally:
        uninstall()
        sys.path.remove(str(tmp_path))


def test_sampler_is_deterministic_and_sensitive_to_its_inputs(webui_a1111):
    from modules import processing

    img = webui_a1111.make_image(W, H)

    def render(**kwargs) -> np.ndarray:
        args = {"prompt": "face", "seed": 3, "steps": 10, "denoising_strength": 0.5, **kwargs}
        p = processing.StableDiffusionProcessingImg2Img(init_images=[img], width=W, height=H, sampler_name="Euler",
                                                        scheduler="Automatic", do_not_save_samples=True, **args)
        return np.asarray(processing.process_images(p).images[0])

    base = render()
    assert np.array_equal(base, render())
    for change in ({"prompt": "other"}, {"seed": 4}, {"steps": 11}, {"denoising_strength": 0.6},
                   {"negative_prompt": "x"}, {"cfg_scale": 5.0}):
        assert not np.array_equal(base, render(**change)), change
    weak = np.abs(render(denoising_strength=0.1).astype(int) - np.asarray(img, dtype=int)).mean()
    strong = np.abs(render(denoising_strength=0.9).astype(int) - np.asarray(img, dtype=int)).mean()
    assert weak < strong
