"""The CNN: a VGG-style network with BatchNorm, built by a pure function."""

from __future__ import annotations

import keras
from keras import layers


def build_model(
    input_shape: tuple[int, int, int],
    num_classes: int,
    widths: tuple[int, ...] = (32, 64, 128, 256),
    block_dropout: float = 0.1,
    head_units: int = 256,
    head_dropout: float = 0.4,
    batch_norm: bool = True,
    name: str = "fer_cnn",
) -> keras.Model:
    """Build the classifier (not compiled).

    Architecture: ``Rescaling(1/255)``, then per width two 3x3 Conv (no bias) +
    BatchNorm + ReLU, 2x2 max-pool and dropout; global average pooling, Dense
    ``head_units`` + ReLU + dropout, Dense ``num_classes`` logits and a softmax.
    With the defaults and a 48x48x1 input: 1.24M parameters, about 0.15 GFLOPs
    per image.

    Args:
        input_shape: ``(H, W, C)``; the model takes float32 pixel values 0..255, NHWC.
        num_classes: number of output classes.
        batch_norm: with False, each Conv has a bias and no BatchNorm follows it:
            the inference graph that :func:`fer_toolkit.export.fold.fold_batchnorm` fills with
            folded weights.
        name: the model's name (members of an ensemble need distinct names).

    Returns:
        A Keras model mapping ``(N, H, W, C)`` float32 to ``(N, num_classes)``
        softmax probabilities (layer ``logits`` holds the pre-softmax values).
    """
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, width in enumerate(widths, start=1):
        for c in (1, 2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm, name=f"block{b}_conv{c}")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
            x = layers.ReLU(name=f"block{b}_relu{c}")(x)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(block_dropout, name=f"block{b}_drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(head_units, activation="relu", name="head_dense")(x)
    x = layers.Dropout(head_dropout, name="head_drop")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs", dtype="float32")(x)  # float32 under mixed precision too
    return keras.Model(inputs, outputs, name=name)
