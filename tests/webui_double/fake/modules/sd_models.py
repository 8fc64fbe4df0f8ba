"""``modules.sd_models`` stand-in: a checkpoint registry without weights.

Faithful: ``CheckpointInfo`` fields (title ``"name [shorthash]"``), ``checkpoints_list`` keyed by
title, ``checkpoint_aliases`` keyed by every id, ``get_closet_checkpoint_match`` (alias, then
title substring, then without ``[hash]``). ``process_images`` drops an ``sd_model_checkpoint``
override that is not an exact alias key (processing.py L828-830). ``reload_model_weights``
switches ``shared.sd_model.sd_checkpoint_info`` to ``opts.sd_model_checkpoint`` when it names
another registered checkpoint (Forge: ``reload_model_weights`` is a no-op, ``forge_model_reload``
does the switch).
"""

from __future__ import annotations

import hashlib
import os
import re
from types import SimpleNamespace

from modules import _double, shared
from modules.paths_internal import models_path

model_dir = "Stable-diffusion"
model_path = os.path.join(models_path, model_dir)
checkpoints_list: dict = {}
checkpoint_aliases: dict = {}
checkpoint_alisases = checkpoint_aliases  # the real module keeps this misspelt alias
reload_calls = 0
token_merging_calls: list[float] = []


class CheckpointInfo:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        name = os.path.basename(filename)
        self.name = name
        self.name_for_extra = os.path.splitext(name)[0]
        self.model_name = self.name_for_extra
        self.is_safetensors = filename.lower().endswith(".safetensors")
        self.sha256 = hashlib.sha256(name.encode()).hexdigest()
        self.hash = self.sha256[:8]
        self.shorthash = self.sha256[0:10]
        self.title = f"{name} [{self.shorthash}]"
        self.short_title = f"{self.name_for_extra} [{self.shorthash}]"
        self.ids = [self.hash, self.model_name, self.title, name, self.name_for_extra, f"{name} [{self.hash}]",
                    self.sha256, self.shorthash, f"{self.name_for_extra} [{self.shorthash}]"]
        self.metadata: dict = {}

    def register(self) -> None:
        checkpoints_list[self.title] = self
        for i in self.ids:
            checkpoint_aliases[i] = self

    def calculate_shorthash(self) -> str:
        return self.shorthash


def register_checkpoint(name: str) -> CheckpointInfo:
    """Double helper: add a (weightless) checkpoint ``models/Stable-diffusion/<name>``."""
    info = CheckpointInfo(os.path.join(model_path, name))
    info.register()
    return info


def list_models() -> None:
    pass


def checkpoint_tiles(use_short: bool = False) -> list[str]:
    attribute = "short_title" if use_short else "title"
    return [getattr(info, attribute) for info in checkpoints_list.values()]


def get_closet_checkpoint_match(search_string: str):
    if not search_string:
        return None
    info = checkpoint_aliases.get(search_string)
    if info is not None:
        return info
    found = sorted([x for x in checkpoints_list.values() if search_string in x.title], key=lambda x: len(x.title))
    if found:
        return found[0]
    search_string_without_checksum = re.sub(re.compile(r"\s\[[^]]*]$"), "", search_string)
    found = sorted([x for x in checkpoints_list.values() if search_string_without_checksum in x.title], key=lambda x: len(x.title))
    return found[0] if found else None


def select_checkpoint():
    info = checkpoint_aliases.get(shared.opts.sd_model_checkpoint)
    if info is not None:
        return info
    return next(iter(checkpoints_list.values()), None)


class _ForgeObjects:
    """``p.sd_model.forge_objects`` stand-in: unet/clip/vae/clipvision with ``shallow_copy``."""

    def __init__(self, unet=None, clip=None, vae=None, clipvision=None) -> None:
        self.unet = unet if unet is not None else SimpleNamespace(patches=[], model=SimpleNamespace())
        self.clip = clip
        self.vae = vae if vae is not None else SimpleNamespace(latent_channels=4)
        self.clipvision = clipvision

    def shallow_copy(self) -> _ForgeObjects:
        return _ForgeObjects(SimpleNamespace(patches=list(self.unet.patches), model=self.unet.model), self.clip,
                             self.vae, self.clipvision)


class FakeSdModel:
    """``shared.sd_model`` stand-in: flags and checkpoint info, no weights."""

    def __init__(self, info: CheckpointInfo) -> None:
        self.sd_checkpoint_info = info
        self.sd_model_checkpoint = info.filename
        self.sd_model_hash = info.shorthash
        self.is_sdxl = False
        self.is_sd1 = True
        self.is_sd2 = False
        self.is_sd3 = False
        self.is_sdxl_inpaint = False
        self.is_inpaint = False
        self.cond_stage_key = "crossattn"
        self.latent_channels = 4
        self.model = SimpleNamespace(conditioning_key="crossattn")
        self.use_distilled_cfg_scale = False
        self.comments: list[str] = []
        self.extra_generation_params: dict = {}
        if _double().forge:
            self.forge_objects_original = _ForgeObjects()
            self.forge_objects = self.forge_objects_original.shallow_copy()
            self.forge_objects_after_applying_lora = self.forge_objects_original.shallow_copy()

    def ema_scope(self):
        import contextlib

        return contextlib.nullcontext()

    def set_checkpoint(self, info: CheckpointInfo) -> None:
        self.sd_checkpoint_info = info
        self.sd_model_checkpoint = info.filename
        self.sd_model_hash = info.shorthash


def _switch_to_option_checkpoint() -> None:
    info = checkpoint_aliases.get(shared.opts.sd_model_checkpoint)
    if info is not None and shared.sd_model is not None and info is not shared.sd_model.sd_checkpoint_info:
        shared.sd_model.set_checkpoint(info)


def reload_model_weights(sd_model=None, info=None, forced_reload: bool = False):
    """A1111: load the checkpoint named by ``opts.sd_model_checkpoint`` (or ``info``). Forge: no-op."""
    global reload_calls
    reload_calls += 1
    if _double().forge:
        return None
    if info is not None:
        shared.sd_model.set_checkpoint(info)
    else:
        _switch_to_option_checkpoint()
    return shared.sd_model


def forge_model_reload():
    """Forge ``sd_models.forge_model_reload``: returns ``(sd_model, just_reloaded)``."""
    _switch_to_option_checkpoint()
    return shared.sd_model, False


def apply_token_merging(sd_model, token_merging_ratio: float) -> None:
    token_merging_calls.append(token_merging_ratio)


def apply_alpha_schedule_override(sd_model, p=None) -> None:
    pass


class SkipWritingToConfig:
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def model_hash(filename: str) -> str:
    return hashlib.sha256(os.path.basename(filename).encode()).hexdigest()[:8]
