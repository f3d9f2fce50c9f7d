"""Calibration: temperature scaling fitted by NLL, expected calibration error (NumPy + SciPy, no TensorFlow)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

_EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row-wise: float64 ``(N, K)`` from probabilities ``(N, K)``; argmax unchanged."""
    z = np.log(np.clip(np.asarray(probs, np.float64), _EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of int labels ``y (N,)`` under ``probs (N, K)``."""
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], _EPS, 1.0)).mean())


def fit_temperature(probs: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature ``T`` minimising the NLL of ``apply_temperature(probs, T)`` on held-out labels.

    Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks",
    ICML 2017): one scalar fitted on a validation split (here FER2013
    PublicTest), never on the test split. Searched in log-space with SciPy's
    bounded Brent method.

    Args:
        probs: float ``(N, K)`` class probabilities of the model to calibrate.
        y: int ``(N,)`` labels.

    Raises:
        ValueError: empty or mismatched inputs.
    """
    probs, y = np.asarray(probs), np.asarray(y)
    if len(probs) == 0 or len(probs) != len(y):
        raise ValueError(f"need matching non-empty probs and labels, got {len(probs)} and {len(y)}")
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    res = minimize_scalar(lambda t: nll(apply_temperature(probs, np.exp(t)), y), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))


def calibration_bins(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> dict:
    """Equal-width confidence bins of the top-1 prediction (the reliability diagram's data).

    Returns:
        ``{"edges": (bins + 1,), "count", "confidence", "accuracy": (bins,)}``
        (mean confidence and accuracy per bin; NaN where a bin is empty).
    """
    conf = np.asarray(probs).max(axis=1)
    correct = (np.asarray(probs).argmax(axis=1) == np.asarray(y)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(idx, conf, bins) / count
        acc = np.bincount(idx, correct, bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": acc}


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE: the count-weighted mean of ``|accuracy - confidence|`` over equal-width confidence bins.

    Naeini et al. (AAAI 2015), with the 15 bins of Guo et al. (ICML 2017). 0 is
    perfect; a model whose 0.9-confident answers are right 90% of the time
    contributes nothing.
    """
    b = calibration_bins(probs, y, bins)
    seen = b["count"] > 0
    gap = np.abs(b["accuracy"][seen] - b["confidence"][seen])
    return float((gap * b["count"][seen]).sum() / b["count"].sum())
