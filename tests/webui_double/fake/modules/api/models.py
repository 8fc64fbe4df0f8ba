"""``modules.api.models``: ScriptArg/ScriptInfo as plain objects (pydantic models in the WebUI)."""

from __future__ import annotations

from typing import Any


class ScriptArg:
    def __init__(self, label: str = "", value: Any = None, minimum: Any = None, maximum: Any = None,
                 step: Any = None, choices: list | None = None) -> None:
        self.label = label
        self.value = value
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.choices = choices


class ScriptInfo:
    def __init__(self, name: str | None = None, is_alwayson: bool | None = None, is_img2img: bool | None = None,
                 args: list[ScriptArg] | None = None) -> None:
        self.name = name
        self.is_alwayson = is_alwayson
        self.is_img2img = is_img2img
        self.args = args or []
