"""``modules.devices`` stand-in: CPU only, no torch."""

from __future__ import annotations

import contextlib

cpu = "cpu"
device = "cpu"
device_interrogate = "cpu"
device_gfpgan = "cpu"
device_esrgan = "cpu"
device_codeformer = "cpu"
dtype = "float32"
dtype_vae = "float32"
dtype_unet = "float32"
dtype_inference = "float32"
unet_needs_upcast = False
fp8 = False
torch_gc_calls = 0


class NansException(Exception):
    pass


def torch_gc() -> None:
    global torch_gc_calls
    torch_gc_calls += 1


def get_optimal_device_name() -> str:
    return "cpu"


def get_optimal_device() -> str:
    return "cpu"


def get_device_for(task: str) -> str:
    return "cpu"


def has_mps() -> bool:
    return False


def autocast(disable: bool = False) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def without_autocast(disable: bool = False) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def cond_cast_unet(x):
    return x


def cond_cast_float(x):
    return x


def test_for_nans(x, where: str) -> None:
    return None
