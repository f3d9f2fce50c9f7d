"""Occlusion sensitivity: which regions of a face crop drove the prediction (onnxruntime only).

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014, section 4.2: slide a
grey patch over the input and record how much the predicted class's probability drops. Here the crop is
cut into a ``grid x grid`` lattice and every occluded copy runs in one onnxruntime batch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from fer_toolkit.fercore.predictor import Predictor


def occlusion_map(predictor: Predictor, pixels: np.ndarray, grid: int = 8,
                  label: str | None = None) -> tuple[np.ndarray, str]:
    """Probability drop of ``label`` when each grid cell of ``pixels`` is greyed out.

    Args:
        pixels: one model input, ``(H, W, C)`` values 0..255 (``FaceResult.pixels``).
        grid: cells per side (``grid**2`` occluded copies plus the original in one batch).
        label: the class to explain (default: the top-1 class of the unoccluded input).

    Returns:
        ``(grid, grid)`` float32 drops (original probability minus occluded probability; positive = the
        region supported ``label``), and the label explained.

    Raises:
        ValueError: ``pixels`` does not have the model's input shape, ``grid`` < 1 or larger than the input,
            or an unknown ``label``.
    """
    x = np.asarray(pixels, np.float32)
    h, w = x.shape[:2]
    if not 1 <= grid <= min(h, w):
        raise ValueError(f"grid must be within 1..{min(h, w)}, got {grid}")
    ys, xs = np.linspace(0, h, grid + 1).round().astype(int), np.linspace(0, w, grid + 1).round().astype(int)
    batch = np.repeat(x[None], grid * grid + 1, axis=0)
    fill = float(x.mean())
    for i in range(grid):
        for j in range(grid):
            batch[1 + i * grid + j, ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = fill
    probs = predictor.predict(batch)
    k = int(probs[0].argmax()) if label is None else predictor.labels.index(label) if label in predictor.labels \
        else -1
    if k < 0:
        raise ValueError(f"unknown label {label!r}; the model's labels are {', '.join(predictor.labels)}")
    return (probs[0, k] - probs[1:, k]).reshape(grid, grid).astype(np.float32), predictor.labels[k]


def overlay(pixels: np.ndarray, drops: np.ndarray, size: int = 192) -> Image.Image:
    """The crop (greyscale or RGB) at ``size`` px with the drops as a red (supports) / blue (opposes) tint.

    Args:
        pixels: ``(H, W, C)`` uint8 model input.
        drops: ``(g, g)`` from :func:`occlusion_map`; scaled by its largest absolute value.
    """
    base = Image.fromarray(np.asarray(pixels, np.uint8).squeeze()).convert("RGB").resize((size, size),
                                                                                         Image.Resampling.BICUBIC)
    peak = float(np.abs(drops).max()) or 1.0
    heat = Image.fromarray(((drops / peak + 1) * 127.5).clip(0, 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BILINEAR)
    v = np.asarray(heat, np.float32) / 255.0  # 0 = opposes, 0.5 = neutral, 1 = supports
    color = np.stack([np.clip(2 * v - 1, 0, 1), np.zeros_like(v), np.clip(1 - 2 * v, 0, 1)], -1) * 255
    alpha = (np.abs(2 * v - 1) * 0.6)[..., None]
    out = np.asarray(base, np.float32) * (1 - alpha) + color * alpha
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))
