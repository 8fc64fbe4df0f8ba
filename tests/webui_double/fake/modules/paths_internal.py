"""``modules.paths_internal`` (A1111 v1.10.1 L1-38): every path lives under the double's tmp root."""

import os

from modules import _double

_root = str(_double().root)

script_path = os.path.join(_root, "webui")
data_path = script_path  # no --data-dir: data and code share the root


def _under_root(*parts: str) -> str:
    return os.path.join(script_path, *parts)


modules_path = _under_root("modules")
models_path, extensions_dir, default_output_dir = _under_root("models"), _under_root("extensions"), _under_root("outputs")
extensions_builtin_dir, config_states_dir = _under_root("extensions-builtin"), _under_root("config_states")
sd_configs_path = _under_root("configs")
sd_default_config = _under_root("configs", "v1-inference.yaml")
default_sd_model_file = sd_model_file = _under_root("model.ckpt")
roboto_ttf_file = os.path.join(modules_path, "Roboto-Regular.ttf")
cwd = os.getcwd()

for _d in (script_path, models_path, extensions_dir, default_output_dir):
    os.makedirs(_d, exist_ok=True)
