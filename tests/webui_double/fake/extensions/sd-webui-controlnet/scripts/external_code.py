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

_API_VERSION = 3


def get_api_version() -> int:
    return _API_VERSION


class ResizeMode(Enum):
    RESIZE, INNER_FIT, OUTER_FIT = "Just Resize", "Crop and Resize", "Resize and Fill"

    def int_value(self) -> int:
        return list(ResizeMode).index(self)


class ControlMode(Enum):
    BALANCED, PROMPT, CONTROL = "Balanced", "My prompt is more important", "ControlNet is more important"


class BatchOption(Enum):
    DEFAULT, SEPARATE = ("All ControlNet units for all images in a batch",
                         "Each ControlNet unit for each image in a batch")


class HiResFixOption(Enum):
    BOTH, LOW_RES_ONLY, HIGH_RES_ONLY = "Both", "Low res only", "High res only"


class InputMode(Enum):
    SIMPLE, BATCH, MERGE = "simple", "batch", "merge"


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
        return list(ResizeMode)[value] if value < len(ResizeMode) else ResizeMode.RESIZE
    return ResizeMode(resize_mode_aliases.get(value, value)) if isinstance(value, str) else value


def pixel_perfect_resolution(image: np.ndarray, target_H: int, target_W: int, resize_mode: ResizeMode) -> int:  # noqa: N803
    raw_h, raw_w = image.shape[0], image.shape[1]
    k0, k1 = float(target_H) / float(raw_h), float(target_W) / float(raw_w)
    k = min(k0, k1) if resize_mode == ResizeMode.OUTER_FIT else max(k0, k1)
    return int(np.round(k * float(min(raw_h, raw_w))))


def to_base64_nparray(encoding: str) -> np.ndarray:
    """Plain base64 or a data URL -> uint8 array."""
    payload = encoding.split(";")[1].split(",")[1] if encoding.startswith("data:image/") else encoding
    return np.array(Image.open(io.BytesIO(base64.b64decode(payload)))).astype("uint8")


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
    if not isinstance(unit, dict):
        assert isinstance(unit, ControlNetUnit)
        return unit
    return ControlNetUnit.from_dict(unit)


def is_cn_script(script: scripts.Script) -> bool:
    return script.title().lower() == "controlnet"


def find_cn_script(script_runner) -> scripts.Script | None:
    candidates = [] if script_runner is None else script_runner.alwayson_scripts
    return next((script for script in candidates if is_cn_script(script)), None)


def get_all_units_from(script_args) -> list[ControlNetUnit]:
    return [to_processing_unit(a) for a in script_args if isinstance(a, (ControlNetUnit, dict))]


def get_all_units(script_runner, script_args) -> list[ControlNetUnit]:
    controlnet = find_cn_script(script_runner)
    if not controlnet:
        return []
    return get_all_units_from(script_args[controlnet.args_from:controlnet.args_to])


def get_all_units_in_processing(p) -> list[ControlNetUnit]:
    return get_all_units(p.scripts, p.script_args)


def get_single_unit_from(script_args, index: int = 0) -> ControlNetUnit | None:
    """The unit at position ``index`` of ``script_args``, or None (also when that entry is None)."""
    for position, arg in enumerate(script_args):
        if position == index:
            return None if arg is None else to_processing_unit(arg)
    return None


def update_cn_script(script_runner, script_args, cn_units: list[ControlNetUnit]):
    """Return ``script_args`` (same type) with the ControlNet slice replaced by ``cn_units``."""
    kind = type(script_args)
    assert kind in (tuple, list), kind
    controlnet = find_cn_script(script_runner)
    if controlnet is None or controlnet.args_from > len(script_args):
        return script_args
    updated = list(copy(script_args))
    missing = max(shared.opts.data.get("control_net_unit_count", 3) - len(cn_units), 0)
    units = cn_units + [ControlNetUnit(enabled=False)] * missing  # pad with disabled units
    shift = 0  # the scripts after ControlNet move by the change in its slice length
    for script in script_runner.alwayson_scripts:
        if script is not controlnet:
            script.args_from += shift
            script.args_to += shift
            continue
        shift = len(units) - (controlnet.args_to - controlnet.args_from)
        updated[script.args_from:script.args_to] = units
        script.args_to = script.args_from + len(units)
    return kind(updated)


def update_cn_script_in_processing(p, cn_units: list[ControlNetUnit], **_kwargs) -> None:
    updated = update_cn_script(p.scripts, p.script_args_value, cn_units)
    p.script_args = updated  # through the setter, as the extension does


def update_cn_script_in_place(script_runner, script_args: list, cn_units: list[ControlNetUnit], **_kwargs) -> None:
    assert isinstance(script_args, list), type(script_args)
    updated = update_cn_script(script_runner, script_args, cn_units)
    script_args[:] = updated
