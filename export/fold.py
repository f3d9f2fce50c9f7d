"""Fold BatchNormalization into the preceding Conv2D before conversion.

tf2onnx leaves a Keras BatchNorm as Mul/Add nodes after the Conv; folding gives
one Conv with bias: ``W' = W * g / sqrt(v + eps)``, ``b' = beta + (b - m) * g / sqrt(v + eps)``
(Ioffe & Szegedy 2015, inference-mode BN as an affine map).
"""

from __future__ import annotations

import keras
import numpy as np

from fer_toolkit.training.model import build_model


def fold_batchnorm(model: keras.Model, build_kwargs: dict, name: str = "fer_cnn") -> keras.Model:
    """Return an equivalent inference model without BatchNorm layers.

    Args:
        model: a trained model from :func:`fer_toolkit.training.model.build_model`.
        build_kwargs: the keyword arguments it was built with (``input_shape``,
            ``num_classes``, ``widths``, ...), ``batch_norm`` excluded.
        name: the folded model's name.

    Raises:
        ValueError: a layer of the folded graph has no counterpart in ``model``.
    """
    folded = build_model(**build_kwargs, batch_norm=False, name=name)
    src = {layer.name: layer for layer in model.layers}
    for layer in folded.layers:
        if not layer.weights:
            continue
        if layer.name not in src:
            raise ValueError(f"layer {layer.name} not in the trained model")
        weights = src[layer.name].get_weights()
        bn_name = layer.name.replace("_conv", "_bn")
        if isinstance(layer, keras.layers.Conv2D) and bn_name in src:
            gamma, beta, mean, var = src[bn_name].get_weights()
            scale = gamma / np.sqrt(var + src[bn_name].epsilon)
            kernel = weights[0] * scale  # (kh, kw, in, out) broadcasts over out
            bias = beta + ((weights[1] if len(weights) > 1 else 0.0) - mean) * scale
            weights = [kernel.astype(np.float32), bias.astype(np.float32)]
        layer.set_weights(weights)
    return folded
