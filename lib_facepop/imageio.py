"""Reading user images safely: every odd input becomes RGB uint8 or one clear error.

Users feed FacePop whatever their tools write: 16-bit PNGs from 3D renderers, CMYK
JPEGs from print work, palette GIFs, RGBA with transparency, truncated downloads. The
engine works on RGB uint8 only, so conversion happens once, here. Pixels are kept *as
stored* (no EXIF rotation), so boxes refer to the stored pixel grid.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lib_facepop.infotext import pnginfo

#: the largest image FacePop will open, in pixels (a 10000x10000 render)
MAX_PIXELS = 100_000_000


class ImageError(Exception):
    """An input that can't be used; the message is one line meant for the user."""


@dataclass(frozen=True)
class LoadedImage:
    """An input as RGB uint8 plus what we need to write it back faithfully.

    ``alpha`` is the original transparency (HxW uint8) if the file had any, so outputs
    can keep it; ``mode`` the PIL mode the file was stored in.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str
    path: str

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def to_rgb8(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any PIL image -> (RGB uint8 HxWx3, alpha HxW uint8 or None).

    16-bit and 32-bit integer greyscale are scaled by their full range (65535), float
    images by 0-1 -> 0-255; CMYK, palette, LA, P with transparency go through PIL's own
    conversions.
    """
    alpha = None
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        g = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.stack([g] * 3, axis=-1), None
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        g = np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8)
        return np.stack([g] * 3, axis=-1), None
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        arr = np.asarray(rgba)
        alpha = arr[..., 3].copy()
        return np.ascontiguousarray(arr[..., :3]), alpha
    return np.ascontiguousarray(np.asarray(img.convert("RGB"))), alpha


def load_image(path: str | os.PathLike) -> LoadedImage:
    """Open ``path`` as RGB uint8, or raise ImageError with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{path}: no such file")
    if p.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if p.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageError(
                        f"{path}: {w}x{h} is {w * h / 1e6:.0f} megapixels, above FacePop's limit of "
                        f"{MAX_PIXELS / 1e6:.0f}; downscale it first"
                    )
                img.load()
                rgb, alpha = to_rgb8(img)
                mode = img.mode
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file FacePop can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{path}: too large to open safely (Pillow's decompression-bomb limit)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: the image is damaged or truncated ({exc})") from None
    return LoadedImage(rgb=rgb, alpha=alpha, mode=mode, path=str(path))


def unique_path(path: Path) -> Path:
    """``path`` if free, else ``stem-1.ext``, ``stem-2.ext``, ...: never overwrite a user's file."""
    if not path.exists():
        return path
    i = 1
    while True:
        cand = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not cand.exists():
            return cand
        i += 1


def save_png(path: Path, rgb: np.ndarray, alpha: np.ndarray | None = None, infotext: str | None = None) -> None:
    """Write exclusively (never replacing a file), keeping the input's transparency if it had any."""
    img = Image.fromarray(rgb)
    if alpha is not None:
        img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    with open(path, "xb") as fh:
        img.save(fh, format="PNG", pnginfo=pnginfo(infotext) if infotext else None)
