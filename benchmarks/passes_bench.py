"""Diffusion passes per image: FacePop's face-first flow against the original FacePop flow.

For k = 0...6 faces on a 1024x768 scene (real faces pasted at several rolls, found by
FacePop's real detection), one img2img job runs through the WebUI double (A1111 mode)
and its counters give:

* ``process_images`` calls (the job itself plus every nested pass);
* sampler steps actually run (img2img runs ``int(denoise x steps) + 1`` of its steps);
* MP-steps, the same weighted by each pass's size in megapixels (a compute proxy: a
  UNet step costs about in proportion to the pixels).

"FacePop" is ``scripts/facepop.py``: k face passes, then the one main pass that protects
them. "original" emulates FacePop 1.2's order of work in the same double with the same
settings: the main img2img pass (its result thrown away), one pass per face, then a
final img2img pass of the whole composite; it also slept 2 s per face, which is listed
but not actually slept here. Every pass uses the job's steps (20) and denoise (0.75),
face passes run on the face's canvas (at most 512x512, the crop's aspect), in both flows.

    python benchmarks/passes_bench.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STEPS = 20
DENOISE = 0.75
CANVAS = 512
SIZE = (1024, 768)
SPOTS = [(200, 220, 0.0), (512, 220, 30.0), (824, 220, -45.0), (200, 560, 90.0), (512, 560, 180.0), (824, 560, 15.0)]
SETTINGS = {"max_faces": 0, "matting": "face_oval", "face_width": CANVAS, "face_height": CANVAS,
            "output_faces": False}


def scene(k: int, sources: list, background: np.ndarray) -> np.ndarray:
    from benchmarks.scenes import paste_face

    img = background.copy()
    for i, (x, y, roll) in enumerate(SPOTS[:k]):
        paste_face(img, sources[i % len(sources)], (x, y), 120.0, roll)
    return img


def original_flow_script(scripts, processing, faces_per_job: dict):
    """FacePop 1.2's order of work, as an always-on script: after the (discarded) main pass,
    one img2img per face (``faces_per_job["canvases"]``: the same canvas sizes FacePop
    uses), then one img2img of the whole image."""

    class OriginalFacePop(scripts.Script):
        def title(self):
            return "Original FacePop"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def postprocess(self, p, processed, *args):
            if getattr(p, "_orig_child", False):
                return
            image = p.init_images[0]
            jobs = [*faces_per_job["canvases"], (p.width, p.height)]
            for w, h in jobs:
                child = processing.StableDiffusionProcessingImg2Img(
                    init_images=[image.resize((w, h))], width=w, height=h, steps=STEPS, denoising_strength=DENOISE,
                    seed=p.seed, sampler_name=p.sampler_name, scheduler=p.scheduler, do_not_save_samples=True,
                    do_not_save_grid=True)
                child._orig_child = True
                child.is_api = True
                processing.process_images(child)
                child.close()

    return OriginalFacePop


def measure(webui, runner, image: np.ndarray, alwayson: dict) -> tuple[int, int, float]:
    webui.reset()
    webui.api_img2img(runner, init_images=[Image.fromarray(image)], alwayson_scripts=alwayson, steps=STEPS,
                      denoising_strength=DENOISE, seed=1, width=SIZE[0], height=SIZE[1], sampler_name="Euler",
                      scheduler="Automatic")
    webui.assert_no_errors()
    mp_steps = sum(r.steps_done * r.width * r.height * r.batch / 1e6 for r in webui.sampler_log)
    return webui.counters.process_images, webui.counters.sampler_steps, mp_steps


def main() -> int:
    from benchmarks.scenes import backgrounds, load_sources
    from lib_facepop.align import align_face
    from lib_facepop.detect import Models
    from lib_facepop.settings import FaceSettings
    from tests.webui_double import install, uninstall

    sources = load_sources()
    background = backgrounds(SIZE)["gradient"]
    models = Models()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        webui = install("a1111", tmp)
        try:
            from modules import processing, scripts

            runner = webui.build_runner([str(ROOT / "scripts" / "facepop.py")])
            facepop = webui.find_script(runner, "FacePop")
            facepop.engine.use_models(models)
            faces_per_job: dict = {"canvases": []}
            original = webui.build_runner([original_flow_script(scripts, processing, faces_per_job)])
            detect_settings = FaceSettings(**SETTINGS)
            for k in range(7):
                img = scene(k, sources, background)
                faces = facepop.engine.pipeline.detect(img, detect_settings)
                found = len(faces)
                fp = measure(webui, runner, img, {"FacePop": {"args": [SETTINGS]}})
                faces_per_job["canvases"] = [align_face(f, detect_settings).canvas_size for f in faces]
                orig = measure(webui, original, img, {})
                rows.append((k, found, fp, orig))
        finally:
            uninstall()
    print(f"img2img {SIZE[0]}x{SIZE[1]}, {STEPS} steps at denoise {DENOISE} "
          f"({int(DENOISE * STEPS) + 1} run per pass), face canvases at most {CANVAS}x{CANVAS}\n")
    print("| faces | found | FacePop passes | original passes | FacePop steps | original steps "
          "| FacePop MP-steps | original MP-steps | original sleep |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k, found, (fp_calls, fp_steps, fp_mp), (o_calls, o_steps, o_mp) in rows:
        print(f"| {k} | {found} | {fp_calls} | {o_calls} | {fp_steps} | {o_steps} | {fp_mp:.1f} | {o_mp:.1f} "
              f"| {2 * found} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
