"""ONNX graph rewrites applied before INT8 quantization (onnx only, no TensorFlow).

The Keras model starts with ``Rescaling(1/255)``, which tf2onnx writes as
``Mul`` (and ``Add`` of 0) in front of the first ``Conv``. In an INT8 graph that
``Mul`` becomes a ``QLinearMul`` over every input pixel (a visible share of the
INT8 model's time in onnxruntime's profiler, ``python -m bench.profile``),
and the input is quantized after a lossy scale. Folding the scale into
the first convolution's weights (``conv(s * x, W) = conv(x, s * W)``, exact also
at zero-padded borders) leaves raw 0..255 pixels at the input, which an 8-bit
quantizer represents exactly.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import numpy_helper

log = logging.getLogger(__name__)
# layout ops tf2onnx puts between the input and the first Conv, and the centre crop (Slice), which commutes
# with a per-pixel scale
_PASS_THROUGH = ("Reshape", "Transpose", "Slice")


def _scalar(inits: dict[str, onnx.TensorProto], name: str) -> float | None:
    if name not in inits:
        return None
    value = numpy_helper.to_array(inits[name])
    return float(value.reshape(-1)[0]) if value.size == 1 else None


def bypass(graph: onnx.GraphProto, node: onnx.NodeProto, source: str) -> None:
    """Remove ``node`` and feed the consumers of its (single) output from ``source`` instead."""
    for consumer in graph.node:
        for k, name in enumerate(consumer.input):
            if name == node.output[0]:
                consumer.input[k] = source
    graph.node.remove(node)


def fold_input_scale(proto: onnx.ModelProto) -> bool:
    """Fold a leading ``x * s (+ 0)`` chain into the weights of the Convs it feeds, in place.

    Recognised graph: input -> optional ``Slice`` (a crop) -> ``Mul``/``Add`` by scalar initializers ->
    optional ``Reshape``/``Transpose`` -> one or more ``Conv`` (an ensemble without test-time views: tf2onnx
    merges the members' identical ``Rescaling`` into one ``Mul`` that feeds every member's first Conv). Each
    node before the Convs must have a single consumer. The ``Mul``/``Add`` nodes are removed and each Conv
    weight ``W`` (float32 ``(out, in, kh, kw)``) becomes ``s * W``. Outputs change only by float rounding
    (max |dp| 2.1e-6 on the shipped model).

    Returns:
        True when folded; False (graph untouched, reason logged) when the graph
        does not match, e.g. a non-zero offset, which zero padding would break.
    """
    g = proto.graph
    inits = {t.name: t for t in g.initializer}
    current, scale, offset, chain = g.input[0].name, 1.0, 0.0, []
    while True:
        consumers = [n for n in g.node if current in n.input]
        if consumers and all(n.op_type == "Conv" for n in consumers):
            break
        if len(consumers) != 1:
            log.info("input scale not folded: %d consumers of %s before the first Conv", len(consumers), current)
            return False
        node = consumers[0]
        if node.op_type in ("Mul", "Add"):
            other = next((i for i in node.input if i != current), None)
            value = _scalar(inits, other) if other else None
            if value is None:
                log.info("input scale not folded: %s %s has no scalar constant", node.op_type, node.name)
                return False
            scale, offset = (scale * value, offset * value) if node.op_type == "Mul" else (scale, offset + value)
            chain.append(node)
        elif node.op_type not in _PASS_THROUGH:
            log.info("input scale not folded: %s between the input and the first Conv", node.op_type)
            return False
        current = node.output[0]
    uses = [i for n in g.node for i in n.input]
    own_weights = all(c.input[1] in inits and uses.count(c.input[1]) == 1 for c in consumers)
    if not chain or offset != 0.0 or not own_weights:
        log.info("input scale not folded: no scale chain with zero offset before Convs with their own weights")
        return False
    for conv in consumers:
        weight = numpy_helper.to_array(inits[conv.input[1]])
        inits[conv.input[1]].CopyFrom(numpy_helper.from_array((weight * scale).astype(np.float32), conv.input[1]))
    for removed in chain:  # in graph order, so each source is already rewired
        bypass(g, removed, next(i for i in removed.input if i not in inits))
    used = {i for n in g.node for i in n.input}
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)
    onnx.checker.check_model(proto)
    return True
