"""Static INT8 quantization (QDQ, per-channel weights) of an exported model with onnxruntime.

Calibrated on real training images; the INT8 file carries the fp32 file's
metadata plus ``quantization`` and ``calibration_images``. Dynamic quantization
is not used: it was slower than fp32 for these convolutions (issue 5).
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

from export.onnx_export import set_metadata


class _Reader(CalibrationDataReader):
    def __init__(self, input_name: str, x: np.ndarray, batch: int = 32):
        self._batches = iter([{input_name: x[i:i + batch].astype(np.float32)} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self._batches, None)


def quantize_int8(fp32_path: Path, out: Path, calibration: np.ndarray) -> Path:
    """Write a static INT8 QDQ model of ``fp32_path`` to ``out``.

    Args:
        calibration: uint8/float ``(N, H, W, C)`` real images, pixel values 0..255
            (a few hundred from the training split).

    Returns:
        ``out``.
    """
    fp32_path, out = Path(fp32_path), Path(out)
    src = onnx.load(fp32_path)
    input_name = src.graph.input[0].name
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre))
        quantize_static(str(pre), str(out), _Reader(input_name, calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    q = onnx.load(out)
    meta = {p.key: p.value for p in src.metadata_props}
    meta.update({"quantization": "static INT8, QDQ, per-channel weights (onnxruntime.quantization)",
                 "calibration_images": str(len(calibration))})
    for k in ("test_top1_accuracy", "test_macro_f1"):  # measured on the fp32 model: re-measured by the caller
        meta.pop(k, None)
    del q.metadata_props[:]
    set_metadata(q, meta)
    onnx.save(q, out)
    return out
