"""Round-trip fidelity and FacePop's own CPU cost per face (everything but diffusion).

Over the public synthetic scenes (benchmarks/scenes.py) it prints:

* identity renderer: the max absolute difference outside the protect mask (must be 0)
  and the PSNR inside the faces (alpha > 0.99) at the default 720 working size;
* preview renderer: a seam score - the gradient change the paste makes in the blend band
  (0.05 < alpha < 0.95) relative to the change inside the face (see ``seam_score``);
  a hard paste edge, a colour step or a halo pushes it above 1;
* ms per face for align + matte + composite with each mask method, the bundled
  fallbacks and a MODNet-signature ONNX model (built like the tests build it).

    python benchmarks/roundtrip_bench.py [--scenes 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scenes import load_sources, make_scenes  # noqa: E402
from lib_facepop.detect import Models  # noqa: E402
from lib_facepop.pipeline import FacePipeline  # noqa: E402
from lib_facepop.render import IdentityRenderer, PreviewRenderer  # noqa: E402
from lib_facepop.settings import FaceSettings  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def seam_score(composite: np.ndarray, original: np.ndarray, alpha: np.ndarray) -> float | None:
    """How much the paste itself adds at the alpha edge, relative to the face interior.

    The gradient change the composite makes, |grad(composite) - grad(original)|, is
    averaged over the blend band (0.05 < alpha < 0.95) and over the face interior
    (alpha >= 0.95). A clean blend changes the band no more than the interior (the band
    is a partial mix of the same change), so the ratio stays <= ~1; a seam (a colour step,
    a hard crop edge, a halo) adds gradient change only in the band and drives it above 1.
    Comparing against the original cancels the image's own edges (hair against the
    background lies exactly where a person matte puts the band).
    """
    band = (alpha > 0.05) & (alpha < 0.95)
    inner = alpha >= 0.95
    if band.sum() < 50 or inner.sum() < 50:
        return None
    d = np.abs(grad_mag_signed(composite) - grad_mag_signed(original)).sum(axis=0)
    return float(d[band].mean() / max(d[inner].mean(), 1e-6))


def grad_mag_signed(img: np.ndarray) -> np.ndarray:
    """(2, H, W) signed Sobel gradients of the luma, so a changed direction counts too."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.stack([cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=12)
    args = ap.parse_args(argv)
    scenes = [s for s in make_scenes(args.scenes, 6, 0, sources=load_sources()) if s.faces]
    models = Models()
    base = FaceSettings(enabled=True, matting="selfie")

    # detection once per scene; the pipelines reuse the faces
    probe = FacePipeline(models=models)
    faces_by_scene = [probe.detect(sc.image, base) for sc in scenes]
    n_faces = sum(len(f) for f in faces_by_scene)
    print(f"{len(scenes)} scenes, {n_faces} faces (max 5 per image, the default), 1024x768, working size 720\n")

    # 1. identity: exactness outside, PSNR inside
    ident = FacePipeline(models=models)
    max_out, psnrs = 0, []
    for sc, faces in zip(scenes, faces_by_scene):
        res = ident.run(sc.image, base, IdentityRenderer(), faces=faces)
        outside = res.protect == 0
        max_out = max(max_out, int(np.abs(res.image.astype(int) - sc.image.astype(int))[outside].max(initial=0)))
        for rec in res.faces:
            if rec.alpha is None:
                continue
            # alpha back in image space: protect holds the union, so measure per face box
            x0, y0, x1, y1 = rec.box
            inner = res.protect[y0:y1, x0:x1] >= 253
            if inner.sum() > 20:
                psnrs.append(psnr(res.image[y0:y1, x0:x1][inner], sc.image[y0:y1, x0:x1][inner]))
    print("identity renderer (selfie mask)")
    print(f"  max |diff| outside the protect mask: {max_out}")
    print(f"  PSNR inside faces (protect >= 253): median {statistics.median(psnrs):.1f} dB, "
          f"min {min(psnrs):.1f} dB over {len(psnrs)} faces")

    # 2. seam score with the preview renderer
    prev = FacePipeline(models=models)
    seams = []
    for sc, faces in zip(scenes, faces_by_scene):
        res = prev.run(sc.image, base, PreviewRenderer("Unsharp Mask"), faces=faces)
        for rec in res.faces:
            if rec.box is None:
                continue
            x0, y0, x1, y1 = rec.box
            a = res.protect[y0:y1, x0:x1].astype(np.float32) / 255.0
            s = seam_score(res.image[y0:y1, x0:x1], sc.image[y0:y1, x0:x1], a)
            if s is not None:
                seams.append(s)
    print("\npreview renderer (Unsharp Mask), seam score = gradient change in the blend band / in the face interior")
    print(f"  median {statistics.median(seams):.3f}, p90 {float(np.percentile(seams, 90)):.3f}, "
          f"max {max(seams):.3f} over {len(seams)} faces")

    # 3. FacePop's own cost per face: align + matte + composite (identity render costs ~0)
    print("\nms per face, align + matte + composite at 720x720 (render excluded)")
    from lib_facepop.matting import Matter

    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, str(ROOT / "tests"))
        from modnet_double import build_modnet_like

        onnx_path = Path(tmp) / "modnet_like.onnx"
        build_modnet_like(onnx_path)
        methods = {
            "face_oval": Matter(allow_download=False),
            "selfie": Matter(allow_download=False),
            "modnet (sig.)": Matter(modnet_path=onnx_path, allow_download=False),
            "none": Matter(allow_download=False),
        }
        for name, matter in methods.items():
            method = "modnet" if name.startswith("modnet") else name
            pipe = FacePipeline(models=models, matter=matter)
            s = base.replace(matting=method)
            pipe.run(scenes[0].image, s, IdentityRenderer(), faces=faces_by_scene[0])  # warm-up
            per_face = []
            provider = ""
            for sc, faces in zip(scenes, faces_by_scene):
                if not faces:
                    continue
                res = pipe.run(sc.image, s, IdentityRenderer(), faces=faces)
                t = res.timings
                per_face.append((t["align"] + t["render"] + t["matte"] + t["composite"]) / len(faces))
                provider = getattr(matter, "provider", "") or provider
            extra = f"  [{provider}]" if provider else ""
            print(f"  {name:>14}: median {statistics.median(per_face):6.1f} ms, max {max(per_face):6.1f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
