"""FacePop engine: detection, alignment, matting, compositing and upscale planning.

Pure Python over numpy/OpenCV/PIL/mediapipe/onnxruntime. Nothing here imports the
WebUI's ``modules`` except the ``lib_facepop.webui`` subpackage.
"""

__version__ = "0.1.0"
