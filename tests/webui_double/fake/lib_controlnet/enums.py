"""``lib_controlnet.enums`` (Forge): HiResFixOption, InputMode."""

from enum import Enum


class HiResFixOption(Enum):
    BOTH = "Both"
    LOW_RES_ONLY = "Low res only"
    HIGH_RES_ONLY = "High res only"

    @staticmethod
    def from_value(value) -> "HiResFixOption":
        if isinstance(value, str) and value.startswith("HiResFixOption."):
            return getattr(HiResFixOption, value.split(".")[1])
        if isinstance(value, str):
            return HiResFixOption(value)
        if isinstance(value, int):
            return list(HiResFixOption)[value]
        assert isinstance(value, HiResFixOption)
        return value

    @property
    def low_res_enabled(self) -> bool:
        return self in (HiResFixOption.BOTH, HiResFixOption.LOW_RES_ONLY)

    @property
    def high_res_enabled(self) -> bool:
        return self in (HiResFixOption.BOTH, HiResFixOption.HIGH_RES_ONLY)


class InputMode(Enum):
    SIMPLE = "simple"
    BATCH = "batch"
    MERGE = "merge"
