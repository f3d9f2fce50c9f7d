"""Measure an exported ONNX file on a labelled split: top-1, macro-F1, ECE, plots, and the PrivateTest ledger."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np

LEDGER = "privatetest_evaluations.json"


def measure(onnx_path: Path, x: np.ndarray, y: np.ndarray, bins: int = 15) -> tuple[dict, np.ndarray]:
    """Classification metrics plus calibration of ``onnx_path`` on images ``x`` (uint8 ``(N, H, W, C)``).

    Returns:
        ``(metrics, probs)``: :func:`fer_toolkit.training.metrics.classification_metrics` plus
        ``ece`` (15 equal-width bins), ``nll`` (nats) and ``mean_confidence``;
        ``probs`` is float32 ``(N, K)``.
    """
    from fer_toolkit.fercore.predictor import Predictor
    from fer_toolkit.training.calibration import expected_calibration_error, nll
    from fer_toolkit.training.metrics import classification_metrics

    p = Predictor(onnx_path)
    probs = p.predict(x)
    m = classification_metrics(y, probs, p.labels)
    m.update({"ece": expected_calibration_error(probs, y, bins), "ece_bins": bins, "nll": nll(probs, y),
              "mean_confidence": float(probs.max(1).mean())})
    return m, probs


def write_plots(probs: np.ndarray, y: np.ndarray, metrics: dict, prefix: Path, split_name: str) -> dict[str, str]:
    """``<prefix>.reliability.png`` and ``<prefix>.confusion.png``; returns their file names."""
    from fer_toolkit.training.calibration import calibration_bins
    from fer_toolkit.training.plots import plot_confusion_matrix, plot_reliability

    rel, conf = Path(f"{prefix}.reliability.png"), Path(f"{prefix}.confusion.png")
    plot_reliability(calibration_bins(probs, y, metrics["ece_bins"]), rel,
                     title=f"{split_name}: ECE {metrics['ece']:.3f} ({metrics['ece_bins']} bins)")
    title = f"{split_name}: top-1 {metrics['top1_accuracy']:.1%}, macro-F1 {metrics['macro_f1']:.3f}"
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), metrics["labels"], conf, title=title)
    return {"reliability": rel.name, "confusion": conf.name}


def record_evaluation(onnx_path: Path, metrics: dict, purpose: str) -> int:
    """Append one PrivateTest evaluation to ``<model folder>/privatetest_evaluations.json``.

    The ledger makes the protocol auditable: every time an export measures a
    file on PrivateTest, the file, its sha256, the time, the top-1 and why are
    recorded, and the model card reports the count.

    Returns:
        the number of evaluations recorded in that folder so far.
    """
    path = Path(onnx_path).parent / LEDGER
    rows = json.loads(path.read_text()) if path.exists() else []
    rows.append({"model": Path(onnx_path).name, "sha256": hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest(),
                 "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "top1_accuracy": round(metrics["top1_accuracy"], 4), "purpose": purpose})
    path.write_text(json.dumps(rows, indent=2) + "\n")
    return len(rows)
