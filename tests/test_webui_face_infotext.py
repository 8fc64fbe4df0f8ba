"""Reproduction through the WebUI double: infotext written, parsed and pasted back exactly;
the API's dict and list argument forms; bad arguments rejected with a message naming them."""

from __future__ import annotations

import json

import pytest

from lib_facepop.settings import FaceSettings
from lib_facepop.webui.script_args import FIELD_NAMES, settings_to_args, to_ui_value
from tests import test_webui_face_support as _support
from tests.test_webui_face_support import (
    DENOISE,
    FAST,
    STEPS,
    build,
    facepop,
    pil,
    runs,
    ui_args,
)
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
astronaut_256 = _support.astronaut_256

TRICKY = {
    "separate": True, "steps": 6, "denoise": 0.33, "cfg_scale": 5.5, "prompt": "a face, smiling: 1.2",
    "negative_prompt": "  spaced  ", "face_prompts": ["red hair, freckles", "", "[cat:dog:0.5]"],
    "seed_mode": "random", "sort_order": "left_to_right", "padding": 20.0, "mask_feather": 8,
}


def _facepop_params(webui, text: str) -> dict:
    params = webui.infotext_utils.parse_generation_parameters(text)
    return {k: v for k, v in params.items() if k.startswith("FacePop")}


def _run_ui(webui, runner, image, args):
    return webui.ui_img2img(runner, init_image=pil(image), script_args=args, width=256, height=256,
                            denoising_strength=DENOISE)


def test_write_parse_paste_write_is_exact(webui, models, astronaut_256):
    runner = build(webui, models)
    script = facepop(webui, runner)
    first = _run_ui(webui, runner, astronaut_256, ui_args(webui, runner, **TRICKY)).infotexts[0]
    webui.assert_no_errors()
    assert runs(webui, 2)[0].steps_planned == int(TRICKY["denoise"] * 6) + 1  # the face pass's own steps/denoise
    written = _facepop_params(webui, first)
    assert json.loads(written["FacePop face prompts"]) == TRICKY["face_prompts"]
    assert written["FacePop prompt"] == TRICKY["prompt"]

    updates = webui.paste_infotext(script.infotext_fields, first)
    pasted = [u["value"] for u in updates]
    expected = FaceSettings(**{**FAST, **TRICKY})
    assert pasted == [to_ui_value(n, getattr(expected, n)) for n in FIELD_NAMES]

    args = webui.ui_script_args(runner, {"FacePop": pasted, "Seed": [1234], "Sampler": {0: STEPS}})
    webui.reset()
    second = _run_ui(webui, runner, astronaut_256, args).infotexts[0]
    assert _facepop_params(webui, second) == written
    assert [r.seeds for r in runs(webui, 2)] != []


def test_paste_resets_absent_keys_and_text_without_facepop_turns_it_off(webui, models):
    runner = build(webui, models)
    script = facepop(webui, runner)
    only_enabled = webui.paste_infotext(script.infotext_fields, "a prompt\nSteps: 20, Seed: 1, FacePop enabled: True")
    defaults = FaceSettings()
    assert [u["value"] for u in only_enabled] == [True, *[to_ui_value(n, getattr(defaults, n)) for n in FIELD_NAMES[1:]]]
    plain = webui.paste_infotext(script.infotext_fields, "a prompt\nSteps: 20, Sampler: Euler, Seed: 1, Size: 64x64")
    assert plain[0]["value"] is False and all("value" not in u for u in plain[1:])


def test_api_dict_list_and_enable_forms_agree(webui, models, astronaut_256):
    runner = build(webui, models)
    settings = FaceSettings(**{**FAST, "denoise": 0.3, "separate": True})
    forms = {
        "dict": [{**FAST, "denoise": 0.3, "separate": True}],
        "dict without enabled": [{k: v for k, v in {**FAST, "denoise": 0.3, "separate": True}.items() if k != "enabled"}],
        "flag and dict": [True, {"denoise": 0.3, "separate": True, **{k: v for k, v in FAST.items() if k != "enabled"}}],
        "positional": settings_to_args(settings),
    }
    infos = {}
    for name, args in forms.items():
        webui.reset()
        res = webui.api_img2img(runner, init_images=[pil(astronaut_256)], alwayson_scripts={"FacePop": {"args": args}},
                                steps=STEPS, seed=5, width=256, height=256)
        webui.assert_no_errors()
        assert webui.counters.process_images == 2, name
        infos[name] = {k: v for k, v in json.loads(res.info)["extra_generation_params"].items() if k.startswith("FacePop")}
    assert all(info == infos["dict"] for info in infos.values())
    assert infos["dict"] == settings.to_infotext()


@pytest.mark.parametrize(("args", "named"), [
    ([{"denoize": 0.3}], ["'denoize'", "known settings"]),
    ([{"denoise": 5}], ["'denoise'", "maximum"]),
    ([{"face_prompts": 3}], ["'face_prompts'"]),
    ([{"mode": "sideways"}], ["'mode'", "'before'"]),
    ([True, "before", "yes please"], ["'aggressive'"]),
])
def test_api_rejects_bad_arguments_with_a_message_naming_them(webui, models, astronaut_256, args, named):
    runner = build(webui, models)
    res = webui.api_img2img(runner, init_images=[pil(astronaut_256)], alwayson_scripts={"FacePop": {"args": args}},
                            steps=STEPS, seed=5, width=256, height=256)
    assert len(res.images) == 1 and webui.counters.process_images == 1  # the job ran without FacePop
    error = json.loads(res.info)["extra_generation_params"]["FacePop error"]
    assert all(n in error for n in named), error
    assert "FacePop error" in json.loads(res.info)["infotexts"][0]
    assert any("invalid arguments" in e for e in webui.errors)


def test_infotext_keys_of_one_job_do_not_survive_into_the_next_on_the_same_p(webui, models, astronaut_256):
    from modules import processing

    runner = build(webui, models)
    p = processing.StableDiffusionProcessingImg2Img(init_images=[pil(astronaut_256)], width=256, height=256,
                                                    steps=STEPS, seed=3, sampler_name="Euler",
                                                    scheduler="Automatic", do_not_save_samples=True,
                                                    do_not_save_grid=True)
    p.is_api = True
    p.scripts = runner
    args = webui.default_script_args(runner)
    args[facepop(webui, runner).args_from] = {"denoise": 5}
    p.script_args = tuple(args)
    assert "FacePop error" in processing.process_images(p).infotexts[0]
    args[facepop(webui, runner).args_from] = {**FAST}
    p.script_args = tuple(args)
    second = processing.process_images(p).infotexts[0]
    assert "FacePop error" not in second and "FacePop enabled: True" in second


def test_api_dict_uses_the_settings_tab_default_matting(webui, models, astronaut_256):
    runner = build(webui, models)
    webui.opts.data["facepop_default_matting"] = "selfie"  # what the Settings tab stores
    res = webui.api_img2img(runner, init_images=[pil(astronaut_256)],
                            alwayson_scripts={"FacePop": {"args": [{k: v for k, v in FAST.items() if k != "matting"}]}},
                            steps=STEPS, seed=5, width=256, height=256)
    assert json.loads(res.info)["extra_generation_params"]["FacePop matting"] == "selfie"
