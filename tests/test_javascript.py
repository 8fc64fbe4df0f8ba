"""javascript/facepop_hints.js: generated from the settings, current, and working in a JS engine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib_facepop.settings import FaceSettings, UpscaleSettings

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "javascript" / "facepop_hints.js"


def test_every_setting_has_a_hint():
    for cls in (FaceSettings, UpscaleSettings):
        missing = [f.name for f in cls.fields_info() if not f.hint.strip()]
        assert missing == [], f"{cls.__name__} fields without a hover hint: {missing}"


def test_committed_hints_are_current():
    res = subprocess.run([sys.executable, "tools/gen_hints.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


DOM_HARNESS = r"""
// a minimal DOM: two FacePop panels and one foreign panel with the same label text
function el(tag, text, id) { return { tagName: tag, textContent: text, title: "", id: id || "", kids: [] }; }
const faceRoot = el("div", "", "script_img2img_facepop_padding");
faceRoot.kids.push(el("span", "  Padding %  "), el("span", "Face steps"), el("button", "Preview faces"));
const upRoot = el("div", "", "script_facepop_upscale_passes");
upRoot.kids.push(el("span", "Passes"));
const foreign = el("div", "", "script_img2img_other_steps");
foreign.kids.push(el("span", "Padding %"));
for (const r of [faceRoot, upRoot, foreign]) {
    r.querySelectorAll = () => r.kids;
}
const all = [faceRoot, upRoot, foreign];
globalThis.document = { addEventListener() {} };
globalThis.window = globalThis;
globalThis.gradioApp = () => ({
    querySelectorAll: (sel) => all.filter((r) => r.id.startsWith("script_") && r.id.includes("facepop")),
});
let callbacks = [];
globalThis.onUiUpdate = (cb) => callbacks.push(cb);
require(process.argv[2]);
callbacks.forEach((cb) => cb());
console.log(JSON.stringify({
    face: faceRoot.kids.map((k) => k.title),
    up: upRoot.kids.map((k) => k.title),
    foreign: foreign.kids.map((k) => k.title),
}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_hints_attach_inside_facepop_panels_only(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(DOM_HARNESS)
    res = subprocess.run(["node", str(harness), str(JS)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    hint = {f.label: f.hint for f in FaceSettings.fields_info()}
    assert out["face"][0] == hint["Padding %"] and out["face"][1] == hint["Face steps"]
    assert out["face"][2].startswith("Detect and align")
    assert out["up"][0] == {f.label: f.hint for f in UpscaleSettings.fields_info()}["Passes"]
    assert out["foreign"] == [""]  # another extension's label with the same text keeps its own hint


def test_settings_doc_is_current():
    res = subprocess.run([sys.executable, "tools/gen_settings_doc.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
