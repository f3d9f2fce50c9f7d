"""Static INT8 quantization (QDQ, per-channel weights) of an exported model with onnxruntime.

Calibrated on real training images; the INT8 file carries the fp32 file's
metadata plus ``quantization`` and ``calibration_images``. Dynamic quantization
is not used: it was slower than fp32 for these convolutions (issue 5).

Choices, each compared on the shipped model by its top-1 agreement with the fp32 file (the figures:
``docs/history.md`` and the model cards): the input ``Rescaling`` is folded into the first
Conv (:func:`fer_toolkit.export.graph.fold_input_scale`), which removes an INT8 ``QLinearMul``
over every pixel and makes the input quantization exact. Activation ranges are
the mean over calibration batches of each batch's min and max (onnxruntime's
``CalibMovingAverage``), which clips rare outliers; it agreed with fp32 more often than the global
min/max, entropy, percentile calibration, symmetric INT8 activations or a first Conv left in fp32.

Weights are quantized to 7 bits (``reduce_range``): on x86-64 CPUs without VNNI (AVX2 only),
onnxruntime's u8s8 kernels add pairs of products in 16 bits, which saturate with full-range INT8
weights (far lower agreement with fp32 there); uint8 weights were slower. Portability wins: one file for
every CPU.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from fer_toolkit.export.graph import fold_input_scale
from fer_toolkit.export.metadata import set_metadata

CALIBRATION_BATCH = 32  # images per calibration batch; each batch contributes one min and one max per tensor


class _Reader(CalibrationDataReader):
    def __init__(self, input_name: str, x: np.ndarray, batch: int = CALIBRATION_BATCH):
        self._batches = iter([{input_name: x[i:i + batch].astype(np.float32)} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self._batches, None)


def probability_nodes(proto: onnx.ModelProto) -> list[str]:
    """Names of the nodes from each Softmax on (the TTA mean, temperature scaling, the final Softmax).

    They stay fp32: quantized to 8 bits, the output probabilities would move in steps of ~1/255 and their sums
    drift below 1. Keeping them fp32 cost no measurable speed (BENCHMARKS.md).
    """
    tainted, names = set(), []
    for node in proto.graph.node:  # ONNX graphs are topologically sorted
        if node.op_type == "Softmax" or tainted.intersection(node.input):
            tainted.update(node.output)
            names.append(node.name)
    return names


def quantize_int8(fp32_path: Path, out: Path, calibration: np.ndarray) -> Path:
    """Write a static INT8 QDQ model of ``fp32_path`` to ``out``.

    Args:
        calibration: uint8/float ``(N, H, W, C)`` real images, pixel values 0..255
            (a few hundred from the training split), fed in batches of
            :data:`CALIBRATION_BATCH`.

    Returns:
        ``out``.
    """
    fp32_path, out = Path(fp32_path), Path(out)
    src = onnx.load(fp32_path)
    input_name = src.graph.input[0].name
    meta = {p.key: p.value for p in src.metadata_props}
    with tempfile.TemporaryDirectory() as tmp:
        folded, pre = Path(tmp) / "folded.onnx", Path(tmp) / "pre.onnx"
        fold_input_scale(src)
        onnx.save(src, folded)
        # onnxruntime's symbolic shape inference fails on Resize by constant scales (the multiscale views); ONNX's
        # own shape inference, which quant_pre_process also runs, gives their static shapes
        quant_pre_process(str(folded), str(pre),
                          skip_symbolic_shape=any(n.op_type == "Resize" for n in src.graph.node))
        exclude = probability_nodes(onnx.load(pre))
        quantize_static(str(pre), str(out), _Reader(input_name, calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, extra_options={"CalibMovingAverage": True},
                        nodes_to_exclude=exclude)
    q = onnx.load(out)
    meta.update({"quantization": "static INT8, QDQ, per-channel 7-bit weights, min/max averaged over calibration "
                                 "batches (onnxruntime.quantization)",
                 "calibration_images": str(len(calibration))})
    for k in ("test_top1_accuracy", "test_macro_f1"):  # measured on the fp32 model: re-measured by the caller
        meta.pop(k, None)
    del q.metadata_props[:]
    set_metadata(q, meta)
    onnx.save(q, out)
    return out
