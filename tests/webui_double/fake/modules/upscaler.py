"""``modules.upscaler`` (A1111 v1.10.1 modules/upscaler.py), written from its behaviour.

Faithful: ``Upscaler.upscale(img, scale, selected_model=None)`` targets ``int(w*scale)//8*8`` x
``int(h*scale)//8*8``, calls ``do_upscale`` up to 3 times (stops when big enough, when the size
does not change, or on ``state.interrupted``), then LANCZOS-resizes to the exact target (L54-77);
``UpscalerData(name, path, upscaler=None, scale=4, model=None)``; None/Lanczos/Nearest scalers.
"""

from __future__ import annotations

import os

from PIL import Image

from modules import shared

LANCZOS = Image.Resampling.LANCZOS if hasattr(Image, "Resampling") else Image.LANCZOS
NEAREST = Image.Resampling.NEAREST if hasattr(Image, "Resampling") else Image.NEAREST


class Upscaler:
    name = None
    model_path = None
    model_name = None
    model_url = None
    enable = True
    filter = None
    model = None
    user_path = None
    scalers: list
    tile = True

    def __init__(self, create_dirs: bool = False) -> None:
        self.mod_pad_h, self.tile_size, self.tile_pad = None, shared.opts.ESRGAN_tile, shared.opts.ESRGAN_tile_overlap
        self.device, self.img, self.output, self.scale = shared.device, None, None, 1
        self.half, self.pre_pad, self.mod_scale = not shared.cmd_opts.no_half, 0, None
        self.model_download_path, self.can_tile = None, True
        self.calls = 0  # do_upscale() calls, for tests
        if self.name and self.model_path is None:
            self.model_path = os.path.join(shared.models_path, self.name)  # models/<name>
        if create_dirs and self.model_path:
            os.makedirs(self.model_path, exist_ok=True)

    def do_upscale(self, img: Image.Image, selected_model: str | None) -> Image.Image:
        return img

    def upscale(self, img: Image.Image, scale: float, selected_model: str | None = None) -> Image.Image:
        self.scale = scale
        target = (int((img.width * scale) // 8 * 8), int((img.height * scale) // 8 * 8))
        for attempt in range(3):  # a model upscaler has a fixed factor: it may take a few passes
            big_enough = img.width >= target[0] and img.height >= target[1]
            if big_enough and (attempt > 0 or scale != 1):
                break
            if shared.state.interrupted:
                break
            size_before = img.size
            self.calls += 1
            img = self.do_upscale(img, selected_model)
            if img.size == size_before:  # this scaler cannot go further
                break
        if img.size != target:
            img = img.resize(target, resample=LANCZOS)
        return img

    def load_model(self, path: str) -> None:
        pass

    def find_models(self, ext_filter=None) -> list:
        return []

    def update_status(self, prompt: str) -> None:
        print(f"\nextras: {prompt}")


class UpscalerData:
    name = None
    data_path = None
    scale: int = 4
    scaler: Upscaler | None = None
    model = None

    def __init__(self, name: str, path: str | None, upscaler: Upscaler | None = None, scale: int = 4, model=None,
                 sha256: str | None = None) -> None:
        self.name, self.data_path, self.local_data_path = name, path, path
        self.scaler, self.scale, self.model, self.sha256 = upscaler, scale, model, sha256

    def __repr__(self) -> str:
        return f"<UpscalerData name={self.name} path={self.data_path} scale={self.scale}>"


def _resized_by(img: Image.Image, factor: float, resample) -> Image.Image:
    return img.resize((int(img.width * factor), int(img.height * factor)), resample=resample)


class UpscalerNone(Upscaler):
    name = "None"
    scalers: list = []

    def __init__(self, dirname=None) -> None:
        super().__init__(False)
        self.scalers = [UpscalerData("None", None, self)]

    def do_upscale(self, img: Image.Image, selected_model=None) -> Image.Image:
        return img


class UpscalerLanczos(Upscaler):
    scalers: list = []

    def __init__(self, dirname=None) -> None:
        super().__init__(False)
        self.name = "Lanczos"
        self.scalers = [UpscalerData("Lanczos", None, self)]

    def do_upscale(self, img: Image.Image, selected_model=None) -> Image.Image:
        return _resized_by(img, self.scale, LANCZOS)


class UpscalerNearest(Upscaler):
    scalers: list = []

    def __init__(self, dirname=None) -> None:
        super().__init__(False)
        self.name = "Nearest"
        self.scalers = [UpscalerData("Nearest", None, self)]

    def do_upscale(self, img: Image.Image, selected_model=None) -> Image.Image:
        return _resized_by(img, self.scale, NEAREST)


class UpscalerFakeModel(Upscaler):
    """Stand-in for a model upscaler (e.g. "R-ESRGAN 4x+"): a fixed native factor per call, like
    ESRGAN-type scalers; the double adds one named ``R-ESRGAN 4x+`` (4x, NEAREST then LANCZOS)."""

    def __init__(self, name: str = "R-ESRGAN 4x+", native_scale: int = 4) -> None:
        self.name = name
        super().__init__(False)
        self.native_scale = native_scale
        self.scalers = [UpscalerData(name, os.path.join(shared.models_path, "RealESRGAN", f"{name}.pth"), self, native_scale)]

    def do_upscale(self, img: Image.Image, selected_model=None) -> Image.Image:
        return img.resize((img.width * self.native_scale, img.height * self.native_scale), resample=NEAREST)


def default_upscalers() -> list[UpscalerData]:
    """What ``modelloader.load_upscalers`` yields with no model files: None, Lanczos, Nearest first."""
    data = []
    for cls in (UpscalerNone, UpscalerLanczos, UpscalerNearest):
        data.extend(cls().scalers)
    data.extend(UpscalerFakeModel().scalers)
    return data
