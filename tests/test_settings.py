"""FaceSettings: defaults from the original FacePop, validation messages, exact round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.infotext import build_infotext, parse_infotext
from lib_facepop.settings import FaceSettings, SettingsError, parse_assignments


def test_original_defaults():
    s = FaceSettings()
    assert (s.face_width, s.face_height, s.padding, s.keep_aspect) == (720, 720, 35.0, True)
    assert (s.confidence, s.max_faces, s.aggressive) == (0.5, 5, True)
    assert s.rotation_threshold == 10.0
    assert s.enabled is False


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"padding": -1}, "'padding'"),
        ({"padding": 1000}, "'padding'"),
        ({"confidence": "high"}, "'confidence'"),
        ({"max_faces": 2.5}, "'max_faces'"),
        ({"face_width": 721}, "'face_width'"),
        ({"matting": "rembg"}, "'matting'"),
        ({"enabled": "maybe"}, "'enabled'"),
        ({"face_prompts": [1, 2]}, "'face_prompts'"),
        ({"paddding": 30}, "'paddding'"),
        ({"cfg_scale": float("nan")}, "'cfg_scale'"),
    ],
)
def test_validation_names_the_bad_field(data, needle):
    with pytest.raises(SettingsError) as exc:
        FaceSettings.from_dict(data)
    assert needle in str(exc.value)


def test_coercion_of_text_values():
    s = FaceSettings.from_dict({"enabled": "true", "padding": "40", "max_faces": "3", "face_prompts": "a\nb"})
    assert s.enabled is True and s.padding == 40.0 and s.max_faces == 3 and s.face_prompts == ["a", "b"]


def _valid_values():
    fields = {f.name: f for f in FaceSettings.fields_info()}

    def strat(f):
        if f.type is bool:
            return st.booleans()
        if f.choices:
            return st.sampled_from(f.choices)
        if f.type is int:
            lo, hi = int(f.minimum), int(f.maximum)
            if f.name in ("face_width", "face_height"):
                return st.integers(lo // 8, hi // 8).map(lambda v: max(v * 8, lo))
            return st.integers(lo, hi)
        if f.type is float:
            return st.floats(f.minimum, f.maximum, allow_nan=False)
        if f.type is list:
            return st.lists(st.text(max_size=20), max_size=4)
        return st.text(max_size=40)

    return st.fixed_dictionaries({n: strat(f) for n, f in fields.items()})


@settings(max_examples=150, deadline=None)
@given(_valid_values())
def test_round_trips_are_exact(values):
    s = FaceSettings.from_dict(values)
    assert FaceSettings.from_dict(s.to_dict(), partial=False) == s
    assert FaceSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert FaceSettings.from_args(s.to_args()) == s
    assert FaceSettings.from_args([s.to_dict()]) == s
    on = s.replace(enabled=True)
    # write -> parse -> write through the WebUI's infotext format is exact
    text = build_infotext(on.to_infotext(), prompt="a photo")
    back = FaceSettings.from_infotext(parse_infotext(text))
    assert back == on
    assert build_infotext(back.to_infotext(), prompt="a photo") == text


def test_infotext_holds_enable_and_non_defaults_only():
    assert FaceSettings().to_infotext() == {}
    it = FaceSettings(enabled=True, padding=40, face_prompts=["smiling, freckles", ""]).to_infotext()
    assert it == {
        "FacePop enabled": "True",
        "FacePop padding": "40.0",
        "FacePop face prompts": json.dumps(["smiling, freckles", ""]),
    }
    assert FaceSettings.from_infotext({"Steps": "20"}) is None


def test_api_list_form_and_errors():
    s = FaceSettings.from_args([True, "after"])
    assert s.enabled and s.mode == "after" and s.padding == 35.0
    with pytest.raises(SettingsError, match="only"):
        FaceSettings.from_args([False] * 100)
    with pytest.raises(SettingsError, match="either one dict"):
        FaceSettings.from_args([{"enabled": True}, 3])
    with pytest.raises(SettingsError, match="unknown setting"):
        FaceSettings.from_args([{"enable": True}])


def test_parse_assignments():
    assert parse_assignments(["padding=40", "prompt=a=b"]) == {"padding": "40", "prompt": "a=b"}
    with pytest.raises(SettingsError):
        parse_assignments(["padding"])
