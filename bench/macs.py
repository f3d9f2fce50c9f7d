"""Arithmetic per image of an exported model: multiply-accumulates (MACs) counted from its ONNX graph.

A file's images/s at a large batch is about the CPU's sustained multiply-accumulate rate over this count when
convolutions dominate its time (``python -m bench.profile``: 95% ``QLinearConv`` for the balanced INT8 file), so
the count says what a CPU must deliver for a target speed: 1,000 images/s of a 352.5M-MAC file needs 352.5 G
MAC/s of INT8 convolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference


def _dims(value: onnx.ValueInfoProto) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim]


def macs_per_image(path: Path) -> int:
    """Multiply-accumulates of one image through the fp32 ONNX file ``path``: over every ``Conv``, output channels
    x input channels per group x kernel area x output height x width, plus the weight size of every ``MatMul`` or
    ``Gemm`` with a constant weight (one row per image after global pooling). Each test-time view and ensemble
    member is its own branch of the exported graph, so they are all counted. Elementwise operators, pooling and
    softmax are left out (a few per cent at most for these networks).

    Raises:
        ValueError: a ``Conv`` whose weight is not a constant, or whose output shape ONNX's shape inference
            cannot resolve (the INT8 QDQ files: count their fp32 twin, the same graph).
    """
    proto = shape_inference.infer_shapes(onnx.load(str(path)))
    weights = {t.name: list(t.dims) for t in proto.graph.initializer}
    shapes = {v.name: _dims(v) for v in (*proto.graph.value_info, *proto.graph.output)}
    total = 0
    for node in proto.graph.node:
        if node.op_type == "Conv":
            if node.input[1] not in weights:
                raise ValueError(f"{path.name}: Conv {node.name} has no constant weight (count the fp32 file)")
            out = shapes.get(node.output[0], [])
            if len(out) != 4 or not all(out[2:]):
                raise ValueError(f"{path.name}: Conv {node.name} has no static output shape")
            total += int(np.prod(weights[node.input[1]])) * out[2] * out[3]
        elif node.op_type in ("MatMul", "Gemm") and node.input[1] in weights:
            total += int(np.prod(weights[node.input[1]]))
    return total
