"""Detection benchmark: FacePop (plain, aggressive) against a single-pass mediapipe baseline.

Prints, side by side from one run over the public synthetic scenes (benchmarks/scenes.py):
recall by face width and by roll, false positives per image (on scenes and on face-free
images), roll error (median, max) for faces >= 40 px, and ms per 1024x768 image.

    python benchmarks/detect_bench.py [--scenes 48] [--empty 20] [--faces 6]

A detection matches a true face when its centre lies within half the face width of the
true centre and its width is within 0.5-2x; each truth matches at most one detection, and
every unmatched detection counts as a false positive (so duplicates are penalised).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scenes import WIDTHS, load_sources, make_scenes  # noqa: E402
from lib_facepop.align import normalize_roll, roll_from_eyes  # noqa: E402
from lib_facepop.detect import DetectParams, Models, detect_faces  # noqa: E402


def baseline(model_selection: int):
    """ADetailer-style: one mediapipe call on the whole image, roll from the detector's eye keypoints."""
    import mediapipe as mp

    graph = mp.solutions.face_detection.FaceDetection(model_selection=model_selection, min_detection_confidence=0.5)

    def run(img: np.ndarray) -> list[tuple[tuple[float, float], float, float]]:
        h, w = img.shape[:2]
        out = []
        for d in graph.process(img).detections or ():
            bb = d.location_data.relative_bounding_box
            k = d.location_data.relative_keypoints
            roll = roll_from_eyes((k[0].x * w, k[0].y * h), (k[1].x * w, k[1].y * h))
            out.append((((bb.xmin + bb.width / 2) * w, (bb.ymin + bb.height / 2) * h), bb.width * w, roll))
        return out

    return run


def facepop(aggressive: bool, models: Models):
    params = DetectParams(aggressive=aggressive, confidence=0.5, max_faces=0)

    def run(img: np.ndarray) -> list[tuple[tuple[float, float], float, float]]:
        return [(f.center, f.size[0], f.roll) for f in detect_faces(img, models, params)]

    return run


def match(truths, dets):
    """Greedy nearest matching -> (list of (truth, det or None), unmatched det count)."""
    used = set()
    pairs = []
    for t in sorted(truths, key=lambda t: -t.width):
        best, best_d = None, None
        for j, (c, w, _r) in enumerate(dets):
            if j in used:
                continue
            d = math.hypot(c[0] - t.center[0], c[1] - t.center[1])
            if d <= 0.5 * t.width and 0.5 <= w / t.width <= 2.0 and (best_d is None or d < best_d):
                best, best_d = j, d
        if best is not None:
            used.add(best)
            pairs.append((t, dets[best]))
        else:
            pairs.append((t, None))
    return pairs, len(dets) - len(used)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=96)
    ap.add_argument("--empty", type=int, default=20)
    ap.add_argument("--faces", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)

    scenes = make_scenes(args.scenes, args.faces, args.empty, seed=args.seed, sources=load_sources())
    models = Models()
    methods = {
        "mp-short x1": baseline(0),
        "mp-full x1": baseline(1),
        "FacePop plain": facepop(False, models),
        "FacePop aggr.": facepop(True, models),
    }
    names = list(methods)
    # warm up every graph once so model loading is not timed
    for fn in methods.values():
        fn(scenes[0].image)

    found_w: dict[str, dict[int, list[int]]] = {n: defaultdict(lambda: [0, 0]) for n in names}
    found_r: dict[str, dict[tuple[str, int], list[int]]] = {n: defaultdict(lambda: [0, 0]) for n in names}
    fp_scene = dict.fromkeys(names, 0)
    fp_empty = dict.fromkeys(names, 0)
    roll_err: dict[str, list[float]] = {n: [] for n in names}
    ms: dict[str, list[float]] = {n: [] for n in names}
    n_scene = sum(1 for s in scenes if s.faces)
    n_empty = len(scenes) - n_scene

    for sc in scenes:
        for n, fn in methods.items():
            t0 = time.perf_counter()
            dets = fn(sc.image)
            ms[n].append((time.perf_counter() - t0) * 1000)
            pairs, fp = match(sc.faces, dets)
            if sc.faces:
                fp_scene[n] += fp
            else:
                fp_empty[n] += fp
            for t, d in pairs:
                rbin = int(((t.roll % 360) + 22.5) // 45) % 8 * 45
                wclass = ">=32" if t.width >= 32 else ("24-28" if t.width >= 24 else "<24")
                found_w[n][int(t.width)][1] += 1
                found_r[n][(wclass, rbin)][1] += 1
                if d is not None:
                    found_w[n][int(t.width)][0] += 1
                    found_r[n][(wclass, rbin)][0] += 1
                    if t.width >= 40:
                        roll_err[n].append(abs(normalize_roll(d[2] - t.roll)))

    col = 15
    print(f"FacePop worker lanes: {models.workers} (CPU count {os.cpu_count()})")
    print(f"scenes: {n_scene} with {sum(len(s.faces) for s in scenes)} faces, {n_empty} face-free; "
          f"1024x768; sources: astronaut, grace_hopper (+mirrors)")
    print("\nrecall by face width (px)")
    print(f"{'width':>8}" + "".join(f"{n:>{col}}" for n in names))
    for w in WIDTHS:
        row = []
        for n in names:
            f, t = found_w[n][w]
            row.append(f"{f}/{t} {100 * f / max(t, 1):5.1f}%")
        print(f"{w:>8}" + "".join(f"{r:>{col}}" for r in row))

    def recall(n: str, cond) -> str:
        f = sum(v[0] for w, v in found_w[n].items() if cond(w))
        t = sum(v[1] for w, v in found_w[n].items() if cond(w))
        return f"{100 * f / max(t, 1):.1f}%"

    print(f"{'>=32':>8}" + "".join(f"{recall(n, lambda w: w >= 32):>{col}}" for n in names))
    print(f"{'24-28':>8}" + "".join(f"{recall(n, lambda w: 24 <= w <= 28):>{col}}" for n in names))
    print(f"{'all':>8}" + "".join(f"{recall(n, lambda w: True):>{col}}" for n in names))

    for wclass in (">=32", "24-28"):
        print(f"\nrecall by roll (45-degree bins centred on the value), faces {wclass} px")
        print(f"{'roll':>8}" + "".join(f"{n:>{col}}" for n in names))
        for rb in range(0, 360, 45):
            row = []
            for n in names:
                f, t = found_r[n][(wclass, rb)]
                row.append(f"{f}/{t} {100 * f / max(t, 1):5.1f}%")
            print(f"{rb:>8}" + "".join(f"{r:>{col}}" for r in row))

    print("\nfalse positives per image")
    print(f"{'':>14}" + "".join(f"{n:>{col}}" for n in names))
    print(f"{'on scenes':>14}" + "".join(f"{fp_scene[n] / max(n_scene, 1):>{col}.3f}" for n in names))
    print(f"{'face-free':>14}" + "".join(f"{fp_empty[n] / max(n_empty, 1):>{col}.3f}" for n in names))

    print("\nroll error, faces >= 40 px (degrees)")
    print(f"{'median':>14}" + "".join(f"{(statistics.median(roll_err[n]) if roll_err[n] else float('nan')):>{col}.2f}" for n in names))
    print(f"{'p95':>14}" + "".join(f"{(float(np.percentile(roll_err[n], 95)) if roll_err[n] else float('nan')):>{col}.2f}" for n in names))
    print(f"{'max':>14}" + "".join(f"{(max(roll_err[n]) if roll_err[n] else float('nan')):>{col}.2f}" for n in names))

    print("\nms per 1024x768 image")
    print(f"{'median':>14}" + "".join(f"{statistics.median(ms[n]):>{col}.1f}" for n in names))
    print(f"{'mean':>14}" + "".join(f"{statistics.fmean(ms[n]):>{col}.1f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
