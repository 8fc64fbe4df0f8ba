"""The WebUI glue's small parts on their own: argument forms, the user's mask, the main-pass
patch of ``p``, progress bookkeeping, the child's script filter and FacePop's file names."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from lib_facepop.settings import FaceSettings, SettingsError
from lib_facepop.webui.script_args import FIELD_NAMES, settings_from_args, settings_to_args, text_to_lines
from tests.webui_double import fixtures as _fixtures

webui_a1111 = _fixtures.webui_a1111


# ------------------------------------------------------------------------------- arguments
def test_every_argument_form_gives_the_same_settings():
    s = FaceSettings(enabled=True, denoise=0.3, face_prompts=["a", "", "[cat:dog:0.5]"], mode="after")
    data = {k: v for k, v in s.to_dict().items() if k != "enabled"}
    assert settings_from_args(settings_to_args(s)) == s  # the UI / positional form
    assert settings_from_args([data]) == s  # a dict means enabled
    assert settings_from_args([True, data]) == s
    assert settings_from_args([False, data]) == s.replace(enabled=False)
    assert settings_from_args([{**data, "enabled": False}, "ignored", 3]) == s.replace(enabled=False)
    assert settings_from_args([]) == FaceSettings()
    assert settings_from_args([True, None, False]) == FaceSettings(enabled=True, aggressive=False)  # None: default
    base = FaceSettings(matting="selfie")
    assert settings_from_args([{"denoise": 0.2}], base).matting == "selfie"


def test_text_boxes_keep_inner_blank_lines_and_never_parse_json():
    assert text_to_lines("a\r\n\nb\n\n") == ["a", "", "b"]
    args = settings_to_args(FaceSettings())
    args[FIELD_NAMES.index("face_prompts")] = "[red hair]\n\nsmile"
    assert settings_from_args(args).face_prompts == ["[red hair]", "", "smile"]


@pytest.mark.parametrize(("args", "needle"), [
    ([{"denoize": 1}], "'denoize'"),
    ([{1: 2}], "names must be text"),
    ([True, "before", {"steps": 3}], "not a mix"),
    (list(range(len(FIELD_NAMES) + 1)), "values but there are only"),
    ([{"face_width": 100}], "multiple of 8"),
])
def test_bad_arguments_name_what_is_wrong(args, needle):
    with pytest.raises(SettingsError, match=needle.replace("[", r"\[")):
        settings_from_args(args)


# ------------------------------------------------------------------------------- masks and p
def test_user_mask_matches_what_the_webui_would_paint(webui_a1111):
    from modules import masking

    from lib_facepop.webui.main_pass import user_mask

    mask = webui_a1111.make_mask(96, 64, (20, 10, 60, 40))
    p = SimpleNamespace(image_mask=mask, mask_round=True, inpainting_mask_invert=0, mask_blur_x=4, mask_blur_y=3)
    expected = masking.gaussian_blur_axis(masking.gaussian_blur_axis(np.array(mask), 4, axis=1), 3, axis=0)
    assert np.array_equal(user_mask(p, (96, 64)), expected)
    p.inpainting_mask_invert, p.mask_blur_x, p.mask_blur_y = 1, 0, 0
    assert np.array_equal(user_mask(p, (96, 64)), 255 - np.array(mask))
    rgba = Image.new("RGBA", (96, 64), (0, 0, 0, 0))
    rgba.paste((255, 255, 255, 255), (0, 0, 10, 10))
    p.image_mask, p.inpainting_mask_invert = rgba, 0
    out = user_mask(p, (192, 128))  # resized to the init image
    assert out.shape == (128, 192) and out[:18, :18].min() == 255 and out[30:, 30:].max() == 0
    assert user_mask(SimpleNamespace(image_mask=None), (8, 8)) is None


def test_main_pass_patch_applies_and_restores_every_field():
    from lib_facepop.webui.main_pass import PATCHED_FIELDS, MainPassPatch

    original = Image.new("RGB", (8, 8))
    user = Image.new("L", (8, 8), 255)
    p = SimpleNamespace(init_images=[original], image_mask=user, mask_blur_x=4, mask_blur_y=4, mask_blur=4,
                        inpainting_mask_invert=1, inpainting_fill=0, inpaint_full_res=True, overlay_images=None,
                        mask_for_overlay=None, paste_to=None, mask=None, nmask=None, latent_mask=None,
                        extra_generation_params={})
    before = {k: getattr(p, k) for k in PATCHED_FIELDS}
    patch = MainPassPatch.snapshot(p)
    composite = Image.new("RGB", (8, 8), (1, 2, 3))
    patch.apply(p, [composite], np.zeros((8, 8), np.uint8), had_user_mask=True)
    assert p.init_images == [composite] and p.image_mask.mode == "L" and not np.asarray(p.image_mask).any()
    assert (p.mask_blur_x, p.mask_blur_y, p.inpainting_mask_invert) == (0, 0, 0)
    assert p.inpaint_full_res is False  # a blank mask with "Only masked" would repaint the whole picture
    assert p.extra_generation_params == {"Mask blur": 4, "Mask mode": "Inpaint not masked"}
    p.overlay_images, p.mask, p.paste_to = ["stale"], "stale", (0, 0, 8, 8)  # what p.init() leaves behind
    patch.restore(p)
    assert {k: getattr(p, k) for k in PATCHED_FIELDS} == before


# ------------------------------------------------------------------------------- progress
def test_job_progress_counts_face_passes_and_gives_back_the_unrun_ones():
    from lib_facepop.webui.progress import JobProgress

    state = SimpleNamespace(job_count=-1, job_no=0, sampling_step=0, sampling_steps=0, job="img2img", textinfo=None)
    progress = JobProgress(state, passes=3, n_main_jobs=2)
    progress.begin()
    assert state.job_count == 5
    with progress.face_pass(0, 3):
        assert (state.job, state.textinfo) == ("FacePop: face 1/3", "FacePop: face 1/3")
        state.job_count, state.job_no, state.sampling_step, state.job = 1, 7, 9, "Batch 1 out of 1"  # the child's
    assert (state.job_count, state.job_no, state.sampling_step, state.job) == (5, 1, 0, "img2img")
    progress.finish()  # interrupted: 2 passes never ran
    assert state.job_count == 3 and state.textinfo is None
    state.job_count = 4
    JobProgress(state, passes=2, n_main_jobs=1).begin()
    assert state.job_count == 6  # a job count already set (the Batch tab) grows


# ------------------------------------------------------------------------------- child scripts
def test_filtered_runner_keeps_allowed_scripts_and_never_facepop():
    from lib_facepop.webui.child import filtered_runner

    def script(title, filename):
        return SimpleNamespace(title=lambda: title, filename=filename)

    cn, dp, fp, other = (script("ControlNet", "/x/controlnet.py"), script("Dynamic Prompts", "/y/dynamic_prompting.py"),
                         script("FacePop", "/z/facepop.py"), script("Other", "/o/other.py"))
    runner = SimpleNamespace(alwayson_scripts=[cn, dp, fp, other], scripts=[cn, dp, fp, other], selectable_scripts=[1],
                             callback_map={"script_process": "cached"})
    child = filtered_runner(runner, {"controlnet", "dynamic prompts", "facepop"}, exclude=[fp])
    assert child.alwayson_scripts == [cn, dp] and child.scripts == [cn, dp] and child.selectable_scripts == []
    assert child.callback_map == {} and runner.callback_map == {"script_process": "cached"}
    assert runner.alwayson_scripts == [cn, dp, fp, other]


# ------------------------------------------------------------------------------- files
def test_output_patterns_stay_inside_the_output_folder_and_files_are_never_replaced(tmp_path):
    from lib_facepop.webui.outputs import _clean_relative, write_png_exclusive

    assert _clean_relative("../../etc/[x]") == os.path.join("etc", "[x]")
    assert _clean_relative("C:\\Windows\\x") == os.path.join("C_", "Windows", "x")
    assert _clean_relative("..") == ""
    rgb = np.zeros((4, 4, 3), np.uint8)
    paths = [write_png_exclusive(tmp_path, "face", rgb + i) for i in range(3)]
    assert [p.name for p in paths] == ["face.png", "face-1.png", "face-2.png"]
    assert [np.asarray(Image.open(p))[0, 0, 0] for p in paths] == [0, 1, 2]
