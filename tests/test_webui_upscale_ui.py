"""FacePop Upscale's controls, plan table, presets, infotext paste and API forms (WebUI double),
plus the pure helpers behind them (LoRA tags, tile model choice)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib_facepop.settings import UpscaleSettings
from lib_facepop.upscale import PRESETS
from lib_facepop.webui.cn_tile import pick_tile_model
from lib_facepop.webui.upscale_prompt import count_tags, pass_prompt, strip_lora_tags
from tests.test_webui_upscale_helpers import SCRIPT, SRC, TITLE, run_ui, settings
from tests.webui_double import fixtures as _fixtures

webui = _fixtures.webui
webui_a1111 = _fixtures.webui_a1111

FIELDS = UpscaleSettings.field_names()


def _handler(component, event: str = "change"):
    return next(fn for name, fn, _ in component.events if name == event)


# ---------------------------------------------------------------------------------- controls
def test_controls_are_the_settings_in_field_order(webui):
    from lib_facepop.webui.upscale_script import settings_from_args

    runner = webui.build_runner([SCRIPT])
    script = webui.find_script(runner, TITLE)
    assert script in runner.selectable_scripts and not script.alwayson
    controls = runner.inputs[script.args_from:script.args_to]
    assert len(controls) == len(FIELDS)
    by_name = dict(zip(FIELDS, controls, strict=True))
    assert by_name["enabled"].value is True and by_name["enabled"].visible is False  # picking the script enables it
    assert type(by_name["scale"]).__name__ == "Slider" and by_name["scale"].kwargs["maximum"] == 16.0
    assert type(by_name["seed"]).__name__ == "Number"
    assert type(by_name["loras"]).__name__ == "Textbox"
    assert "R-ESRGAN 4x+" in by_name["pixel_upscaler"].kwargs["choices"]
    assert "None" not in by_name["pixel_upscaler"].kwargs["choices"]
    assert by_name["controlnet_mode"].kwargs["choices"][0] == "Balanced"
    # the API's defaults (each control's value) are the settings' defaults
    defaults = webui.default_script_args(runner)[script.args_from:script.args_to]
    assert settings_from_args(defaults) == UpscaleSettings(enabled=True)
    ui_values = webui.ui_script_args(runner, selected=TITLE)[script.args_from:script.args_to]
    assert settings_from_args(ui_values) == UpscaleSettings(enabled=True)


def test_presets_rewrite_only_the_controls_they_cover(webui_a1111):
    runner = webui_a1111.build_runner([SCRIPT])
    script = webui_a1111.find_script(runner, TITLE)
    assert script.preset_control.kwargs["choices"] == ["Custom", *PRESETS]
    updates = _handler(script.preset_control)("Faithful")
    assert len(updates) == len(FIELDS)
    for name, update in zip(FIELDS, updates, strict=True):
        if name in PRESETS["Faithful"]:
            assert update["value"] == PRESETS["Faithful"][name], name
        else:
            assert "value" not in update, name  # size, upscaler, LoRAs... are kept
    assert dict(zip(FIELDS, updates, strict=True))["controlnet_module"]["value"] == "tile_colorfix"
    assert all("value" not in u for u in _handler(script.preset_control)("Custom"))


def test_plan_table_follows_the_controls(webui_a1111):
    runner = webui_a1111.build_runner([SCRIPT])
    script = webui_a1111.find_script(runner, TITLE)
    controls = runner.inputs[script.args_from:script.args_to]
    assert "512x512" in script.plan_control.value and script.plan_control.value.count("<tr>") == 1 + 2
    values = settings(passes=3, scale=4.0).to_args()
    refresh = _handler(controls[FIELDS.index("passes")])
    assert all(_handler(c) is refresh for c in controls)  # every control refreshes the table
    html = refresh(*values)
    assert html.count("<tr>") == 1 + 3 and "2048x2048" in html
    bad = list(values)
    bad[FIELDS.index("tile_overlap")] = 600
    assert "Cannot plan" in refresh(*bad) and "more than half" in refresh(*bad)


def test_plan_table_uses_the_img2img_size_when_known(webui_a1111):
    gr = webui_a1111.gradio
    runner = webui_a1111.build_runner([SCRIPT])
    script = webui_a1111.find_script(runner, TITLE)
    width, height = gr.Slider(value=640, label="Width"), gr.Slider(value=480, label="Height")
    script.after_component(width, elem_id="img2img_width")
    script.after_component(height, elem_id="img2img_height")
    controls = script.ui(True)
    assert "640x480" in script.plan_control.value
    refresh = _handler(controls[0])
    assert any(fn is refresh for _, fn, _ in width.events)
    html = refresh(*settings(passes=1).to_args(), 800, 600)
    assert "800x600" in html and "1600x1200" in html


# ---------------------------------------------------------------------------------- infotext
def test_infotext_pastes_back_into_the_same_settings(webui):
    from lib_facepop.webui.upscale_script import settings_from_args

    runner = webui.build_runner([SCRIPT])
    script = webui.find_script(runner, TITLE)
    s = settings(passes=3, loras=["detail:0.8..0.4", "style:1@2"], denoise_schedule="cosine", color_fix="adain",
                 controlnet_mode="Balanced", seed=5, save_passes=True)
    processed = run_ui(webui, runner, s, prompt="a cat")
    text = processed.infotexts[0]
    assert text.startswith("a cat\n") and "FacePop Upscale plan: " in text

    params = webui.infotext_utils.parse_generation_parameters(text)
    assert UpscaleSettings.from_infotext(params) == s
    controls = runner.inputs[script.args_from:script.args_to]
    updates = webui.paste_infotext(script.infotext_fields, text)
    assert [c for c, _ in script.infotext_fields] == controls
    assert settings_from_args([u["value"] for u in updates]) == s
    dropdown = [u for u in webui.paste_infotext(runner.infotext_fields, text) if u.get("value") == TITLE]
    assert dropdown  # the "Script" key selects FacePop Upscale again

    # a FacePop Upscale infotext resets the settings it does not mention to their defaults ...
    short = "a dog\nSteps: 20, Seed: 1, FacePop Upscale enabled: True, FacePop Upscale passes: 4"
    values = [u["value"] for u in webui.paste_infotext(script.infotext_fields, short)]
    assert settings_from_args(values) == UpscaleSettings(enabled=True, passes=4)
    # ... and any other infotext leaves the controls alone
    assert all("value" not in u for u in webui.paste_infotext(script.infotext_fields, "a dog\nSteps: 20, Seed: 1"))


# ---------------------------------------------------------------------------------- API
def test_api_script_args_as_a_list_or_a_dict(webui):
    runner = webui.build_runner([SCRIPT])
    source = webui.make_image(*SRC)
    s = settings(passes=2, tile_size=256, tile_overlap=64, loras=["detail:0.5@2"])
    as_list = webui.api_img2img(runner, init_images=[source], script_name=TITLE, script_args=s.to_args(), seed=1234)
    runs = len(webui.sampler_log)
    as_dict = webui.api_img2img(runner, init_images=[source], script_name="facepop upscale",
                                script_args=[{"passes": 2, "tile_size": 256, "tile_overlap": 64,
                                              "loras": ["detail:0.5@2"]}], seed=1234)
    short = webui.api_img2img(runner, init_images=[source], script_name=TITLE, script_args=[True, "scale", 2.0],
                              seed=1234)
    assert runs == 8 and len(webui.sampler_log) == 8 + 8 + 2  # the short list: 2 default passes, no tiles
    assert [im.size for im in as_list.images + as_dict.images + short.images] == [(384, 384)] * 3
    assert np.array_equal(np.array(as_list.images[0]), np.array(as_dict.images[0]))
    assert as_list.processed.infotexts == as_dict.processed.infotexts
    assert '"seed": 1234' in as_list.info and "FacePop Upscale passes" not in as_list.info  # 2 is the default
    assert webui.counters.saved_files == []  # save_images defaults to False
    webui.assert_no_errors()


def test_bad_api_settings_say_what_is_wrong(webui_a1111):
    from lib_facepop.settings import SettingsError

    runner = webui_a1111.build_runner([SCRIPT])
    with pytest.raises(SettingsError, match="passes"):
        webui_a1111.api_img2img(runner, init_images=[webui_a1111.make_image(*SRC)], script_name=TITLE,
                                script_args=[{"passes": 11}])
    with pytest.raises(SettingsError, match="pass 3 does not exist"):
        webui_a1111.api_img2img(runner, init_images=[webui_a1111.make_image(*SRC)], script_name=TITLE,
                                script_args=[{"passes": 2, "loras": ["x:1@3"]}])
    assert webui_a1111.sampler_log == []  # nothing rendered before the settings were checked


# ---------------------------------------------------------------------------------- pure helpers
_NAMES = st.sampled_from(["detail", "style", "Other"])
_WEIGHTS = st.floats(min_value=-2, max_value=2, allow_nan=False).map(lambda w: round(w, 2))
_WORDS = st.sampled_from(["a cat", "masterpiece,", "(best:1.2)", "  ", "<hypernet:x:1>", "<lora:detail:0.3>",
                          "<lora:style:1:0.5>", "<lyco:other:0.7>", "<LORA:Detail:1>"])


@given(st.lists(_WORDS, max_size=6).map(" ".join), st.dictionaries(_NAMES, _WEIGHTS, max_size=3),
       st.lists(_NAMES, max_size=3))
def test_pass_prompt_has_one_tag_per_active_lora_and_is_idempotent(prompt, loras, scheduled):
    out = pass_prompt(prompt, loras, scheduled)
    for name in {"detail", "style", "other"}:
        active = [n for n in loras if n.casefold() == name]
        owned = active or [n for n in scheduled if n.casefold() == name]
        if owned:
            assert count_tags(out, name) == len(active)
        else:
            assert count_tags(out, name) == count_tags(prompt, name)  # not scheduled: left as typed
    assert pass_prompt(out, loras, scheduled) == out
    for name, weight in loras.items():
        assert f"<lora:{name}:{weight:g}>" in out


def test_strip_lora_tags_keeps_everything_else():
    text = "a cat, <lora:detail:0.3> (best:1.2) <lora:keep:1> <hypernet:h:1>"
    assert strip_lora_tags(text, ["detail"]) == "a cat, (best:1.2) <lora:keep:1> <hypernet:h:1>"
    assert strip_lora_tags(text, []) is text
    assert pass_prompt("", {"detail": 0.5}, []) == "<lora:detail:0.5>"


def test_tile_model_matches_the_checkpoint_family():
    names = ["None", "control_v11p_sd15_canny [d14c016b]", "control_v11f1e_sd15_tile [a371b31b]",
             "xinsir-controlnet-tile-sdxl-1.0 [12345678]"]
    assert pick_tile_model(names, sdxl=False) == "control_v11f1e_sd15_tile [a371b31b]"
    assert pick_tile_model(names, sdxl=True) == "xinsir-controlnet-tile-sdxl-1.0 [12345678]"
    assert pick_tile_model(names[:2], sdxl=False) is None
    assert pick_tile_model(names[:3], sdxl=True) is None  # an SD1.5 tile model would fail on SDXL


def test_api_dict_accepts_a_preset_under_explicit_keys(webui_a1111):
    from lib_facepop.upscale import PRESETS, apply_preset
    from lib_facepop.webui.upscale_script import settings_from_args

    s = settings_from_args([{"preset": "Creative", "scale": 3.0}])
    expected = apply_preset(UpscaleSettings(), "Creative").replace(scale=3.0, enabled=True)
    assert s == expected and s.passes == PRESETS["Creative"].get("passes", s.passes)
    from lib_facepop.settings import SettingsError

    with pytest.raises(SettingsError, match="preset"):
        settings_from_args([{"preset": "Wild"}])
