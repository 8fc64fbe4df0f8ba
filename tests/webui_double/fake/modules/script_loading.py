"""``modules.script_loading.load_module``: ``spec_from_file_location(basename, path)``; the module is
not put in ``sys.modules`` (A1111 v1.10.1 modules/script_loading.py L10-15)."""

import importlib.util
import os


def load_module(path: str):
    spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)  # deliberately not registered in sys.modules
    return loaded
