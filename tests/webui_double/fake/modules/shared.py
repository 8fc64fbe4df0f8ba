"""``modules.shared`` (A1111 v1.10.1 modules/shared.py), with ``opts``/``state`` created at import.

In the real WebUI ``opts`` and ``state`` are created by ``shared_init.initialize()``; the double
creates them here and ``install()`` fills ``sd_upscalers``/``sd_model`` right after.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from modules import options, shared_cmd_options, shared_options, shared_state
from modules.paths_internal import (  # noqa: F401
    data_path,
    default_sd_model_file,
    extensions_builtin_dir,
    extensions_dir,
    models_path,
    script_path,
    sd_configs_path,
    sd_default_config,
    sd_model_file,
)

cmd_opts, parser = shared_cmd_options.cmd_opts, shared_cmd_options.parser
config_filename = cmd_opts.ui_settings_file
styles_filename = [os.path.join(data_path, "styles.csv")]
hide_dirs = {"visible": not cmd_opts.hide_ui_dir_config}
batch_cond_uncond = parallel_processing_allowed = True
demo = None
device = "cpu"
weight_load_location = None
xformers_available = False
hypernetworks: dict = {}
loaded_hypernetworks: list = []
interrogator = None
face_restorers: list = []
settings_components: dict | None = None
tab_names: list[str] = []
clip_model = None
progress_print_out = sys.stdout
gradio_theme = None
mem_mon = None
hf_endpoint = "https://huggingface.co"

OptionInfo, OptionHTML, options_section = options.OptionInfo, options.OptionHTML, options.options_section

options_templates: dict[str, options.OptionInfo] = dict(shared_options.options_templates)
restricted_opts = set(shared_options.restricted_opts)
opts = options.Options(options_templates, restricted_opts)
state = shared_state.State()

latent_upscale_modes = {
    label: {"mode": interpolation, "antialias": antialias}
    for label, interpolation, antialias in (
        ("Latent", "bilinear", False), ("Latent (antialiased)", "bilinear", True),
        ("Latent (bicubic)", "bicubic", False), ("Latent (bicubic antialiased)", "bicubic", True),
        ("Latent (nearest)", "nearest", False), ("Latent (nearest-exact)", "nearest-exact", False),
    )
}
latent_upscale_default_mode = "Latent"

sd_upscalers: list = []  # filled by install(): None, Lanczos, Nearest (modelloader.load_upscalers)
sd_model: Any = None  # filled by install(): a FakeSdModel (modules.sd_models)


class PromptStyle:
    def __init__(self, name: str, prompt: str = "", negative_prompt: str = "", path: str | None = None) -> None:
        self.name = name
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.path = path


def _merge(style_prompt: str, prompt: str) -> str:
    """``styles.merge_prompts``: ``{prompt}`` placeholder, else comma-join (styles.py)."""
    if "{prompt}" in style_prompt:
        return style_prompt.replace("{prompt}", prompt)
    return ", ".join(part for part in (prompt.strip(), style_prompt.strip()) if part)


class StyleDatabase:
    """``shared.prompt_styles``: empty by default; tests may add ``PromptStyle`` entries."""

    def __init__(self) -> None:
        self.styles: dict[str, PromptStyle] = {}

    def apply_styles_to_prompt(self, prompt: str, styles: list[str]) -> str:
        for name in styles or []:
            if name in self.styles:
                prompt = _merge(self.styles[name].prompt, prompt)
        return prompt

    def apply_negative_styles_to_prompt(self, prompt: str, styles: list[str]) -> str:
        for name in styles or []:
            if name in self.styles:
                prompt = _merge(self.styles[name].negative_prompt, prompt)
        return prompt

    def get_style_prompts(self, styles: list[str]) -> list[str]:
        return [self.styles[x].prompt for x in styles or [] if x in self.styles]

    def extract_styles_from_prompt(self, prompt: str, negative_prompt: str) -> tuple[list[str], str, str]:
        return [], prompt, negative_prompt


prompt_styles = StyleDatabase()


class TotalTQDM:
    """``shared.total_tqdm``: counts updates; ``clear()`` resets (shared_total_tqdm.py)."""

    def __init__(self) -> None:
        self.total = 0
        self.n = 0
        self.clears = 0

    def reset(self) -> None:
        self.n = 0

    def update(self) -> None:
        self.n += 1

    def updateTotal(self, new_total: int) -> None:  # noqa: N802 - real name
        self.total = new_total

    def clear(self) -> None:
        self.n = 0
        self.total = 0
        self.clears += 1


total_tqdm = TotalTQDM()


def natural_sort_key(s: str) -> list:
    import re

    return [int(text) if text.isdigit() else text.lower() for text in re.split(r"(\d+)", s)]


def listfiles(dirname: str) -> list[str]:
    if not os.path.isdir(dirname):
        return []
    return [os.path.join(dirname, x) for x in sorted(os.listdir(dirname), key=natural_sort_key) if not x.startswith(".")]


def walk_files(path: str, allowed_extensions=None):
    if not os.path.exists(path):
        return
    for root, _, files in os.walk(path, followlinks=True):
        for filename in sorted(files, key=natural_sort_key):
            if allowed_extensions is None or os.path.splitext(filename)[1] in allowed_extensions:
                yield os.path.join(root, filename)


def html_path(filename: str) -> str:
    return os.path.join(script_path, "html", filename)


def html(filename: str) -> str:
    path = html_path(filename)
    if os.path.exists(path):
        with open(path, encoding="utf8") as file:
            return file.read()
    return ""


def list_checkpoint_tiles(use_short: bool = False) -> list[str]:
    from modules import sd_models

    return sd_models.checkpoint_tiles(use_short)


def refresh_checkpoints() -> None:
    from modules import sd_models

    sd_models.list_models()


def list_samplers() -> list:
    from modules import sd_samplers

    return sd_samplers.all_samplers


def reload_hypernetworks() -> None:
    pass


def ldm_print(*args: Any, **kwargs: Any) -> None:
    print(*args, **kwargs)

