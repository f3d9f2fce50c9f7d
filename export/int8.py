"""The INT8 twin of an exported file: quantize it (:mod:`fer_toolkit.export.quantize`), measure it beside fp32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx

from fer_toolkit.export.metadata import report_path, set_metadata


def requantize(fp32: Path, data: Path | None = None) -> dict:
    """Re-write only the INT8 model of an existing export and record it in ``<stem>.export.json``.

    Needs no TensorFlow: the data come from the export report (or ``data``).

    Raises:
        FileNotFoundError: ``fp32`` or its export report is missing.
    """
    from fer_toolkit.training.data import load_data

    fp32 = Path(fp32)
    for needed in (fp32, report_path(fp32)):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} not found: run `make export` first")
    report = json.loads(report_path(fp32).read_text())
    from fer_toolkit.fercore.predictor import Predictor

    config = Predictor(fp32).config
    splits = load_data(Path(data or report["data"]), config.input_size, config.channels)[1]
    report["int8"] = export_int8(fp32, splits["train"].x, splits.get("test", splits["val"]))
    report_path(fp32).write_text(json.dumps(report, indent=2))
    return report


def export_int8(fp32: Path, train_x: np.ndarray, split, n_calib: int = 500) -> dict:
    """Write ``<fp32 stem>.int8.onnx`` (static QDQ, :mod:`fer_toolkit.export.quantize`) and measure it against ``fp32``.

    Args:
        fp32: an ONNX file written by :func:`export_run`.
        train_x: uint8 ``(N, H, W, C)`` training images; ``n_calib`` of them (seed 0) calibrate.
        split: the :class:`fer_toolkit.training.data.Split` to measure on (PrivateTest where present).

    Returns:
        ``{"path", "n", "top1_accuracy", "macro_f1", "ece", "fp32_top1_accuracy",
        "top1_agreement_with_fp32", "calibration_images", "size_bytes",
        "images_per_second_batch256": {"fp32", "int8"}}`` (throughput measured side by
        side on 256 split images, best of 5 interleaved rounds, onnxruntime's default
        threads); top-1, macro-F1 and ECE go into the INT8 file's metadata.
    """
    from fer_toolkit.export.evaluate import measure
    from fer_toolkit.export.quantize import quantize_int8
    from fer_toolkit.fercore.predictor import Predictor

    fp32 = Path(fp32)
    ref = Predictor(fp32)
    idx = np.sort(np.random.default_rng(0).choice(len(train_x), size=min(n_calib, len(train_x)), replace=False))
    path = quantize_int8(fp32, fp32.with_name(fp32.name.removesuffix(".onnx") + ".int8.onnx"), train_x[idx])
    q = Predictor(path)
    m, probs8 = measure(path, split.x, split.y)
    p32 = ref.predict(split.x).argmax(1)
    proto = onnx.load(path)
    set_metadata(proto, {"test_top1_accuracy": f"{m['top1_accuracy']:.4f}", "test_macro_f1": f"{m['macro_f1']:.4f}",
                         "test_ece": f"{m['ece']:.4f}"})
    onnx.save(proto, path)
    return {"path": str(path), "n": int(len(split)), "top1_accuracy": m["top1_accuracy"], "macro_f1": m["macro_f1"],
            "ece": m["ece"], "fp32_top1_accuracy": float((p32 == split.y).mean()),
            "top1_agreement_with_fp32": float((probs8.argmax(1) == p32).mean()),
            "calibration_images": int(len(idx)), "size_bytes": path.stat().st_size,
            "images_per_second_batch256": _side_by_side_throughput({"fp32": ref, "int8": q}, split.x[:256])}


def _side_by_side_throughput(predictors: dict, x: np.ndarray, rounds: int = 5) -> dict[str, float]:
    """Images/s of each predictor on batch ``x``: best of ``rounds`` interleaved rounds (default session options)."""
    import time

    best = dict.fromkeys(predictors, float("inf"))
    for p in predictors.values():
        p.predict(x)  # warm-up
    for _ in range(rounds):
        for name, p in predictors.items():
            t0 = time.perf_counter()
            p.predict(x)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: round(len(x) / t, 1) for name, t in best.items()}
