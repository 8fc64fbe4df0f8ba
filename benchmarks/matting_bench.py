"""Matting cost per 720x720 face canvas: MODNet-signature ONNX session, selfie, face oval, post-processing.

    python benchmarks/matting_bench.py [--repeat 20] [--ref-size 512]

Prints milliseconds per canvas (median over ``--repeat`` runs, after a warm-up), one
canvas at a time and in batches of 4. The ONNX model is the tiny MODNet-signature
double from ``tests/modnet_double.py`` (a 1x1 conv at MODNet's input size), so its
figure is FacePop's own overhead around a MODNet session (resize in and out,
normalisation, batching, onnxruntime dispatch), not MODNet's network cost.
The canvas is the astronaut's face (scikit-image), upscaled to 720x720.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_facepop.matting import (  # noqa: E402
    ModnetSession,
    SelfieSegmenter,
    face_oval_mask,
    face_oval_ring,
    postprocess_mask,
)
from tests.modnet_double import build_modnet_like  # noqa: E402


def per_canvas_ms(fn: Callable[[], object], n_canvases: int, repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs (after one warm-up), per canvas, in ms."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times) / n_canvases


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--ref-size", type=int, default=512)
    args = ap.parse_args(argv)

    from skimage import data

    crop = np.ascontiguousarray(data.astronaut()[20:200, 150:320])
    canvas = cv2.resize(crop, (720, 720), interpolation=cv2.INTER_CUBIC)
    batch = [canvas, canvas[:, ::-1].copy(), canvas[::-1].copy(), np.ascontiguousarray(canvas.transpose(1, 0, 2))]

    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        lm = fm.process(canvas).multi_face_landmarks[0].landmark
    points = np.array([(p.x * 720, p.y * 720) for p in lm])
    ring = face_oval_ring()
    alpha = face_oval_mask(points, (720, 720), ring)

    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = build_modnet_like(Path(tmp) / "modnet_like.onnx")
        sess = ModnetSession(onnx_path, ref_size=args.ref_size)
        rows.append((f"MODNet-signature ONNX ({sess.provider}, ref {args.ref_size})",
                     per_canvas_ms(lambda: sess.predict([canvas]), 1, args.repeat),
                     per_canvas_ms(lambda: sess.predict(batch), 4, args.repeat)))
    seg = SelfieSegmenter()
    rows.append(("selfie segmenter (mediapipe)",
                 per_canvas_ms(lambda: seg.predict([canvas]), 1, args.repeat),
                 per_canvas_ms(lambda: seg.predict(batch), 4, args.repeat)))
    seg.close()
    rows.append(("face_oval (landmarks given)",
                 per_canvas_ms(lambda: face_oval_mask(points, (720, 720), ring), 1, args.repeat),
                 per_canvas_ms(lambda: [face_oval_mask(points, (720, 720), ring) for _ in range(4)], 4, args.repeat)))
    rows.append(("face_oval (ring derived each call)",
                 per_canvas_ms(lambda: face_oval_mask(points, (720, 720)), 1, args.repeat), float("nan")))
    for grow, feather in ((0, 16), (8, 16), (-8, 32), (16, 64)):
        rows.append((f"postprocess grow {grow:+d} feather {feather}",
                     per_canvas_ms(lambda g=grow, f=feather: postprocess_mask(alpha, g, f), 1, args.repeat),
                     float("nan")))

    print(f"ms per 720x720 canvas, median of {args.repeat} (after a warm-up)")
    print(f"  {'':<52} {'single':>8} {'batch of 4':>11}")
    for name, single, batched in rows:
        b = "" if np.isnan(batched) else f"{batched:8.2f}"
        print(f"  {name:<52} {single:8.2f} {b:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
