"""``modules.script_loading.load_module``: ``spec_from_file_location(basename, path)``; the module is
not put in ``sys.modules`` (A1111 v1.10.1 modules/script_loading.py L10-15)."""

import importlib.util
import os


def load_module(path: str):
    module_spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module
