"""``modules.paths``: re-exports paths_internal (A1111 modules/paths.py L4)."""

from modules.paths_internal import (  # noqa: F401
    data_path,
    default_output_dir,
    extensions_builtin_dir,
    extensions_dir,
    models_path,
    script_path,
    sd_configs_path,
    sd_default_config,
    sd_model_file,
)

paths: dict[str, str] = {}
