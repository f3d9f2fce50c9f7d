"""Training-time augmentation as Keras layers: they run on whatever backend trains (TensorFlow, torch, JAX).

The layers sit in front of the network in the *trainer* model only
(:func:`fer_toolkit.training.trainer.build_trainer`); the checkpoints and the exported
graph hold the bare network, so augmentation never reaches inference.
"""

from __future__ import annotations

import keras


def build_augmenter(seed: int = 0, rotation: float = 0.05, shift: float = 0.1, zoom: float = 0.1,
                    erasing: float = 0.0) -> keras.Sequential:
    """Random horizontal flip, rotation, shift, zoom and (optionally) random erasing.

    Args:
        rotation: maximum rotation as a fraction of a full turn (0.05 = +-18 degrees).
        shift: maximum shift as a fraction of height/width.
        zoom: maximum zoom in/out as a fraction of the side.
        erasing: probability that a rectangle of 2-20% of the image is filled with
            noise (random erasing, Zhong et al., AAAI 2020).

    Returns:
        A model mapping float32 NHWC pixels 0..255 to the same shape; identity
        when called with ``training=False``.
    """
    aug = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomZoom(zoom, zoom, fill_mode="reflect", seed=seed + 3),
    ]
    if erasing > 0:
        aug.append(keras.layers.RandomErasing(factor=(erasing, erasing), scale=(0.02, 0.2), fill_value=None,
                                              value_range=(0, 255), seed=seed + 4))
    return keras.Sequential(aug, name="augment")
