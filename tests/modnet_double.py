"""A tiny ONNX model with MODNet's signature, built with onnx.helper for tests and benchmarks.

``input`` [N,3,H,W] float32 (MODNet-normalised, -1..1) -> ``output`` [N,1,H,W] in 0-1:
sigmoid(4 * (R + G + B) / 3) through a 1x1 Conv, so the output depends on the input and
a wrong normalisation, channel order or resize shows in the numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def expected_alpha(rgb_u8: np.ndarray) -> np.ndarray:
    """What the model returns for an RGB uint8 image at its own size (no resize)."""
    x = (rgb_u8.astype(np.float32) / 255.0 - 0.5) / 0.5
    return 1.0 / (1.0 + np.exp(-4.0 * x.mean(axis=2)))


def build_modnet_like(path: str | Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 4.0 / 3.0, np.float32), name="w")
    b = numpy_helper.from_array(np.zeros((1,), np.float32), name="b")
    conv = helper.make_node("Conv", ["input", "w", "b"], ["logits"], kernel_shape=[1, 1])
    sig = helper.make_node("Sigmoid", ["logits"], ["output"])
    graph = helper.make_graph(
        [conv, sig],
        "modnet_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path
