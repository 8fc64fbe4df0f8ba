"""FacePop Upscale: a selectable img2img script (multi-pass, tiled, ControlNet-guided upscale).

Thin entry point: the WebUI registers every ``Script`` subclass found in this module's
namespace, so the class is imported here and lives in ``lib_facepop.webui.upscale_script``.
"""

from lib_facepop.webui.upscale_script import FacePopUpscaleScript  # noqa: F401 - registered by the WebUI
