"""Upscale planner: sizes, schedules, seeds, LoRA per pass, presets, UpscaleSettings."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.settings import SettingsError, UpscaleSettings
from lib_facepop.upscale import (
    MAX_STEPS,
    PRESETS,
    TABLE_COLUMNS,
    apply_preset,
    denoise_values,
    effective_steps,
    lora_schedule,
    parse_lora,
    plan_upscale,
    split_sizes,
    steps_for,
)

# ---- sizes -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    w=st.integers(16, 2000),
    h=st.integers(16, 2000),
    scale=st.floats(1.0, 8.0),
    passes=st.integers(1, 10),
    split=st.sampled_from(["geometric", "linear"]),
)
def test_pass_sizes_are_multiples_of_8_monotone_and_exact(w, h, scale, passes, split):
    s = UpscaleSettings(scale=round(scale, 2), passes=passes, scale_split=split)
    plan = plan_upscale(s, (w, h))
    assert len(plan.passes) == passes
    target = (max(8, round(w * s.scale / 8) * 8), max(8, round(h * s.scale / 8) * 8))
    assert plan.target_size == target
    assert plan.passes[-1].output_size == target
    prev = (w, h)
    for p in plan.passes:
        assert p.input_size == prev
        assert p.output_size[0] % 8 == 0 and p.output_size[1] % 8 == 0
        if p.index > 0:
            assert p.output_size[0] >= prev[0] and p.output_size[1] >= prev[1]
        prev = p.output_size


def test_geometric_split_grows_by_equal_factors():
    sizes = split_sizes((1024, 1024), (4096, 4096), 4, "geometric")
    assert sizes == [(1448, 1448), (2048, 2048), (2896, 2896), (4096, 4096)]
    factors = [b[0] / a[0] for a, b in zip([(1024, 1024)] + sizes, sizes, strict=False)]
    assert max(factors) - min(factors) < 0.01


def test_linear_split_grows_by_equal_steps():
    sizes = split_sizes((512, 256), (2048, 1024), 3, "linear")
    assert sizes == [(1024, 512), (1536, 768), (2048, 1024)]


def test_target_size_mode_keeps_aspect_when_one_side_is_zero():
    s = UpscaleSettings(size_mode="size", target_width=1920, passes=3)
    plan = plan_upscale(s, (640, 360))
    assert plan.target_size == (1920, 1080)
    s = UpscaleSettings(size_mode="size", target_width=2048, target_height=1024)
    assert plan_upscale(s, (1000, 700)).target_size == (2048, 1024)  # both given: exactly that


def test_target_smaller_than_source_is_an_error():
    with pytest.raises(SettingsError, match="smaller than the source"):
        plan_upscale(UpscaleSettings(size_mode="size", target_width=512), (1024, 1024))


def test_scale_one_refines_in_place_and_warns_about_no_growth():
    plan = plan_upscale(UpscaleSettings(scale=1.0, passes=3), (512, 512))
    assert [p.output_size for p in plan.passes] == [(512, 512)] * 3
    assert any("no growth" in w for w in plan.warnings)


# ---- schedules ---------------------------------------------------------------------


def test_geometric_denoise_decays_by_the_factor_down_to_the_floor():
    d = denoise_values(0.4, 0.2, 6, "geometric", 0.8)
    assert d[:4] == [0.4, 0.32, 0.256, 0.2048]
    assert d[4:] == [0.2, 0.2]  # 0.4 * 0.8**4 = 0.164 < floor


def test_linear_denoise_is_a_straight_line_to_the_floor():
    d = denoise_values(0.5, 0.2, 4, "linear")
    assert d == [0.5, 0.4, 0.3, 0.2]


def test_cosine_denoise_is_flat_at_the_ends_and_steep_in_the_middle():
    d = denoise_values(0.5, 0.1, 9, "cosine")
    assert d[0] == 0.5 and d[-1] == 0.1
    assert d[4] == pytest.approx(0.3)  # the midpoint
    steps = [a - b for a, b in zip(d, d[1:], strict=False)]
    assert all(x > 0 for x in steps)
    assert steps[0] < steps[3] and steps[-1] < steps[4]  # eased at both ends
    assert steps == pytest.approx(steps[::-1], abs=1e-4)  # symmetric S-curve


def test_one_pass_uses_the_first_pass_values():
    assert denoise_values(0.4, 0.1, 1, "linear") == [0.4]
    plan = plan_upscale(UpscaleSettings(passes=1, cfg_start=7, cfg_end=3), (512, 512))
    assert plan.passes[0].cfg == 7


def test_effective_steps_mirror_a1111():
    assert effective_steps(0.35, 18) == 6  # Clarity's defaults run only 6 ...
    assert effective_steps(0.28, 18) == 5  # ... and 5 steps
    assert effective_steps(1.0, 20) == 19  # A1111 clamps denoise to 0.999


@settings(max_examples=300, deadline=None)
@given(d=st.floats(0.07, 1.0), steps=st.integers(1, 60), minimum=st.integers(0, 10))
def test_steps_are_raised_just_enough_for_the_minimum(d, steps, minimum):
    s = steps_for(d, steps, minimum)
    assert s >= steps
    assert effective_steps(d, s) >= minimum
    if s > steps:  # raised: one fewer would fall short
        assert effective_steps(d, s - 1) < minimum


def test_plan_keeps_effective_steps_and_warns_at_the_cap():
    plan = plan_upscale(UpscaleSettings(passes=5, denoise_start=0.4, denoise_floor=0.1, min_effective_steps=12,
                                        steps=20), (512, 512))
    for p in plan.passes:
        assert p.effective_steps >= 12 and p.effective_steps == int(p.denoise * p.steps)
    plan = plan_upscale(UpscaleSettings(passes=2, denoise_start=0.05, denoise_floor=0.05, min_effective_steps=10),
                        (512, 512))
    assert plan.passes[0].steps == MAX_STEPS and plan.passes[0].effective_steps == 7
    assert any("cap" in w for w in plan.warnings)


def test_cfg_and_controlnet_ramps():
    plan = plan_upscale(UpscaleSettings(passes=3, cfg_start=7, cfg_end=5, controlnet_weight_start=0.5,
                                        controlnet_weight_end=0.9), (512, 512))
    assert [p.cfg for p in plan.passes] == [7, 6, 5]
    assert [p.controlnet_weight for p in plan.passes] == [0.5, 0.7, 0.9]


def test_seeds_increment_or_stay_fixed():
    inc = plan_upscale(UpscaleSettings(passes=3), (512, 512), seed=41)
    assert [p.seed for p in inc.passes] == [41, 42, 43]
    fixed = plan_upscale(UpscaleSettings(passes=3, seed_mode="fixed"), (512, 512), seed=41)
    assert [p.seed for p in fixed.passes] == [41, 41, 41]
    own = plan_upscale(UpscaleSettings(passes=2, seed=7), (512, 512), seed=41)  # the script's seed wins
    assert [p.seed for p in own.passes] == [7, 8]
    assert plan_upscale(UpscaleSettings(passes=1), (512, 512)).passes[0].seed == 0  # deterministic default
    wrap = plan_upscale(UpscaleSettings(passes=2, seed=2**32 - 1), (512, 512))
    assert [p.seed for p in wrap.passes] == [2**32 - 1, 0]


def test_tile_grid_appears_once_the_canvas_exceeds_the_tile_size():
    plan = plan_upscale(UpscaleSettings(scale=4, passes=3, tile_size=768, tile_overlap=64), (384, 384))
    grids = [p.grid for p in plan.passes]
    assert [p.output_size for p in plan.passes] == [(608, 608), (968, 968), (1536, 1536)]
    assert grids[0].is_single and not grids[1].is_single
    for p in plan.passes:
        assert p.grid.tile_width <= 768 and p.grid.tile_height <= 768
        assert (p.grid.width, p.grid.height) == p.output_size


def test_overrides_use_webui_payload_names():
    s = UpscaleSettings(passes=2, loras=["detail:0.5@2"], controlnet_weight_start=0.7, controlnet_weight_end=0.7)
    plan = plan_upscale(s, (512, 512), seed=3)
    o = plan.passes[1].overrides(2)
    assert o == {"denoising_strength": 0.28, "steps": 29, "cfg_scale": 6.0, "facepop_pass": 2, "facepop_passes": 2,
                 "lora": {"detail": 0.5}, "controlnet_weight": 0.7}
    assert plan.passes[0].overrides(2)["lora"] == {}


# ---- LoRA lines --------------------------------------------------------------------


def test_lora_weight_on_every_pass():
    assert lora_schedule(["detail:0.6"], 3) == [{"detail": 0.6}] * 3


def test_lora_pass_ranges():
    got = lora_schedule(["a:0.6@1-3", "b:1@2", "c:0.5@4-", "d:-0.3@-2", "e:1@1,4-5"], 5)
    assert got == [
        {"a": 0.6, "d": -0.3, "e": 1.0},
        {"a": 0.6, "b": 1.0, "d": -0.3},
        {"a": 0.6},
        {"c": 0.5, "e": 1.0},
        {"c": 0.5, "e": 1.0},
    ]


def test_lora_weight_lists_and_ramps():
    assert lora_schedule(["a:0.8,0.6,0.4"], 5) == [{"a": w} for w in (0.8, 0.6, 0.4, 0.4, 0.4)]
    assert lora_schedule(["a:0.9,0.3@2-3"], 4) == [{}, {"a": 0.9}, {"a": 0.3}, {}]
    assert lora_schedule(["a:0.8..0.2"], 4) == [{"a": 0.8}, {"a": 0.6}, {"a": 0.4}, {"a": 0.2}]
    assert lora_schedule(["a:1..0@3-"], 3) == [{}, {}, {"a": 1.0}]  # one chosen pass: the start value


def test_lora_lines_accept_separators_comments_and_split_ranges():
    lines = ["# detail early, soft later", "detail:0.6@1-2; detail:0.2@3-", "", "style:1"]
    assert lora_schedule(lines, 3) == [{"detail": 0.6, "style": 1.0}, {"detail": 0.6, "style": 1.0},
                                       {"detail": 0.2, "style": 1.0}]


def test_lora_names_may_contain_colons_and_spaces():
    spec = parse_lora("  my lora:v2 : 0.7 @ 2 - 3 ")
    assert spec.name == "my lora:v2" and spec.weights == (0.7,) and spec.ranges == ((2, 3),)


@pytest.mark.parametrize(
    "line,why",
    [
        ("detail", "colon"),
        (":0.5", "colon"),
        ("detail:", "missing weight"),
        ("detail:abc", "not a number"),
        ("detail:0.5,", "missing weight"),
        ("detail:inf", "finite"),
        ("detail:0.5@", "nothing after"),
        ("detail:0.5@x", "not a pass"),
        ("detail:0.5@3-1", "empty"),
        ("detail:0.5@0", "below 1"),
        ("<lora:detail:0.5>", "bare LoRA name"),
    ],
)
def test_lora_syntax_errors_say_what_is_wrong(line, why):
    with pytest.raises(SettingsError, match=why) as exc:
        lora_schedule([line], 3)
    assert "name:weight@1-3" in str(exc.value)  # and show the syntax that works
    with pytest.raises(SettingsError):
        UpscaleSettings(loras=[line])  # caught when the settings are built, too


@pytest.mark.parametrize(
    "lines,why",
    [
        (["a:0.5@4"], "pass 4 does not exist"),
        (["a:0.5@2-6"], "pass 6 does not exist"),
        (["a:0.1,0.2,0.3,0.4"], "4 weights for 3"),
        (["a:0.5@1-2,2"], "chosen twice"),
        (["a:0.5@1-2", "a:0.3@2-"], "already has a weight"),
    ],
)
def test_lora_schedule_errors_against_the_pass_count(lines, why):
    with pytest.raises(SettingsError, match=why):
        lora_schedule(lines, 3)
    s = UpscaleSettings(passes=3, loras=lines)  # syntax is fine: the settings build ...
    with pytest.raises(SettingsError, match=why):
        plan_upscale(s, (512, 512))  # ... and planning names the problem


def test_lora_open_range_past_the_last_pass_is_empty_not_an_error():
    assert lora_schedule(["a:0.5@1-", "b:1@-3"], 3)[2] == {"a": 0.5, "b": 1.0}


# ---- table, infotext, presets -------------------------------------------------------


def test_table_rows_and_text():
    s = UpscaleSettings(scale=4, passes=2, loras=["detail:0.5@1"], tile_size=1024)
    plan = plan_upscale(s, (1024, 1024), seed=5)
    rows = plan.table()
    assert [tuple(r) for r in rows] == [TABLE_COLUMNS] * 2
    assert rows[0]["output"] == "2048x2048" and rows[0]["lora"] == "detail:0.5" and rows[1]["lora"] == ""
    assert rows[1]["tiles"] == "5x5 of 1024x1024" and rows[0]["seed"] == 5
    text = plan.table_text()
    assert "4096x4096" in text and f"{plan.sampler_steps} sampler steps" in text
    assert plan.sampler_steps == sum(p.effective_steps * p.tiles for p in plan.passes)


def test_plan_infotext_is_one_safe_value():
    plan = plan_upscale(UpscaleSettings(scale=3, passes=3), (512, 512), seed=1)
    info = plan.to_infotext()
    assert list(info) == ["FacePop Upscale plan"]
    value = info["FacePop Upscale plan"]
    assert "," not in value and ":" not in value and "\n" not in value  # A1111 infotext would need quoting
    assert value.count("|") == 2 and "1536x1536" in value


def test_presets():
    assert set(PRESETS) == {"Creative", "Faithful", "Fast"}
    base = UpscaleSettings(scale=4, loras=["detail:0.5"], pixel_upscaler="4x-UltraSharp")
    creative = apply_preset(base, "Creative")
    assert creative.passes == 8 and creative.scale == 4 and creative.loras == ["detail:0.5"]
    assert creative.pixel_upscaler == "4x-UltraSharp"
    assert apply_preset(base, "Fast").passes == 2
    faithful = plan_upscale(apply_preset(base, "Faithful"), (1024, 1024))
    assert all(p.scale <= 1.5 for p in faithful.passes)  # the 'faithful' per-pass cap
    for name in PRESETS:
        plan = plan_upscale(apply_preset(base, name), (1024, 1024))
        assert plan.passes[-1].output_size == (4096, 4096) and not plan.warnings
        assert all(p.effective_steps >= 8 for p in plan.passes)
        assert [p.denoise for p in plan.passes] == sorted((p.denoise for p in plan.passes), reverse=True)
    with pytest.raises(SettingsError, match="unknown upscale preset"):
        apply_preset(base, "Wild")
    with pytest.raises(TypeError):
        PRESETS["Fast"]["passes"] = 3  # type: ignore[index]


# ---- UpscaleSettings -------------------------------------------------------------


def _custom() -> UpscaleSettings:
    return UpscaleSettings(enabled=True, size_mode="size", target_width=2048, target_height=1536, passes=4,
                           denoise_schedule="cosine", denoise_start=0.42, denoise_floor=0.12, cfg_end=4.5,
                           loras=["detail:0.6@1-3", "style:0.8..0.2"], tile_size=768, tile_overlap=96,
                           color_fix="adain", color_fix_strength=0.75, seed=99, save_passes=True)


def test_settings_round_trip_dict_json_args():
    s = _custom()
    assert UpscaleSettings.from_dict(s.to_dict(), partial=False) == s
    assert UpscaleSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert UpscaleSettings.from_args(s.to_args()) == s
    assert UpscaleSettings.from_args([s.to_dict()]) == s


def test_settings_round_trip_infotext():
    s = _custom()
    info = s.to_infotext()
    assert info["FacePop Upscale enabled"] == "True"
    assert all(k.startswith("FacePop Upscale ") for k in info)
    assert json.loads(info["FacePop Upscale loras"]) == s.loras
    assert "FacePop Upscale steps" not in info  # defaults are not written
    assert UpscaleSettings.from_infotext(info) == s
    assert UpscaleSettings.from_infotext({"Steps": "20"}) is None
    assert UpscaleSettings().to_infotext() == {}  # disabled: nothing


def test_every_setting_is_fully_declared():
    for f in UpscaleSettings.fields_info():
        assert f.label and f.section and f.hint, f.name
        if f.type in (int, float):
            assert f.minimum is not None and f.maximum is not None and f.step is not None, f.name
            assert f.minimum <= f.default <= f.maximum, f.name
        if f.type is str and f.choices:
            assert f.default in f.choices
        assert f.type in (bool, int, float, str, list)
    keys = [f.infotext_key for f in UpscaleSettings.fields_info()]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "changes,why",
    [
        ({"tile_overlap": 600}, "more than half"),
        ({"tile_size": 1004}, "multiple of 8"),
        ({"target_width": 1001}, "multiple of 8"),
        ({"denoise_floor": 0.5, "denoise_start": 0.3}, "above the first-pass"),
        ({"size_mode": "size"}, "needs a target"),
        ({"passes": 11}, "above the maximum"),
        ({"denoise_schedule": "exp"}, "not one of"),
        ({"loras": ["x"]}, "colon"),
    ],
)
def test_settings_validation(changes, why):
    with pytest.raises(SettingsError, match=why):
        UpscaleSettings(**changes)


def test_ui_strings_are_coerced():
    s = UpscaleSettings.from_dict({"passes": "3", "scale": "2.5", "loras": "a:1\nb:0.5@2", "enabled": "true"})
    assert s.passes == 3 and math.isclose(s.scale, 2.5) and s.loras == ["a:1", "b:0.5@2"] and s.enabled
