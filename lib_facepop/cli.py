"""``python -m lib_facepop``: FacePop outside the WebUI, over the same engine.

    python -m lib_facepop detect IMAGE [IMAGE ...] [--json] [--out DIR] [--set key=value ...]
    python -m lib_facepop run IMAGE [IMAGE ...] --out DIR [--renderer identity|preview|webui-api]
                                [--url URL] [--debug] [--faces] [--set key=value ...]
    python -m lib_facepop upscale IMAGE --out DIR [--renderer ...] [--set key=value ...]

``--sample`` uses the bundled sample image. A bad input gets one line on stderr; the
other inputs are still processed, and the exit code is 1 if any input failed
(2 for a usage error).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lib_facepop.imageio import ImageError, load_image, unique_path
from lib_facepop.settings import FaceSettings, SettingsError, parse_assignments

SAMPLE = Path(__file__).resolve().parent / "assets" / "sample.jpg"


#: lines that mediapipe's C++ side (absl/glog, TFLite) prints to stderr on every graph start
NATIVE_NOISE = re.compile(
    r"^(W0000|I0000|E0000 .*(feedback|landmark_projection)|INFO: Created TensorFlow Lite|"
    r"WARNING: All log messages before absl::InitializeLog)"
)


@contextlib.contextmanager
def _quiet_native_logs():
    """Keep the CLI's stderr for messages meant for the user.

    mediapipe's C++ code writes warnings straight to file descriptor 2, below Python, and
    ignores GLOG_minloglevel. The CLI (never the WebUI) routes fd 2 through a pipe and
    drops only those known lines; everything else passes through unchanged.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        rd, wr = os.pipe()
    except OSError:
        yield
        return
    os.dup2(wr, 2)
    os.close(wr)

    def pump() -> None:
        with os.fdopen(rd, "rb") as src, os.fdopen(os.dup(saved), "wb", buffering=0) as dst:
            for line in src:
                if not NATIVE_NOISE.match(line.decode("utf-8", "replace")):
                    dst.write(line)

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump drains and stops
        os.close(saved)
        th.join(timeout=2)


def _inputs(args: argparse.Namespace) -> list[str]:
    items = list(args.images)
    if getattr(args, "sample", False):
        items.insert(0, str(SAMPLE))
    return items


def _settings(args: argparse.Namespace, **forced: Any) -> FaceSettings:
    data = parse_assignments(args.set or [])
    for k, v in forced.items():
        data.setdefault(k, v)
    return FaceSettings.from_dict(data)


def cmd_detect(args: argparse.Namespace) -> int:
    from lib_facepop.align import align_face, warp_to_canvas
    from lib_facepop.detect import DetectParams, Models, detect_faces

    # `detect` lists every face unless the user caps it with --set max_faces=N
    settings = _settings(args, max_faces=0)
    params = DetectParams.from_settings(settings)
    models = Models()
    results: list[dict[str, Any]] = []
    failed = 0
    out_dir = Path(args.out) if args.out else None
    for path in _inputs(args):
        try:
            img = load_image(path)
            faces = detect_faces(img.rgb, models, params)
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the others
            # an ImageError already names the file; anything else gets the path and its type
            print(f"error: {exc if isinstance(exc, ImageError) else f'{path}: {type(exc).__name__}: {exc}'}",
                  file=sys.stderr)
            results.append({"image": path, "error": str(exc), "width": None, "height": None, "faces": []})
            failed += 1
            continue
        w, h = img.size
        results.append({"image": path, "width": w, "height": h, "faces": [f.to_json() for f in faces]})
        if out_dir is not None:
            from PIL import Image

            from lib_facepop.debug import draw_detections

            out_dir.mkdir(parents=True, exist_ok=True)
            stem = Path(path).stem
            Image.fromarray(draw_detections(img.rgb, faces)).save(unique_path(out_dir / f"{stem}.detections.png"))
            for i, f in enumerate(faces):
                canvas = warp_to_canvas(img.rgb, align_face(f, settings))
                Image.fromarray(canvas).save(unique_path(out_dir / f"{stem}.face{i}.png"))

    if args.json:
        json.dump(results, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for r in results:
            if "error" in r:
                print(f"{r['image']}: FAILED")
                continue
            print(f"{r['image']}: {r['width']}x{r['height']}, {len(r['faces'])} face(s)")
            if r["faces"]:
                print(f"  {'#':>3} {'box (x0, y0, x1, y1)':>32} {'width':>6} {'roll':>8} {'score':>6}")
            for i, f in enumerate(r["faces"]):
                b = f["box"]
                box = f"({b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, {b[3]:.0f})"
                print(f"  {i:>3} {box:>32} {b[2] - b[0]:>6.0f} {f['roll']:>8.1f} {f['score']:>6.2f}")
        if out_dir is not None:
            print(f"wrote annotated detections and upright face crops to {out_dir}/")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lib_facepop", description="FacePop outside the WebUI.")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("images", nargs="*", help="input images")
        p.add_argument("--sample", action="store_true", help="also process the bundled sample image")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a FacePop setting (repeatable), e.g. --set padding=40")

    d = sub.add_parser("detect", help="find faces and print them")
    common(d)
    d.add_argument("--json", action="store_true", help="print one JSON array, one object per image")
    d.add_argument("--out", help="also write annotated detections and upright face crops here")
    d.set_defaults(func=cmd_detect)

    r = sub.add_parser("run", help="refine every face and write the composite")
    common(r)
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--renderer", default="preview", choices=("identity", "preview", "webui-api"))
    r.add_argument("--url", default="http://127.0.0.1:7860", help="WebUI base URL for --renderer webui-api")
    r.add_argument("--auth", help="user:password for a WebUI started with --api-auth")
    r.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for one WebUI render")
    r.add_argument("--debug", action="store_true", help="write debug images to OUT/Debugging/")
    r.add_argument("--faces", action="store_true", help="write each refined face")
    r.add_argument("--seed", type=int, default=0, help="seed of the face passes (face i gets seed + i)")
    r.set_defaults(func=_lazy("lib_facepop.cli_run", "cmd_run"))

    u = sub.add_parser("upscale", help="multi-pass upscale")
    common(u)
    u.add_argument("--out", required=True, help="output folder")
    u.add_argument("--renderer", default="preview", choices=("identity", "preview", "webui-api"))
    u.add_argument("--url", default="http://127.0.0.1:7860")
    u.add_argument("--auth")
    u.add_argument("--timeout", type=float, default=600.0)
    u.add_argument("--save-passes", action="store_true", help="also write every intermediate pass")
    u.add_argument("--seed", type=int, default=0)
    u.set_defaults(func=_lazy("lib_facepop.cli_run", "cmd_upscale"))
    return ap


def _lazy(module: str, name: str):
    def call(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)

    return call


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not _inputs(args):
        ap.error("give at least one IMAGE (or --sample)")
    with _quiet_native_logs():
        try:
            return int(args.func(args))
        except SettingsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
