"""Evaluation: top-1 accuracy, macro-F1, per-class P/R/F1, confusion matrix, plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from fer_toolkit.training.metrics import classification_metrics
from fer_toolkit.training.plots import plot_confusion_matrix, plot_history


def evaluate_run(run: Path, data: Path | None = None, split: str = "test") -> dict:
    """Evaluate ``run/best.keras`` on one split of the run's data folder.

    Writes ``run/metrics_<split>.json``, ``run/confusion_matrix_<split>.png``
    and ``run/curves.png`` (loss/accuracy per epoch from ``history.csv``).
    Follow the protocol: select on val, report test once.

    Returns:
        the metrics dict (see :func:`fer_toolkit.training.metrics.classification_metrics`).

    Raises:
        FileNotFoundError: no ``best.keras`` or ``config.json`` in ``run``.
        fer_toolkit.training.data.DataError: the split folder is missing or empty.
    """
    import keras

    from fer_toolkit.fercore import DataConfig
    from fer_toolkit.training.data import DataError, load_split

    run = Path(run)
    for f in ("best.keras", "config.json"):
        if not (run / f).exists():
            raise FileNotFoundError(f"{run / f} not found: train a model first (make train)")
    cfg = json.loads((run / "config.json").read_text())
    data_cfg = DataConfig.from_json(cfg["data_config"])
    root = Path(data or cfg["train"]["data"])
    if not (root / split).is_dir():
        raise DataError(f"no {split}/ folder in {root}")
    s = load_split(root / split, data_cfg, root)
    model = keras.models.load_model(run / "best.keras")
    probs = model.predict(s.x.astype(np.float32), batch_size=256, verbose=0)
    metrics = classification_metrics(s.y, probs, data_cfg.labels)
    metrics.update({"split": split, "data": str(root), "model": str(run / "best.keras")})
    (run / f"metrics_{split}.json").write_text(json.dumps(metrics, indent=2))
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), data_cfg.labels, run / f"confusion_matrix_{split}.png",
                          title=f"{split}: top-1 {metrics['top1_accuracy']:.1%}, macro-F1 {metrics['macro_f1']:.3f}")
    if (run / "history.csv").exists():
        plot_history(run / "history.csv", run / "curves.png")
    return metrics


def format_report(metrics: dict, labels: Sequence[str]) -> str:
    """A Markdown table of per-class precision/recall/F1/support plus the totals."""
    rows = ["| class | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for name in labels:
        c = metrics["per_class"][name]
        rows.append(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    rows.append(f"| **top-1 accuracy** | | | {metrics['top1_accuracy']:.4f} | {metrics['n']} |")
    rows.append(f"| **macro avg** | {metrics['macro_precision']:.3f} | {metrics['macro_recall']:.3f} | "
                f"{metrics['macro_f1']:.3f} | {metrics['n']} |")
    return "\n".join(rows)
