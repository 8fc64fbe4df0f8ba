"""FacePop's test double of the AUTOMATIC1111 / Forge WebUI ``modules`` API (no torch, no gradio).

    from tests.webui_double import install, uninstall
    double = install("a1111", tmp_path)      # or "forge"
    from modules import processing, scripts  # the fakes, under the real names
    ...
    uninstall()

Pytest fixtures (``webui`` over both modes, ``webui_a1111``, ``webui_forge``) live in
``tests/webui_double/fixtures.py``. See README.md in this folder.
"""

from tests.webui_double.core import (
    CONTROLNET,
    MODES,
    ApiError,
    ApiResult,
    Counters,
    Double,
    current,
    install,
    uninstall,
)

__all__ = ["CONTROLNET", "MODES", "ApiError", "ApiResult", "Counters", "Double", "current", "install", "uninstall"]
