"""``lib_controlnet.external_code`` (Forge @dfdcbab), written from behaviour: API version 2, enums,
``ControlNetUnit`` *dataclass* (``enabled=True``, ``module="None"``), ``from_dict`` ignoring unknown
keys. Forge has no ``find_cn_script``/``get_all_units_in_processing``/``update_cn_script*``."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypedDict

import numpy as np
from modules import shared
from PIL import Image

from lib_controlnet.enums import HiResFixOption, InputMode

_API_VERSION = 2


def get_api_version() -> int:
    return _API_VERSION


class ControlMode(Enum):
    BALANCED, PROMPT, CONTROL = "Balanced", "My prompt is more important", "ControlNet is more important"


class BatchOption(Enum):
    DEFAULT, SEPARATE = ("All ControlNet units for all images in a batch",
                         "Each ControlNet unit for each image in a batch")


class ResizeMode(Enum):
    RESIZE, INNER_FIT, OUTER_FIT = "Just Resize", "Crop and Resize", "Resize and Fill"

    def int_value(self) -> int:
        return list(ResizeMode).index(self)


resize_mode_aliases = {  # names of older versions -> the current value
    legacy: mode.value
    for legacy, mode in (("Inner Fit (Scale to Fit)", ResizeMode.INNER_FIT),
                         ("Outer Fit (Shrink to Fit)", ResizeMode.OUTER_FIT),
                         ("Scale to Fit (Inner Fit)", ResizeMode.INNER_FIT),
                         ("Envelope (Outer Fit)", ResizeMode.OUTER_FIT))
}


def resize_mode_from_value(value) -> ResizeMode:
    """A member, a value or legacy name, or an index (3 and beyond mean "Just Resize")."""
    if isinstance(value, int):
        assert value >= 0
        return list(ResizeMode)[value] if value < len(ResizeMode) else ResizeMode.RESIZE
    return ResizeMode(resize_mode_aliases.get(value, value)) if isinstance(value, str) else value


def control_mode_from_value(value) -> ControlMode:
    if isinstance(value, int):
        return list(ControlMode)[value]
    return ControlMode(value) if isinstance(value, str) else value


def visualize_inpaint_mask(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 4:
        result = img.copy()
        result[:, :, 3] = 255 - result[:, :, 3] // 2
        return np.ascontiguousarray(result)
    return img


def pixel_perfect_resolution(image: np.ndarray, target_H: int, target_W: int, resize_mode: ResizeMode) -> int:  # noqa: N803
    raw_h, raw_w = image.shape[0], image.shape[1]
    k0 = float(target_H) / float(raw_h)
    k1 = float(target_W) / float(raw_w)
    k = min(k0, k1) if resize_mode == ResizeMode.OUTER_FIT else max(k0, k1)
    return int(np.round(k * float(min(raw_h, raw_w))))


class GradioImageMaskPair(TypedDict):
    image: np.ndarray
    mask: np.ndarray


def to_base64_nparray(encoding: str) -> np.ndarray:
    """Plain base64 or a data URL -> uint8 array."""
    payload = encoding.split(";")[1].split(",")[1] if encoding.startswith("data:image/") else encoding
    return np.array(Image.open(io.BytesIO(base64.b64decode(payload)))).astype("uint8")


@dataclass
class ControlNetUnit:
    input_mode: InputMode = InputMode.SIMPLE
    use_preview_as_input: bool = False
    batch_image_dir: str = ""
    batch_mask_dir: str = ""
    batch_input_gallery: list | None = None
    batch_mask_gallery: list | None = None
    generated_image: Any = None
    mask_image: Any = None
    mask_image_fg: Any = None
    hr_option: Any = HiResFixOption.BOTH
    enabled: bool = True
    module: str = "None"
    model: str = "None"
    weight: float = 1.0
    image: Any = None
    image_fg: Any = None
    resize_mode: Any = ResizeMode.INNER_FIT
    processor_res: int = -1
    threshold_a: float = -1
    threshold_b: float = -1
    guidance_start: float = 0.0
    guidance_end: float = 1.0
    pixel_perfect: bool = False
    control_mode: Any = ControlMode.BALANCED
    save_detected_map: bool = True

    @staticmethod
    def infotext_fields() -> tuple[str, ...]:
        return ("module", "model", "weight", "resize_mode", "processor_res", "threshold_a", "threshold_b",
                "guidance_start", "guidance_end", "pixel_perfect", "control_mode", "hr_option")

    @staticmethod
    def from_dict(d: dict) -> ControlNetUnit:
        unit = ControlNetUnit(**{k: v for k, v in d.items() if k in vars(ControlNetUnit)})
        if isinstance(unit.image, str):
            unit.image = to_base64_nparray(unit.image)
        if isinstance(unit.mask_image, str):
            unit.mask_image = to_base64_nparray(unit.mask_image)
        return unit


UiControlNetUnit = ControlNetUnit


def get_max_models_num() -> int:
    return shared.opts.data.get("control_net_unit_count", 3)
