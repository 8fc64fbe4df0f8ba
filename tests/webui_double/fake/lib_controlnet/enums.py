"""``lib_controlnet.enums`` (Forge): HiResFixOption, InputMode."""

from enum import Enum


class HiResFixOption(Enum):
    """Which pass of a hires-fix job a unit applies to."""

    BOTH, LOW_RES_ONLY, HIGH_RES_ONLY = "Both", "Low res only", "High res only"

    @staticmethod
    def from_value(value) -> "HiResFixOption":
        """Accepts a member, its value, its index, or the text ``"HiResFixOption.<NAME>"``."""
        if isinstance(value, int):
            return list(HiResFixOption)[value]
        if not isinstance(value, str):
            assert isinstance(value, HiResFixOption)
            return value
        if value.startswith("HiResFixOption."):
            return getattr(HiResFixOption, value.split(".")[1])
        return HiResFixOption(value)

    @property
    def low_res_enabled(self) -> bool:
        return self is not HiResFixOption.HIGH_RES_ONLY

    @property
    def high_res_enabled(self) -> bool:
        return self is not HiResFixOption.LOW_RES_ONLY


class InputMode(Enum):
    SIMPLE, BATCH, MERGE = "simple", "batch", "merge"
