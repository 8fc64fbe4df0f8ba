"""Option templates: the subset of A1111 v1.10.1 ``modules/shared_options.py`` defaults an extension
meets (same keys, same defaults, same ``infotext=`` names). Forge adds its own keys."""

import os

from modules import _double
from modules.options import OptionInfo, options_section
from modules.paths_internal import data_path, default_output_dir

restricted_opts = {
    "samples_filename_pattern", "directories_filename_pattern", "outdir_samples", "outdir_txt2img_samples",
    "outdir_img2img_samples", "outdir_extras_samples", "outdir_grids", "outdir_txt2img_grids", "outdir_save",
    "outdir_init_images",
}

_saving = {
    "samples_save": True, "samples_format": "png", "samples_filename_pattern": "", "save_images_add_number": True,
    "save_images_replace_action": "Replace", "grid_save": True, "grid_format": "png", "grid_extended_filename": False,
    "grid_only_if_multiple": True, "grid_prevent_empty_spots": False, "grid_zip_filename_pattern": "", "n_rows": -1,
    "font": "", "grid_background_color": "#ffffff", "save_images_before_face_restoration": False,
    "save_images_before_highres_fix": False, "save_images_before_color_correction": False, "save_mask": False,
    "save_mask_composite": False, "jpeg_quality": 80, "webp_lossless": False, "export_for_4chan": True,
    "img_downscale_threshold": 4.0, "target_side_length": 4000, "img_max_size_mp": 200,
    "use_original_name_batch": True, "use_upscaler_name_as_suffix": False, "save_selected_only": True,
    "save_write_log_csv": True, "save_init_img": False, "save_incomplete_images": False,
    "outdir_samples": "", "outdir_txt2img_samples": os.path.join(default_output_dir, "txt2img-images"),
    "outdir_img2img_samples": os.path.join(default_output_dir, "img2img-images"),
    "outdir_extras_samples": os.path.join(default_output_dir, "extras-images"), "outdir_grids": "",
    "outdir_txt2img_grids": os.path.join(default_output_dir, "txt2img-grids"),
    "outdir_img2img_grids": os.path.join(default_output_dir, "img2img-grids"),
    "outdir_save": os.path.join(data_path, "log", "images"),
    "outdir_init_images": os.path.join(default_output_dir, "init-images"),
    "save_to_dirs": True, "grid_save_to_dirs": True, "use_save_to_dirs_for_ui": False,
    "directories_filename_pattern": "[date]", "directories_max_prompt_words": 8,
    "ESRGAN_tile": 192, "ESRGAN_tile_overlap": 8, "realesrgan_enabled_models": ["R-ESRGAN 4x+", "R-ESRGAN 4x+ Anime6B"],
    "dat_enabled_models": ["DAT x2", "DAT x3", "DAT x4"], "DAT_tile": 192, "DAT_tile_overlap": 8,
    "upscaler_for_img2img": None, "face_restoration": False, "face_restoration_model": "CodeFormer",
    "code_former_weight": 0.5, "face_restoration_unload": False,
}
_sd = {
    "sd_model_checkpoint": None, "sd_checkpoints_limit": 1, "sd_unet": "Automatic", "emphasis": "Original",
    "enable_batch_seeds": True, "comma_padding_backtrack": 20, "CLIP_stop_at_last_layers": 1, "upcast_attn": False,
    "randn_source": "GPU", "tiling": False, "hires_fix_refiner_pass": "second pass", "sdxl_crop_top": 0,
    "sdxl_crop_left": 0, "sd_vae": "Automatic", "sd_vae_overrides_per_model_preferences": True,
    "sd_vae_encode_method": "Full", "sd_vae_decode_method": "Full", "inpainting_mask_weight": 1.0,
    "initial_noise_multiplier": 1.0, "img2img_extra_noise": 0.0, "img2img_color_correction": False,
    "img2img_fix_steps": False, "img2img_background_color": "#ffffff", "return_mask": False,
    "return_mask_composite": False, "overlay_inpaint": True, "cross_attention_optimization": "Automatic",
    "s_min_uncond": 0.0, "token_merging_ratio": 0.0, "token_merging_ratio_img2img": 0.0,
    "token_merging_ratio_hr": 0.0, "persistent_cond_cache": True, "batch_cond_uncond": True, "fp8_storage": "Disable",
    "cache_fp16_weight": False, "auto_backcompat": True, "use_old_hires_fix_width_height": False,
    "use_old_scheduling": False, "disable_weights_auto_swap": True, "enable_prompt_comments": True,
    "eta_ddim": 0.0, "eta_ancestral": 1.0, "ddim_discretize": "uniform", "s_churn": 0.0, "s_tmin": 0.0,
    "s_tmax": 0.0, "s_noise": 1.0, "sigma_min": 0.0, "sigma_max": 0.0, "rho": 0.0, "eta_noise_seed_delta": 0,
    "always_discard_next_to_last_sigma": False, "sgm_noise_multiplier": False, "sd_noise_schedule": "Default",
}
_ui = {
    "return_grid": True, "do_not_show_images": False, "samplers_in_dropdown": True, "dimensions_and_batch_together": True,
    "ui_reorder_list": [], "ui_tab_order": [], "hidden_tabs": [], "quicksettings_list": ["sd_model_checkpoint"],
    "localization": "None", "send_seed": True, "send_size": True, "interrupt_after_current": True,
    "enable_pnginfo": True, "save_txt": False, "add_model_name_to_info": True, "add_model_hash_to_info": True,
    "add_vae_name_to_info": True, "add_vae_hash_to_info": True, "add_user_name_to_info": False,
    "add_version_to_infotext": True, "infotext_skip_pasting": [], "infotext_styles": "Apply if any",
    "show_progressbar": True, "live_previews_enable": True, "show_progress_every_n_steps": 10,
    "show_progress_type": "Approx NN", "live_preview_fast_interrupt": False, "samples_log_stdout": False,
    "multiple_tqdm": True, "hide_samplers": [], "postprocessing_enable_in_main_ui": [],
    "disabled_extensions": [], "disable_all_extensions": "none", "enable_console_prompts": False,
    "show_warnings": False, "list_hidden_files": True,
}
_infotext = {
    "sd_model_checkpoint": "Model" if _double().forge else "Model hash", "CLIP_stop_at_last_layers": "Clip skip",
    "sd_vae": "VAE", "eta_noise_seed_delta": "ENSD", "s_churn": "Sigma churn", "s_tmin": "Sigma tmin",
    "s_tmax": "Sigma tmax", "s_noise": "Sigma noise", "sigma_min": "Schedule min sigma",
    "sigma_max": "Schedule max sigma", "rho": "Schedule rho", "eta_ddim": "Eta DDIM", "eta_ancestral": "Eta",
    "randn_source": "RNG", "emphasis": "Emphasis", "sd_noise_schedule": "Noise Schedule",
    "always_discard_next_to_last_sigma": "Discard penultimate sigma", "sgm_noise_multiplier": "SGM noise multiplier",
    "token_merging_ratio": "Token merging ratio", "token_merging_ratio_hr": "Token merging ratio hr",
}

options_templates: dict[str, OptionInfo] = {}
for _section, _items in ((("saving-images", "Saving images/grids"), _saving), (("sd", "Stable Diffusion"), _sd),
                         (("ui", "User interface"), _ui)):
    options_templates.update(options_section(_section, {
        k: OptionInfo(v, k, infotext=_infotext.get(k)) for k, v in _items.items()
    }))

if _double().forge:
    options_templates.update(options_section(("forge", "Forge"), {
        "forge_unet_storage_dtype": OptionInfo("Automatic", "Diffusion in Low Bits"),
        "forge_additional_modules": OptionInfo([], "VAE / Text Encoder"),
        "forge_preset": OptionInfo("sd", "UI"),
        "img2img_batch_use_original_name": OptionInfo(False, "Save using original filename in img2img batch"),
        "stealth_pnginfo_option": OptionInfo("None", "Stealth infotext mode"),
    }))
