"""`python -m lib_facepop run`: outputs, PNG infotext, masks, faces, debug images, no overwrites."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

from lib_facepop.infotext import parse_infotext
from lib_facepop.settings import FaceSettings
from tests.test_api_client import FakeWebUI

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "lib_facepop" / "assets" / "sample.jpg"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lib_facepop", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_run_preview_writes_everything(tmp_path):
    out = tmp_path / "out"
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    res = run_cli("run", "--sample", str(bad), "--out", str(out), "--renderer", "preview", "--debug", "--faces",
                  "--set", "matting=face_oval", "--set", "padding=40")
    assert res.returncode == 1  # the bad input failed, the sample was still processed
    assert res.stderr.count("error:") == 1 and str(bad) in res.stderr and "Traceback" not in res.stderr
    assert "W0000" not in res.stderr  # mediapipe's native log lines are filtered
    composite = Image.open(out / "sample.png")
    mask = Image.open(out / "sample.mask.png")
    src = Image.open(SAMPLE)
    assert composite.size == mask.size == src.size and mask.mode == "L"
    # the FacePop settings travel in the PNG text, in the WebUI's infotext format
    params = parse_infotext(composite.info["parameters"])
    s = FaceSettings.from_infotext(params)
    assert s.enabled and s.padding == 40.0 and s.matting == "face_oval" and params["FacePop faces"] == "4"
    # outside the protect mask the composite is the input, bit for bit (the preview filter ran inside)
    m = np.asarray(mask)
    a, b = np.asarray(composite.convert("RGB")).astype(int), np.asarray(src.convert("RGB")).astype(int)
    assert np.array_equal(a[m == 0], b[m == 0])
    assert np.abs(a[m == 255] - b[m == 255]).mean() > 1.0
    faces = sorted(p.name for p in out.glob("sample.face*.png"))
    assert faces == [f"sample.face{i}.png" for i in range(4)]
    dbg = sorted(p.name for p in (out / "Debugging").iterdir())
    assert any(n.endswith("_contact_sheet.png") for n in dbg) and any(n.endswith("_detections.png") for n in dbg)
    assert sum("_orientation" in n for n in dbg) == 4 and sum("_mask_face_oval" in n for n in dbg) == 4
    # a second run never overwrites
    res2 = run_cli("run", "--sample", "--out", str(out), "--renderer", "identity", "--set", "matting=none")
    assert res2.returncode == 0, res2.stderr
    assert (out / "sample-1.png").exists() and (out / "sample-1.mask.png").exists()
    assert np.array_equal(np.asarray(Image.open(out / "sample.png")), np.asarray(composite))


def test_run_against_a_webui_over_http(tmp_path):
    FakeWebUI.requests = []
    FakeWebUI.mode = "ok"
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeWebUI)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        res = run_cli("run", "--sample", "--out", str(tmp_path), "--renderer", "webui-api", "--url", url,
                      "--set", "matting=face_oval", "--set", "separate=true", "--set", "steps=9", "--seed", "5")
        assert res.returncode == 0, res.stderr
        bodies = [r["body"] for r in FakeWebUI.requests]
        assert len(bodies) == 4 and all(b["steps"] == 9 for b in bodies)
        assert sorted(b["seed"] for b in bodies) == [5, 6, 7, 8]
        assert all(max(b["width"], b["height"]) == 720 for b in bodies)
    finally:
        srv.shutdown()
        srv.server_close()
    # the WebUI gone: one clear line, no traceback
    res = run_cli("run", "--sample", "--out", str(tmp_path / "x"), "--renderer", "webui-api", "--url", url,
                  "--timeout", "5")
    assert res.returncode == 1 and "unreachable" in res.stderr and "Traceback" not in res.stderr


def test_upscale_cli_runs_the_pass_loop(tmp_path):
    from lib_facepop.settings import UpscaleSettings

    res = run_cli("upscale", "--sample", str(tmp_path / "missing.png"), "--out", str(tmp_path), "--renderer",
                  "identity", "--set", "passes=3", "--set", "scale=1.5", "--save-passes")
    assert res.returncode == 1 and "no such file" in res.stderr  # the missing input fails alone
    out = Image.open(tmp_path / "sample.upscaled.png")
    src = Image.open(SAMPLE)
    assert out.size == (round(src.width * 1.5 / 8) * 8, round(src.height * 1.5 / 8) * 8)
    assert sorted(p.name for p in tmp_path.glob("sample.upscaled.pass*.png")) == [
        f"sample.upscaled.pass{i}.png" for i in (1, 2, 3)]
    params = parse_infotext(out.info["parameters"])
    s = UpscaleSettings.from_infotext(params)
    assert s.passes == 3 and s.scale == 1.5
    assert params["FacePop Upscale plan"].count("|") == 2  # one entry per pass
