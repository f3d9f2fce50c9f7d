"""Classification metrics from probabilities (NumPy + scikit-learn, no TensorFlow)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict:
    """Top-1 accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    Args:
        y_true: int array ``(N,)`` of class indexes.
        probs: float array ``(N, K)`` of class probabilities (or logits: only argmax is used).
        labels: ``K`` class names in index order.

    Returns:
        JSON-native dict: ``n``, ``top1_accuracy``, ``macro_precision``,
        ``macro_recall``, ``macro_f1``, ``majority_baseline`` (share of the
        most frequent true class), ``per_class`` {label: precision, recall, f1,
        support}, ``confusion_matrix`` (rows = true, columns = predicted, counts)
        and ``confusion_matrix_normalized`` (each row divided by its support).
    """
    k = len(labels)
    y_true = np.asarray(y_true)
    y_pred = np.asarray(probs).argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=range(k), zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=range(k))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    return {
        "n": int(len(y_true)),
        "top1_accuracy": float((y_pred == y_true).mean()),
        "macro_precision": float(p.mean()),
        "macro_recall": float(r.mean()),
        "macro_f1": float(f.mean()),
        "majority_baseline": float(np.bincount(y_true, minlength=k).max() / len(y_true)),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
        "labels": list(labels),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": np.round(norm, 4).tolist(),
    }
