"""The inference graph around trained networks: test-time augmentation, ensembling, temperature scaling.

One Keras functional graph maps float32 NHWC pixels 0..255 at the data
config's size to calibrated class probabilities:

1. each *view* of the input (centre crop, its mirror image, or the ten crops of
   Krizhevsky et al. 2012 as used by the FER2013 VGG/ResNet recipes of
   Khaireddin & Chen 2021 and WuJie1010's Facial-Expression-Recognition.Pytorch)
   goes through each member network;
2. the probabilities are averaged over views and members (an ensemble's mean);
3. temperature scaling (Guo et al., "On Calibration of Modern Neural Networks",
   ICML 2017) divides the log of that mean by ``T`` before a softmax, which
   never changes the argmax.

The same builder serves evaluation and export, so the ONNX file computes exactly
what was measured. It runs on any Keras backend and converts with tf2onnx.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from fer_toolkit.training.config import TTA_MODES

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="fer")
class HorizontalFlip(keras.layers.Layer):
    """Mirror NHWC images left-right (deterministic; a test-time view, not augmentation)."""

    def call(self, x):
        return ops.flip(x, axis=2)


@keras.saving.register_keras_serializable(package="fer")
class Temperature(keras.layers.Layer):
    """``softmax(log(p) / T)`` over the last axis: temperature scaling applied to probabilities ``p``.

    ``T`` > 1 softens, ``T`` < 1 sharpens; the argmax is unchanged for any ``T`` > 0.
    """

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def call(self, p):
        return ops.softmax(ops.log(ops.clip(p, _EPS, 1.0)) / self.temperature, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}


def view_crops(size: tuple[int, int], crop: int, tta: str) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """The test-time views as ``((top, bottom), (left, right)) cropping, flipped`` triples.

    Args:
        size: the input's ``(H, W)``.
        crop: the networks' input side (0: the full input).
        tta: ``none`` (centre crop), ``flip`` (centre crop and its mirror) or
            ``tencrop`` (four corners and the centre, each also mirrored).

    Raises:
        ValueError: unknown mode, or a crop larger than the input.
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {', '.join(TTA_MODES)}, got {tta!r}")
    h, w = size
    ch, cw = (crop, crop) if crop else (h, w)
    if ch > h or cw > w:
        raise ValueError(f"crop {crop} is larger than the input {h}x{w}")
    dh, dw = h - ch, w - cw
    centre = ((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2))
    boxes = [centre]
    if tta == "tencrop":
        boxes += [((0, dh), (0, dw)), ((0, dh), (dw, 0)), ((dh, 0), (0, dw)), ((dh, 0), (dw, 0))]
    flips = (False,) if tta == "none" else (False, True)
    return [(box, flip) for box in boxes for flip in flips]


def centre_crop(x, crop: int):
    """The centre ``crop x crop`` view of NHWC images ``x`` (numpy, float32), as the exported graph and the
    trainer crop them at evaluation (:func:`view_crops`); ``crop`` 0 returns ``x`` as float32."""
    (top, bottom), (left, right) = view_crops(x.shape[1:3], crop, "none")[0][0]
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right].astype("float32")


def build_inference_model(nets: Sequence[keras.Model], input_shape: tuple[int, int, int], crop: int = 0,
                          tta: str = "none", temperature: float = 1.0, name: str = "fer_inference") -> keras.Model:
    """Average ``nets`` over the test-time views of the input, then apply temperature scaling.

    Args:
        nets: member networks mapping ``(B, crop, crop, C)`` (or the full input)
            to softmax probabilities ``(B, K)``; names must be distinct.
        input_shape: ``(H, W, C)`` of the exported input (the data config's).
        crop: the members' input side (0: the full input).
        tta: see :func:`view_crops`.
        temperature: ``T`` of :class:`Temperature` (1.0: none).

    Returns:
        A model mapping float32 ``(B, H, W, C)`` pixels 0..255 to ``(B, K)``
        probabilities that sum to 1.
    """
    inputs = keras.Input(shape=input_shape, name="pixels")
    views = []
    for i, (box, flip) in enumerate(view_crops(input_shape[:2], crop, tta)):
        v = keras.layers.Cropping2D(box, name=f"view{i}_crop")(inputs) if any(sum(b) for b in box) else inputs
        views.append(HorizontalFlip(name=f"view{i}_flip")(v) if flip else v)
    outs = [net(v) for net in nets for v in views]
    x = outs[0] if len(outs) == 1 else keras.layers.Average(name="mean")(outs)
    if temperature != 1.0:
        x = Temperature(temperature, name="temperature")(x)
    return keras.Model(inputs, x, name=name)
