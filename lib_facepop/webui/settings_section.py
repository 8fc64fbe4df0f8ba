"""FacePop's section in the WebUI's Settings tab, and typed access to its options.

Registered through ``script_callbacks.on_ui_settings`` when ``scripts/facepop.py`` is
imported. Every option has a default here, so reading one never depends on the Settings
tab having been built (the API-only server, the tests): ``get_option`` falls back to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lib_facepop.settings import MATTING_CHOICES

SECTION = ("facepop", "FacePop")

#: always-on scripts that also run in each face pass, matched on the script file's name
#: without ".py" or on its title (case-insensitive). ControlNet (IP-Adapter too), LoRA
#: block weights, wildcards and dynamic prompts, soft inpainting, hypertile, and the
#: WebUI's own prompt-comment stripping.
DEFAULT_CHILD_SCRIPTS = (
    "controlnet, dynamic_prompting, dynamic_thresholding, lora_block_weight, negpip, wildcards, "
    "wildcard_recursive, soft_inpainting, hypertile_script, comments"
)

#: key -> (default, label, hint)
OPTIONS: Mapping[str, tuple[Any, str, str]] = MappingProxyType({
    "facepop_models_dir": (
        "", "FacePop models folder",
        "Where MODNet is kept. Empty = the --facepop-models-dir flag, else <models>/facepop.",
    ),
    "facepop_default_matting": (
        "modnet", "Default face mask method",
        "The 'Face mask' the FacePop panel starts with (needs a UI reload).",
    ),
    "facepop_child_scripts": (
        DEFAULT_CHILD_SCRIPTS, "Always-on scripts that also run in face passes",
        "Comma-separated script file names (without .py) or titles. FacePop itself never runs in a face pass.",
    ),
    "facepop_output_dir": (
        "", "FacePop output folder",
        "Where saved faces and debug images go. Empty = <the tab's output folder>/FacePop.",
    ),
    "facepop_debug_folder": (
        "Debugging", "Debug images sub-folder",
        "Sub-folder of the FacePop output folder for debug images.",
    ),
})


def get_option(key: str) -> Any:
    """The option's current value, or its default when the Settings section was never built."""
    from modules import shared

    default = OPTIONS[key][0]
    try:
        value = getattr(shared.opts, key)
    except AttributeError:
        return default
    return default if value is None else value


def child_script_names() -> set[str]:
    """The allow-list of always-on scripts for the face passes, lower-cased."""
    text = str(get_option("facepop_child_scripts") or "")
    return {part.strip().lower() for part in text.replace("\n", ",").split(",") if part.strip()}


def default_matting() -> str:
    """The matting method the UI starts with; an unknown value falls back to the engine default."""
    value = str(get_option("facepop_default_matting"))
    return value if value in MATTING_CHOICES else "modnet"


def register() -> None:
    """``on_ui_settings`` callback: add FacePop's options to the Settings tab."""
    import gradio as gr
    from modules import shared

    for key, (default, label, hint) in OPTIONS.items():
        if key == "facepop_default_matting":
            info = shared.OptionInfo(default, label, gr.Dropdown, {"choices": list(MATTING_CHOICES)}, section=SECTION)
        else:
            info = shared.OptionInfo(default, label, section=SECTION)
        if hasattr(info, "info"):
            info = info.info(hint)
        shared.opts.add_option(key, info)
