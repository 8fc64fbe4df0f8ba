"""The CLI contract other tools depend on: `python -m lib_facepop detect ... --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lib_facepop", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    astro = data.astronaut()
    p: dict[str, Path] = {}
    p["good"] = d / "astronaut.png"
    Image.fromarray(astro).save(p["good"])
    p["missing"] = d / "nope.png"
    p["not_image"] = d / "notes.png"
    p["not_image"].write_text("this is not a picture\n")
    p["empty"] = d / "empty.png"
    p["empty"].write_bytes(b"")
    raw = p["good"].read_bytes()
    p["truncated"] = d / "truncated.png"
    p["truncated"].write_bytes(raw[: len(raw) // 3])
    gray16 = (astro.mean(axis=2) * 257).astype(np.uint16)
    p["16bit"] = d / "gray16.png"
    Image.fromarray(gray16).save(p["16bit"])
    assert Image.open(p["16bit"]).mode.startswith("I")
    p["cmyk"] = d / "cmyk.jpg"
    Image.fromarray(astro).convert("CMYK").save(p["cmyk"], quality=95)
    p["palette"] = d / "palette.png"
    Image.fromarray(astro).convert("P", palette=Image.ADAPTIVE, colors=256).save(p["palette"])
    p["tiny"] = d / "tiny.png"
    Image.new("RGB", (1, 1), (200, 100, 50)).save(p["tiny"])
    p["huge"] = d / "huge.png"
    Image.new("1", (12000, 9000)).save(p["huge"])
    return p


def test_detect_json_contract(inputs):
    order = ["good", "missing", "not_image", "empty", "truncated", "16bit", "cmyk", "palette", "tiny", "huge"]
    paths = [str(inputs[k]) for k in order]
    res = run_cli("detect", *paths, "--json")
    assert res.returncode == 1, res.stderr  # some inputs failed
    out = json.loads(res.stdout)
    assert [o["image"] for o in out] == paths  # one object per image, input order, path as given
    by = dict(zip(order, out))
    good = by["good"]
    assert (good["width"], good["height"]) == (512, 512)
    assert len(good["faces"]) == 1
    f = good["faces"][0]
    x0, y0, x1, y1 = f["box"]
    assert 150 < x0 < 200 and 220 < x1 < 300 and 50 < y0 < 110 and 150 < y1 < 220
    assert -180 < f["roll"] <= 180 and abs(f["roll"]) < 10
    assert 0.5 <= f["score"] <= 1
    assert set(f["keypoints"]) == {"right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear"}
    # odd but valid formats are converted and processed, not rejected
    for k in ("16bit", "cmyk", "palette"):
        assert "error" not in by[k] and len(by[k]["faces"]) == 1, k
    assert by["tiny"]["faces"] == [] and by["tiny"]["width"] == 1
    # each bad input: one clear line on stderr naming it
    bad = ["missing", "not_image", "empty", "truncated", "huge"]
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == len(bad)
    for k in bad:
        assert "error" in by[k]
        assert any(str(inputs[k]) in ln for ln in lines)
    assert "Traceback" not in res.stderr


def test_detect_table_and_exit_code(inputs, tmp_path):
    res = run_cli("detect", str(inputs["good"]), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    assert "1 face(s)" in res.stdout and "roll" in res.stdout
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert written == ["astronaut.detections.png", "astronaut.face0.png"]
    crop = Image.open(tmp_path / "o" / "astronaut.face0.png")
    assert max(crop.size) == 720
    # a second run never overwrites
    run_cli("detect", str(inputs["good"]), "--out", str(tmp_path / "o"))
    assert len(list((tmp_path / "o").iterdir())) == 4


def test_detect_settings_errors_are_one_line(inputs):
    res = run_cli("detect", str(inputs["good"]), "--set", "confidence=2")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error:") and "'confidence'" in res.stderr
    assert "Traceback" not in res.stderr


def test_sample_is_bundled_and_has_four_faces():
    res = run_cli("detect", "--sample", "--json")
    assert res.returncode == 0, res.stderr
    (out,) = json.loads(res.stdout)
    rolls = sorted(round(f["roll"]) for f in out["faces"])
    assert len(out["faces"]) == 4
    # sideways (90), upside down (180), tilted (-25) and the upright astronaut
    assert any(abs(r - 90) <= 5 for r in rolls) and any(abs(abs(r) - 180) <= 5 for r in rolls)
    assert any(abs(r + 25) <= 5 for r in rolls)
