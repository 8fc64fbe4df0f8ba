"""FacePop's panel, Settings section, "Preview faces" button and saved files, through the double."""

from __future__ import annotations

import hashlib
import json

import numpy as np
from PIL import Image

from lib_facepop.settings import FaceSettings
from lib_facepop.webui.script_args import FIELD_NAMES, settings_from_args, to_ui_value
from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    DENOISE,
    FAST,
    SCRIPT,
    build,
    facepop,
    pil,
    ui_args,
)
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
two_faces = _support.two_faces


def _click(script):
    (event,) = [e for e in script.preview_button.events if e[0] == "click"]
    return event[1], event[2]["inputs"], event[2]["outputs"]


def test_panel_is_generated_from_the_settings(webui, models):
    for is_img2img in (True, False):
        runner = build(webui, models, is_img2img=is_img2img)
        script = facepop(webui, runner)
        controls = script.controls
        infos = FaceSettings.fields_info()
        assert len(controls) == len(FIELD_NAMES) == script.args_to - script.args_from
        assert type(controls[0]).__name__ == "InputAccordion" and controls[0].value is False
        defaults = FaceSettings()
        for info, control in zip(infos[1:], controls[1:], strict=True):
            assert control.label == info.label
            if info.name == "mode":
                assert control.value == ("before" if is_img2img else "after")
                assert control.visible is is_img2img
                continue
            assert control.value == to_ui_value(info.name, getattr(defaults, info.name)), info.name
            if info.minimum is not None:
                assert (control.minimum, control.maximum) == (info.minimum, info.maximum)
            if info.hint:
                assert control.webui_tooltip == info.hint
        sections = {i.name: getattr(c.parent, "label", None) for i, c in zip(infos, controls, strict=True)}
        assert sections["steps"] == "Separate Face Processing" and sections["matting"] == "Advanced"
        assert sections["debug"] == "Debugging" and sections["confidence"] == "FacePop"
        assert len({c.elem_id for c in controls}) == len(controls)
        assert len(script.infotext_fields) == len(controls)
        api_defaults = webui.default_script_args(runner)[script.args_from:script.args_to]
        expected = defaults if is_img2img else defaults.replace(mode="after")
        assert settings_from_args(api_defaults) == expected  # the API's defaults are FacePop's defaults (off)


def test_settings_section_is_registered(webui, models):
    build(webui, models)
    webui.script_callbacks.ui_settings_callback()
    labels = webui.opts.data_labels
    keys = ["facepop_models_dir", "facepop_default_matting", "facepop_child_scripts", "facepop_output_dir",
            "facepop_debug_folder"]
    assert all(labels[k].section == ("facepop", "FacePop") for k in keys)
    assert "controlnet" in webui.opts.facepop_child_scripts


def test_preview_shows_the_faces_without_generating(webui, models, two_faces):
    runner = build(webui, models)
    fn, inputs, outputs = _click(facepop(webui, runner))
    assert len(outputs) == 3
    values = [to_ui_value(n, v) for n, v in FaceSettings(**FAST).to_dict().items()]
    annotated, gallery, message = fn(pil(two_faces), *values)
    assert annotated.shape == two_faces.shape and not np.array_equal(annotated, two_faces)  # boxes drawn
    assert len(gallery) == 2 and all(crop.shape == (128, 128, 3) for crop, _ in gallery)
    assert "face 1:" in gallery[0][1] and "2 faces would be refined" in message
    mask = np.zeros((256, 512), np.uint8)
    mask[:, :256] = 255
    _, gallery, _ = fn({"image": pil(two_faces), "mask": Image.fromarray(mask)}, *values)
    assert len(gallery) == 1  # the inpaint sketch's mask, as a generation would honour it
    strict = values.copy()
    strict[FIELD_NAMES.index("confidence")] = 1.0
    assert "No face found" in fn(pil(two_faces), *strict)[2]
    assert "first" in fn(None, *values)[2]
    bad = values.copy()
    bad[FIELD_NAMES.index("face_width")] = 100  # not a multiple of 8
    assert "face_width" in fn(pil(two_faces), *bad)[2]
    assert webui.counters.process_images == 0 and not webui.sampler_log


def test_preview_reads_the_img2img_image_captured_while_the_tab_is_built(webui, models, two_faces):
    """ui.py builds the img2img image inputs before the scripts' panels (scripts_current is set)."""
    runner = webui.build_runner([SCRIPT])
    sm, gr = webui.scripts, webui.gradio
    sm.scripts_current = runner
    try:
        runner.initialize_scripts(is_img2img=True)
        init_image = gr.Image(elem_id="img2img_image", label="Image for img2img")
        runner.prepare_ui()
        runner.setup_ui()
    finally:
        sm.scripts_current = None
    script = facepop(webui, runner)
    script.engine.use_models(models)
    fn, inputs, _ = _click(script)
    assert inputs[1] is init_image
    values = [to_ui_value(n, v) for n, v in FaceSettings(**FAST).to_dict().items()]
    assert "2 faces" in fn(None, pil(two_faces), *values)[2]


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_faces_and_debug_images_are_saved_and_never_overwritten(webui, models, two_faces):
    runner = build(webui, models)
    args = ui_args(webui, runner, output_faces=True, debug=True)
    webui.ui_img2img(runner, init_image=pil(two_faces), script_args=args, width=512, height=256,
                     denoising_strength=DENOISE)
    webui.assert_no_errors()
    root = webui.module("modules.shared").opts.outdir_img2img_samples
    from pathlib import Path

    facepop_dir = Path(root) / "FacePop"
    first = _tree(facepop_dir)
    (day,) = {k.split("/")[0] for k in first}
    assert len(day) == 10 and day[4] == "-"  # [date] -> YYYY-MM-DD
    faces = [k for k in first if "/Debugging/" not in k]
    assert len(faces) == 2 and all(k.endswith(("-face1.png", "-face2.png")) for k in faces)
    with Image.open(facepop_dir / faces[0]) as im:
        assert "Seed: 1234" in im.info["parameters"] and im.size == (128, 128)
    debug = [k for k in first if "/Debugging/" in k]
    assert any(k.endswith("_contact_sheet.png") for k in debug) and any("_detections" in k for k in debug)
    assert any(str(p).startswith(root) for p in webui.counters.saved_files)  # the final image: the WebUI's own save

    webui.ui_img2img(runner, init_image=pil(two_faces), script_args=args, width=512, height=256,
                     denoising_strength=DENOISE)
    second = _tree(facepop_dir)
    assert len(second) == 2 * len(first)
    assert all(second[k] == v for k, v in first.items())  # the first run's files are untouched


def test_api_jobs_that_do_not_save_write_no_faces(webui, models, two_faces, tmp_path):
    runner = build(webui, models)
    webui.opts.data["facepop_output_dir"] = str(tmp_path / "fp")
    res = webui.api_img2img(runner, init_images=[pil(two_faces)], width=512, height=256, steps=4, seed=1,
                            alwayson_scripts={"FacePop": {"args": [{**FAST, "output_faces": True, "debug": True}]}})
    files = [p for p in (tmp_path / "fp").rglob("*.png")]
    assert files and all(p.parent.name == "Debugging" for p in files)  # debug was asked for; faces follow save_images
    assert "FacePop debug: True" in json.loads(res.info)["infotexts"][0]
