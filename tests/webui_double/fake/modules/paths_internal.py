"""``modules.paths_internal`` (A1111 v1.10.1 L1-38): every path lives under the double's tmp root."""

import os

from modules import _double

_root = str(_double().root)

script_path = os.path.join(_root, "webui")
modules_path = os.path.join(script_path, "modules")
data_path = script_path
models_path = os.path.join(data_path, "models")
extensions_dir = os.path.join(data_path, "extensions")
extensions_builtin_dir = os.path.join(script_path, "extensions-builtin")
config_states_dir = os.path.join(script_path, "config_states")
default_output_dir = os.path.join(data_path, "outputs")
sd_configs_path = os.path.join(script_path, "configs")
sd_default_config = os.path.join(sd_configs_path, "v1-inference.yaml")
sd_model_file = os.path.join(script_path, "model.ckpt")
default_sd_model_file = sd_model_file
roboto_ttf_file = os.path.join(modules_path, "Roboto-Regular.ttf")
cwd = os.getcwd()

for _d in (script_path, models_path, extensions_dir, default_output_dir):
    os.makedirs(_d, exist_ok=True)
