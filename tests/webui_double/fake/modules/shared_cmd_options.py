"""``modules.shared_cmd_options``: an argparse parser and the parsed ``cmd_opts`` (defaults only)."""

import argparse
import os

from modules import _double, paths_internal

parser = argparse.ArgumentParser()

_defaults = {
    "api": False, "nowebui": False, "listen": False, "share": False, "port": None,
    "data_dir": paths_internal.data_path, "models_dir": None, "ckpt_dir": None, "vae_dir": None,
    "embeddings_dir": os.path.join(paths_internal.data_path, "embeddings"), "hypernetwork_dir": None,
    "lora_dir": None, "esrgan_models_path": None, "realesrgan_models_path": None, "dat_models_path": None,
    "codeformer_models_path": None, "gfpgan_models_path": None, "lowvram": False, "medvram": False,
    "medvram_sdxl": False, "lowram": False, "no_half": False, "no_half_vae": False, "precision": "autocast",
    "upcast_sampling": False, "use_cpu": [], "device_id": None, "skip_install": False,
    "disable_all_extensions": False, "disable_extra_extensions": False, "enable_insecure_extension_access": False,
    "hide_ui_dir_config": False, "freeze_settings": False, "freeze_settings_in_sections": None,
    "freeze_specific_settings": None, "no_prompt_history": False, "disable_safe_unpickle": False,
    "no_download_sd_model": False, "unix_filenames_sanitization": False, "filenames_max_length": 128,
    "use_textbox_seed": False, "enable_console_prompts": False, "styles_file": [],
    "ui_settings_file": os.path.join(paths_internal.data_path, "config.json"), "gradio_auth": None,
    "api_auth": None, "xformers": False, "opt_sdp_attention": False, "skip_torch_cuda_test": True,
    "disable_nan_check": False, "no_gradio_queue": False, "test_server": False,
}
if _double().forge:
    _defaults.update({"forge_ref_a1111_home": None, "always_gpu": False, "always_cpu": False})
cmd_opts = argparse.Namespace(**_defaults)
cmd_opts.webui_is_non_local = False
cmd_opts.disable_extension_access = False
