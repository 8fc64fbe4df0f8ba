"""``run`` and ``upscale`` subcommands: the real pipelines over a preview or WebUI renderer."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from lib_facepop.cli import _inputs, _settings
from lib_facepop.debug import write_debug
from lib_facepop.imageio import ImageError, load_image, save_png
from lib_facepop.infotext import build_infotext
from lib_facepop.render import IdentityRenderer, PreviewRenderer, Renderer, RendererError


def make_renderer(args: argparse.Namespace, enhancement: str = "Unsharp Mask") -> Renderer:
    if args.renderer == "identity":
        return IdentityRenderer()
    if args.renderer == "preview":
        return PreviewRenderer(enhancement)
    from lib_facepop.api_client import WebUIAPIRenderer

    return WebUIAPIRenderer(args.url, auth=args.auth, timeout=args.timeout)


def free_stem(out: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    """The first of ``stem``, ``stem-1``, ... for which no ``stem<suffix>`` exists: a run never overwrites."""
    cand, i = stem, 0
    while any((out / f"{cand}{sfx}").exists() for sfx in suffixes):
        i += 1
        cand = f"{stem}-{i}"
    return cand


def _fail(path: str, exc: BaseException) -> None:
    msg = str(exc) if isinstance(exc, (ImageError, RendererError)) else f"{path}: {type(exc).__name__}: {exc}"
    print(f"error: {msg}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from lib_facepop.debug import DebugWriter
    from lib_facepop.matting import Matter
    from lib_facepop.pipeline import FacePipeline

    settings = _settings(args, enabled=True)
    if args.debug:
        settings = settings.replace(debug=True)
    renderer = make_renderer(args, settings.enhancement)
    pipeline = FacePipeline(matter=Matter())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in _inputs(args):
        try:
            img = load_image(path)
            result = pipeline.run(img.rgb, settings, renderer, seed=args.seed)
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the others; _fail words it
            _fail(path, exc)
            failed += 1
            continue
        stem = free_stem(out, Path(path).stem, (".png", ".mask.png"))
        params: dict[str, Any] = {**settings.to_infotext(), "FacePop faces": len(result.faces), "Seed": args.seed,
                                  "FacePop renderer": args.renderer}
        save_png(out / f"{stem}.png", result.image, img.alpha, build_infotext(params))
        Image.fromarray(result.protect, "L").save(out / f"{stem}.mask.png")
        if args.faces:
            for rec in result.faces:
                if rec.canvas_after is not None:
                    face_stem = free_stem(out, f"{stem}.face{rec.index}", (".png",))
                    save_png(out / f"{face_stem}.png", rec.canvas_after)
        if args.debug:
            sheet = write_debug(DebugWriter(out / "Debugging"), stem, img, result)
            print(f"  contact sheet: {sheet}")
        for m in result.messages:
            print(f"  {m}")
        t = result.timings
        print(f"{path}: {len(result.faces)} face(s) -> {out / stem}.png "
              f"(detect {t['detect']:.0f} ms, render {t['render']:.0f} ms, matte {t['matte']:.0f} ms, "
              f"composite {t['composite']:.0f} ms)")
    return 1 if failed else 0


def cmd_upscale(args: argparse.Namespace) -> int:
    from lib_facepop.settings import SettingsError, UpscaleSettings, parse_assignments
    from lib_facepop.upscale import upscale_image

    try:
        data = parse_assignments(args.set or [])
        data.setdefault("enabled", True)  # running the command is what enables it
        settings = UpscaleSettings.from_dict(data)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    renderer = make_renderer(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in _inputs(args):
        try:
            img = load_image(path)
        except ImageError as exc:
            _fail(path, exc)
            failed += 1
            continue
        stem = free_stem(out, Path(path).stem + ".upscaled", (".png",))

        def save_pass(plan, image, _stem=stem):
            if args.save_passes:
                save_png(out / f"{free_stem(out, f'{_stem}.pass{plan.number}', ('.png',))}.png", image)

        def progress(p: int, n: int, j: int, t: int) -> None:
            if j == 0:
                print(f"  pass {p}/{n} ...", flush=True)

        t0 = time.perf_counter()
        try:
            res = upscale_image(img.rgb, settings, renderer, progress=progress, save_pass=save_pass, seed=args.seed)
        except RendererError as exc:
            _fail(path, exc)
            failed += 1
            continue
        params = {**settings.to_infotext(), **res.plan.to_infotext(), "Seed": args.seed}
        save_png(out / f"{stem}.png", res.image, None, build_infotext(params))
        h, w = res.image.shape[:2]
        state = "interrupted" if res.interrupted else "done"
        print(f"{path}: {state}, {res.completed_passes} pass(es) -> {out / stem}.png ({w}x{h}, "
              f"{time.perf_counter() - t0:.1f} s)")
    return 1 if failed else 0
