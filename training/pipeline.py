"""tf.data input pipelines; augmentation lives here, never in the exported model."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def build_augmenter(seed: int = 0, rotation: float = 0.05, shift: float = 0.1, zoom: float = 0.1) -> keras.Sequential:
    """Random horizontal flip, rotation (fraction of 2*pi), shift and zoom (fractions of size).

    Applied per batch inside ``tf.data.Dataset.map`` on float32 NHWC pixels 0..255.
    """
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom(zoom, zoom, fill_mode="reflect", seed=seed + 3),
        ],
        name="augment",
    )


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    training: bool = False,
    seed: int = 0,
    augmenter: keras.Sequential | None = None,
) -> tf.data.Dataset:
    """Batches of ``(float32 (B, H, W, C) pixels 0..255, int64 (B,) labels)``.

    With ``training``, the data is reshuffled every epoch (seeded) and, where
    given, ``augmenter`` is applied to each batch.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda a, b: (tf.cast(a, tf.float32), b), num_parallel_calls=tf.data.AUTOTUNE)
    if training and augmenter is not None:
        ds = ds.map(lambda a, b: (augmenter(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


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
