"""PNG plots with matplotlib (Agg backend): training curves and confusion matrix."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_history(history_csv: Path, out: Path) -> None:
    """Loss and top-1 accuracy per epoch, train vs val, from Keras' ``CSVLogger`` file."""
    with Path(history_csv).open() as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "accuracy", "top-1 accuracy")):
        ax.plot(epochs, [float(r[key]) for r in rows], label="train (augmented)")
        ax.plot(epochs, [float(r[f"val_{key}"]) for r in rows], label="val")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_confusion_matrix(cm: np.ndarray, labels: Sequence[str], out: Path, title: str = "",
                          columns: Sequence[str] | None = None) -> None:
    """Row-normalised confusion matrix (rows = true class) annotated with % and counts.

    Args:
        cm: int ``(K, C)`` counts, rows the true classes ``labels``, columns the predicted ``columns`` (default
            ``labels``; e.g. ``labels`` plus ``no face``).
    """
    cm = np.asarray(cm)
    columns = list(labels if columns is None else columns)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k, c = len(labels), len(columns)
    fig, ax = plt.subplots(figsize=(1.1 * c + 2, 1.1 * k + 1))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(c):
            ax.text(j, i, f"{norm[i, j]:.0%}\n{cm[i, j]}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(c), columns, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_reliability(bins: dict, out: Path, title: str = "") -> None:
    """Reliability diagram: accuracy vs mean confidence per confidence bin, with the diagonal of perfect calibration.

    Args:
        bins: :func:`fer_toolkit.training.calibration.calibration_bins` output.
    """
    edges, count = bins["edges"], bins["count"]
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    seen = count > 0
    ax.bar(centres[seen], bins["accuracy"][seen], width=width * 0.95, color="#4C72B0", label="accuracy")
    ax.bar(centres[seen], bins["confidence"][seen] - bins["accuracy"][seen], bottom=bins["accuracy"][seen],
           width=width * 0.95, color="#DD8452", alpha=0.5, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_ylabel("top-1 accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left")
    hist.bar(centres, count, width=width * 0.95, color="#888888")
    hist.set_xlabel("confidence of the top-1 class")
    hist.set_ylabel("images")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
