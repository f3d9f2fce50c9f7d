"""Class weights from label counts (the loss re-weighting for imbalanced classes such as FER2013's disgust)."""

from __future__ import annotations

import numpy as np


def class_weights(y: np.ndarray, num_classes: int, mode: str) -> dict[int, float] | None:
    """Per-class loss weights from label counts.

    ``balanced``: ``n / (k * n_c)`` (scikit-learn's "balanced" heuristic);
    ``sqrt``: the square root of that, a milder re-weighting; ``none``: no weights.
    """
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    w = len(y) / (num_classes * np.maximum(counts, 1))
    if mode == "sqrt":
        w = np.sqrt(w)
    elif mode != "balanced":
        raise ValueError(f"class weight mode must be none, balanced or sqrt, got {mode!r}")
    return {i: float(v) for i, v in enumerate(w)}
