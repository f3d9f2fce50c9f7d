"""Teacher soft labels for knowledge distillation, computed with onnxruntime from an exported model."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def soft_labels(teacher: Path, data: Path, out: Path, batch: int = 256) -> np.ndarray:
    """Write the teacher's class probabilities for every training image to ``out`` (``.npy``).

    The teacher is an exported ONNX file (an ensemble with its test-time views
    and temperature inside), so the student learns from exactly what ships;
    the images are the training split of ``data`` (folder tree or ``.npz``)
    in the order :func:`fer_toolkit.training.data.load_data` returns them, which is the
    order ``train --soft-labels`` reads them in.

    Returns:
        float16 ``(N_train, K)`` probabilities (rows sum to 1 within float16 rounding).

    Raises:
        fer_toolkit.training.data.DataError: bad data; ValueError: the teacher's labels differ from the data's.
    """
    from fer_toolkit.fercore.predictor import Predictor
    from fer_toolkit.training.data import load_data

    p = Predictor(teacher)
    config, splits = load_data(Path(data), p.config.input_size, p.config.channels)
    if tuple(config.labels) != tuple(p.labels):
        raise ValueError(f"teacher labels {list(p.labels)} differ from the data's {list(config.labels)}")
    x = splits["train"].x
    probs = np.concatenate([p.predict(x[i:i + batch]) for i in range(0, len(x), batch)]).astype(np.float16)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, probs)
    return probs
