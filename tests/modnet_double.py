"""A tiny ONNX model with MODNet's signature, built with onnx.helper for tests and benchmarks.

``input`` [N,3,H,W] float32 (MODNet-normalised, -1..1) -> ``output`` [N,1,H,W] in 0-1:
``sigmoid(4 R + 2 G - 2 B)`` through a 1x1 Conv. The channel weights differ, so a wrong
normalisation, a BGR/RGB swap or a shifted/transposed resize shows in the numbers
(white -> 0.98, black -> 0.02, red -> 0.98, blue -> 0.0003, green -> 0.5).

Like MODNet, which downsamples by 32, the model only accepts H and W that are multiples
of 32: a side branch average-pools the logits by 32, upsamples them back by 32 and adds
them times zero, which fails with a shape error for any other size and changes nothing
otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Conv weights for the R, G, B channels (after MODNet's -1..1 normalisation).
WEIGHTS = (4.0, 2.0, -2.0)


def expected_alpha(rgb_u8: np.ndarray) -> np.ndarray:
    """What the model returns for an RGB uint8 image at its own size (no resize)."""
    x = (rgb_u8[..., :3].astype(np.float64) / 255.0 - 0.5) / 0.5
    logits = x @ np.asarray(WEIGHTS)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def build_modnet_like(path: str | Path, *, batch: int | None = None) -> Path:
    """Write the model to ``path`` and return it. ``batch`` fixes the batch dimension
    (as some exports do); None leaves it dynamic like MODNet's."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.asarray(WEIGHTS, np.float32).reshape(1, 3, 1, 1), name="w")
    b = numpy_helper.from_array(np.zeros((1,), np.float32), name="b")
    scales = numpy_helper.from_array(np.array([1, 1, 32, 32], np.float32), name="scales")
    zero = numpy_helper.from_array(np.zeros((1,), np.float32), name="zero")
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["logits"], kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["logits"], ["pooled"], kernel_shape=[32, 32], strides=[32, 32]),
        helper.make_node("Resize", ["pooled", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Mul", ["up", "zero"], ["nothing"]),
        helper.make_node("Add", ["logits", "nothing"], ["checked"]),  # shape error unless H, W are /32
        helper.make_node("Sigmoid", ["checked"], ["output"]),
    ]
    n = batch if batch is not None else "N"
    graph = helper.make_graph(
        nodes,
        "modnet_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [n, 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [n, 1, "H", "W"])],
        initializer=[w, b, scales, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path
