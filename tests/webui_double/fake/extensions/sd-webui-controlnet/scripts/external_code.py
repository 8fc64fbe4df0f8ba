"""Fake sd-webui-controlnet ``scripts/external_code.py`` (Mikubill @56cec5b), written from behaviour.

Importable the way extensions do it:
``importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code", "external_code")``.
API version 3. ``ControlNetUnit`` is a plain class with the pydantic model's fields and defaults
(``enabled=False``, ``module="none"``); no validation. ``update_cn_script`` pads to
``control_net_unit_count`` with disabled units and, when the count changes, shifts ``args_from``/
``args_to`` of the always-on scripts listed after ControlNet in the shared runner (L250-291).
"""

from __future__ import annotations

import base64
import io
from copy import copy
from enum import Enum
from typing import Any

import numpy as np
from modules import scripts, shared
from PIL import Image


def get_api_version() -> int:
    return 3


class ResizeMode(Enum):
    RESIZE = "Just Resize"
    INNER_FIT = "Crop and Resize"
    OUTER_FIT = "Resize and Fill"

    def int_value(self) -> int:
        return [ResizeMode.RESIZE, ResizeMode.INNER_FIT, ResizeMode.OUTER_FIT].index(self)


class ControlMode(Enum):
    BALANCED = "Balanced"
    PROMPT = "My prompt is more important"
    CONTROL = "ControlNet is more important"


class BatchOption(Enum):
    DEFAULT = "All ControlNet units for all images in a batch"
    SEPARATE = "Each ControlNet unit for each image in a batch"


class HiResFixOption(Enum):
    BOTH = "Both"
    LOW_RES_ONLY = "Low res only"
    HIGH_RES_ONLY = "High res only"


class InputMode(Enum):
    SIMPLE = "simple"
    BATCH = "batch"
    MERGE = "merge"


resize_mode_aliases = {
    "Inner Fit (Scale to Fit)": "Crop and Resize",
    "Outer Fit (Shrink to Fit)": "Resize and Fill",
    "Scale to Fit (Inner Fit)": "Crop and Resize",
    "Envelope (Outer Fit)": "Resize and Fill",
}


def resize_mode_from_value(value) -> ResizeMode:
    if isinstance(value, str):
        return ResizeMode(resize_mode_aliases.get(value, value))
    if isinstance(value, int):
        return ResizeMode.RESIZE if value == 3 or value >= len(ResizeMode) else list(ResizeMode)[value]
    return value


def pixel_perfect_resolution(image: np.ndarray, target_H: int, target_W: int, resize_mode: ResizeMode) -> int:  # noqa: N803
    raw_h, raw_w = image.shape[0], image.shape[1]
    k0, k1 = float(target_H) / float(raw_h), float(target_W) / float(raw_w)
    k = min(k0, k1) if resize_mode == ResizeMode.OUTER_FIT else max(k0, k1)
    return int(np.round(k * float(min(raw_h, raw_w))))


def to_base64_nparray(encoding: str) -> np.ndarray:
    if encoding.startswith("data:image/"):
        encoding = encoding.split(";")[1].split(",")[1]
    return np.array(Image.open(io.BytesIO(base64.b64decode(encoding)))).astype("uint8")


_FIELDS: dict[str, Any] = {
    "is_ui": False, "input_mode": InputMode.SIMPLE, "batch_images": None, "output_dir": "", "loopback": False,
    "enabled": False, "module": "none", "model": "None", "weight": 1.0, "image": None,
    "resize_mode": ResizeMode.INNER_FIT, "low_vram": False, "processor_res": -1, "threshold_a": -1.0,
    "threshold_b": -1.0, "guidance_start": 0.0, "guidance_end": 1.0, "pixel_perfect": False,
    "control_mode": ControlMode.BALANCED, "inpaint_crop_input_image": True, "hr_option": HiResFixOption.BOTH,
    "save_detected_map": True, "advanced_weighting": None, "effective_region_mask": None, "pulid_mode": "Fidelity",
    "union_control_type": "Unknown", "ipadapter_input": None, "mask": None, "batch_mask_dir": None,
    "animatediff_batch": False, "batch_modifiers": [], "batch_image_files": [], "batch_keyframe_idx": None,
}
_LEGACY = {"guidance": "guidance_end", "lowvram": "low_vram", "input_image": "image", "mask_image": "mask"}


class ControlNetUnit:
    """Fields and defaults of sd-webui-controlnet's pydantic ``ControlNetUnit`` (extra keys ignored)."""

    def __init__(self, **kwargs: Any) -> None:
        for key, default in _FIELDS.items():
            setattr(self, key, copy(default))
        for key, value in kwargs.items():
            key = _LEGACY.get(key, key)
            if key in _FIELDS:
                setattr(self, key, value)
        if isinstance(self.resize_mode, (str, int)):
            self.resize_mode = resize_mode_from_value(self.resize_mode)

    @classmethod
    def from_dict(cls, values: dict) -> ControlNetUnit:
        return cls(**values)

    @staticmethod
    def infotext_fields() -> tuple[str, ...]:
        return ("module", "model", "weight", "resize_mode", "processor_res", "threshold_a", "threshold_b",
                "guidance_start", "guidance_end", "pixel_perfect", "control_mode", "hr_option")

    def serialize(self) -> str:
        return ", ".join(f"{k}: {getattr(self, k)}" for k in self.infotext_fields())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ControlNetUnit) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"ControlNetUnit(enabled={self.enabled}, module={self.module!r}, model={self.model!r}, weight={self.weight})"


UiControlNetUnit = ControlNetUnit
cn_models_names: dict[str, str] = {}
preprocessor_names = ["none", "canny", "depth_midas", "openpose_full", "inpaint_only", "ip-adapter_face_id_plus"]


def get_models(update: bool = False) -> list[str]:
    return list(cn_models_names.values())


def get_modules(alias_names: bool = False) -> list[str]:
    return list(preprocessor_names)


def get_max_models_num() -> int:
    return shared.opts.data.get("control_net_unit_count", 3)


def to_processing_unit(unit) -> ControlNetUnit:
    if isinstance(unit, dict):
        return ControlNetUnit.from_dict(unit)
    assert isinstance(unit, ControlNetUnit)
    return unit


def is_cn_script(script: scripts.Script) -> bool:
    return script.title().lower() == "controlnet"


def find_cn_script(script_runner) -> scripts.Script | None:
    if script_runner is None:
        return None
    for script in script_runner.alwayson_scripts:
        if is_cn_script(script):
            return script
    return None


def get_all_units_from(script_args) -> list[ControlNetUnit]:
    return [to_processing_unit(a) for a in script_args if isinstance(a, (ControlNetUnit, dict))]


def get_all_units(script_runner, script_args) -> list[ControlNetUnit]:
    cn_script = find_cn_script(script_runner)
    if cn_script:
        return get_all_units_from(script_args[cn_script.args_from:cn_script.args_to])
    return []


def get_all_units_in_processing(p) -> list[ControlNetUnit]:
    return get_all_units(p.scripts, p.script_args)


def get_single_unit_from(script_args, index: int = 0) -> ControlNetUnit | None:
    i = 0
    while i < len(script_args) and index >= 0:
        if index == 0 and script_args[i] is not None:
            return to_processing_unit(script_args[i])
        i += 1
        index -= 1
    return None


def update_cn_script(script_runner, script_args, cn_units: list[ControlNetUnit]):
    """Return ``script_args`` (same type) with the ControlNet slice replaced by ``cn_units``."""
    args_type = type(script_args)
    assert args_type in (tuple, list), args_type
    updated = list(copy(script_args))
    cn_script = find_cn_script(script_runner)
    if cn_script is None or len(script_args) < cn_script.args_from:
        return script_args
    max_models = shared.opts.data.get("control_net_unit_count", 3)
    cn_units = cn_units + [ControlNetUnit(enabled=False)] * max(max_models - len(cn_units), 0)
    diff = 0
    for script in script_runner.alwayson_scripts:
        if script is cn_script:
            diff = len(cn_units) - (cn_script.args_to - cn_script.args_from)
            updated[script.args_from:script.args_to] = cn_units
            script.args_to = script.args_from + len(cn_units)
        else:
            script.args_from += diff
            script.args_to += diff
    return args_type(updated)


def update_cn_script_in_processing(p, cn_units: list[ControlNetUnit], **_kwargs) -> None:
    p.script_args = update_cn_script(p.scripts, p.script_args_value, cn_units)


def update_cn_script_in_place(script_runner, script_args: list, cn_units: list[ControlNetUnit], **_kwargs) -> None:
    assert isinstance(script_args, list), type(script_args)
    updated = update_cn_script(script_runner, script_args, cn_units)
    script_args[:] = updated
