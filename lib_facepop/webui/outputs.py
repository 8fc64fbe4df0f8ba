"""FacePop's own files: each refined face ("Save each face") and the debug images.

The final image is not written here: in "before" mode it is the WebUI's own main-pass
output and in "after" mode FacePop replaces ``pp.image`` before the WebUI saves it, so
either way it goes through the WebUI's saving, gallery and PNG info.

Folder: ``<base>/FacePop/<Output folder>`` where ``base`` is the "FacePop output folder"
setting or the tab's output folder (``p.outpath_samples``), and "Output folder"
(default ``[date]``) takes the WebUI's file-name tags through ``images.FilenameGenerator``
(``[date]``, ``[seed]``, ``[prompt_words]``...). Debug images go into its "Debugging"
sub-folder. Files are created exclusively ('xb'): an existing file is never
overwritten, a taken name gets ``-1``, ``-2``... Faces are saved only when the job saves
samples (``opts.samples_save`` and not ``p.do_not_save_samples``, e.g. API calls with
``save_images: false``); debug images whenever debugging is on (an explicit request).
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from lib_facepop.infotext import build_infotext
from lib_facepop.pipeline import PipelineResult
from lib_facepop.settings import FaceSettings
from lib_facepop.webui import settings_section

_UNSAFE_PART = re.compile(r'[<>:"|?*\x00-\x1f]')


def _clean_relative(path: str) -> str:
    """A user pattern as a relative path: no drive, no root, no "..", no characters that
    Windows rejects."""
    parts = []
    for part in re.split(r"[\\/]+", path):
        part = _UNSAFE_PART.sub("_", part).strip().rstrip(".")
        if part and part not in (".", ".."):
            parts.append(part)
    return os.path.join(*parts) if parts else ""


def expand_pattern(pattern: str, p: Any, seed: int | None) -> str:
    """``[date]``-style tags through the WebUI's ``FilenameGenerator`` (plain ``[date]``
    substitution when it is not available)."""
    try:
        from modules import images

        prompt = p.all_prompts[0] if getattr(p, "all_prompts", None) else getattr(p, "prompt", "")
        text = images.FilenameGenerator(p, seed, prompt, None).apply(pattern)
    except Exception:  # noqa: BLE001 - an old WebUI or an unknown tag: fall back to [date]
        text = pattern.replace("[date]", datetime.date.today().isoformat())
    return _clean_relative(text)


def output_dir(p: Any, settings: FaceSettings, seed: int | None) -> Path:
    """``<base>/FacePop/<Output folder>`` for this job."""
    base = settings_section.get_option("facepop_output_dir") or ""
    if base:
        root = Path(os.path.expanduser(str(base)))
    else:
        outpath = getattr(p, "outpath_samples", None) or "outputs"
        root = Path(outpath) / "FacePop"
    sub = expand_pattern(settings.output_path, p, seed)
    return root / sub if sub else root


def debug_dir(p: Any, settings: FaceSettings, seed: int | None) -> Path:
    name = _clean_relative(str(settings_section.get_option("facepop_debug_folder") or "Debugging")) or "Debugging"
    return output_dir(p, settings, seed) / name


def saves_samples(p: Any) -> bool:
    """Whether this job writes its images to disk at all."""
    from modules import shared

    return bool(getattr(shared.opts, "samples_save", True)) and not getattr(p, "do_not_save_samples", False)


def debug_enabled(settings: FaceSettings) -> bool:
    """The Debugging setting, or the ``--facepop-debug`` flag."""
    from modules import shared

    return settings.debug or bool(getattr(shared.cmd_opts, "facepop_debug", False))


def write_png_exclusive(directory: Path, stem: str, rgb: np.ndarray, infotext: str | None = None) -> Path:
    """``<stem>.png``, or ``<stem>-1.png``... whichever does not exist yet, created with 'xb'."""
    from lib_facepop.imageio import save_png

    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        path = directory / (f"{stem}.png" if n == 0 else f"{stem}-{n}.png")
        try:
            save_png(path, rgb, None, infotext)
            return path
        except FileExistsError:
            n += 1


def save_faces(p: Any, settings: FaceSettings, result: PipelineResult, image_seed: int, stem: str) -> list[Path]:
    """Each refined face canvas, with its own parameters in the PNG info."""
    out: list[Path] = []
    if not settings.output_faces or not saves_samples(p):
        return out
    folder = output_dir(p, settings, image_seed)
    for rec in result.faces:
        if rec.canvas_after is None or rec.status != "done":
            continue
        o = rec.overrides
        params = {
            "Steps": o.get("steps", getattr(p, "steps", None)),
            "Sampler": o.get("sampler_name") or getattr(p, "sampler_name", None),
            "CFG scale": o.get("cfg_scale", getattr(p, "cfg_scale", None)),
            "Seed": rec.seed,
            "Size": f"{rec.canvas_after.shape[1]}x{rec.canvas_after.shape[0]}",
            "FacePop face": rec.index + 1,
            "FacePop roll": f"{rec.alignment.roll:.1f}",
        }
        prompt = o.get("prompt") or (p.all_prompts[0] if getattr(p, "all_prompts", None) else "")
        out.append(write_png_exclusive(folder, f"{stem}-face{rec.index + 1}", rec.canvas_after,
                                       build_infotext(params, prompt, o.get("negative_prompt", ""))))
    return out


def save_debug(p: Any, settings: FaceSettings, image: np.ndarray, result: PipelineResult, image_seed: int,
               stem: str) -> Path | None:
    """The CLI's debug set (detections, orientation, landmarks, masks, overlay, main-pass
    mask and a contact sheet) for one image; returns the contact sheet's path."""
    if not debug_enabled(settings):
        return None
    from lib_facepop.debug import DebugWriter, write_debug

    writer = DebugWriter(debug_dir(p, settings, image_seed))
    return write_debug(writer, stem, SimpleNamespace(rgb=np.asarray(image)), result)
