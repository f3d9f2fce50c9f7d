"""The inference graph around trained networks: test-time augmentation, ensembling, temperature scaling.

One Keras functional graph maps float32 NHWC pixels 0..255 at the data
config's size to calibrated class probabilities:

1. each *view* of the input (centre crop, its mirror image, the ten crops of
   Krizhevsky et al. 2012 as used by the FER2013 VGG/ResNet recipes of
   Khaireddin & Chen 2021 and WuJie1010's Facial-Expression-Recognition.Pytorch,
   or the centre crop at three scales) goes through each member network;
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

from fer_toolkit.training.views import member_views, view_crops

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="fer")
class HorizontalFlip(keras.layers.Layer):
    """Mirror NHWC images left-right (deterministic; a test-time view, not augmentation)."""

    def call(self, x):
        return ops.flip(x, axis=2)


@keras.saving.register_keras_serializable(package="fer")
class ReflectPad(keras.layers.Layer):
    """Pad NHWC images by reflection (``d c b | a b c d | c b a``, numpy's ``reflect``; ONNX ``Pad`` mode
    ``reflect``), ``((top, bottom), (left, right))`` pixels: the zoomed-out test-time views."""

    def __init__(self, padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)), **kwargs):
        super().__init__(**kwargs)
        self.padding = tuple(tuple(int(v) for v in p) for p in padding)

    def call(self, x):
        return ops.pad(x, ((0, 0), *self.padding, (0, 0)), mode="reflect")

    def compute_output_shape(self, shape):
        (t, b), (left, r) = self.padding
        return (shape[0], None if shape[1] is None else shape[1] + t + b,
                None if shape[2] is None else shape[2] + left + r, shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding}


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


def centre_crop(x, crop: int):
    """The centre ``crop x crop`` view of NHWC images ``x`` (numpy, float32), as the exported graph and the
    trainer crop them at evaluation (:func:`view_crops`); ``crop`` 0 returns ``x`` as float32."""
    (top, bottom), (left, right) = view_crops(x.shape[1:3], crop, "none")[0][0]
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right].astype("float32")


def build_inference_model(nets: Sequence[keras.Model], input_shape: tuple[int, int, int],
                          crop: int | Sequence[int] = 0, tta: str = "none", temperature: float = 1.0,
                          name: str = "fer_inference") -> keras.Model:
    """Average ``nets`` over the test-time views of the input, then apply temperature scaling.

    Each member's probabilities are averaged over its own views (:func:`member_views`), then the members'
    means are averaged with equal weight: an ensemble may mix networks with different crops, e.g. a
    40-px network over ten crops with 48-px networks over the image and its mirror image.

    Args:
        nets: member networks mapping ``(B, crop, crop, C)`` (or the full input)
            to softmax probabilities ``(B, K)``; names must be distinct.
        input_shape: ``(H, W, C)`` of the exported input (the data config's).
        crop: the members' input side (0: the full input); one int for all, or one per member.
        tta: see :func:`view_crops`.
        temperature: ``T`` of :class:`Temperature` (1.0: none).

    Returns:
        A model mapping float32 ``(B, H, W, C)`` pixels 0..255 to ``(B, K)``
        probabilities that sum to 1.

    Raises:
        ValueError: as :func:`view_crops`, or a list of crops whose length is not that of ``nets``.
    """
    crops = [int(crop)] * len(nets) if isinstance(crop, int) else [int(c) for c in crop]
    if len(crops) != len(nets):
        raise ValueError(f"{len(crops)} crops for {len(nets)} networks")
    inputs = keras.Input(shape=input_shape, name="pixels")
    made: dict = {}  # one layer per distinct view, shared by the members that see it

    def view(box, flip, side):
        if (box, flip, side) in made:
            return made[box, flip, side]
        i, v = len(made), inputs
        if flip:  # the mirror image of the unflipped view, which shares its pad, crop and resize
            v = HorizontalFlip(name=f"view{i}_flip")(view(box, False, side))
        else:
            pad = tuple(tuple(max(0, -m) for m in edge) for edge in box)
            if any(sum(p) for p in pad):
                v = ReflectPad(pad, name=f"view{i}_pad")(v)
            cut = tuple(tuple(max(0, m) for m in edge) for edge in box)
            if any(sum(c) for c in cut):
                v = keras.layers.Cropping2D(cut, name=f"view{i}_crop")(v)
            if tuple(n - sum(edge) for n, edge in zip(input_shape[:2], box)) != side:
                v = keras.layers.Resizing(*side, interpolation="bilinear", name=f"view{i}_resize")(v)
        made[box, flip, side] = v
        return v

    means = []
    for net, c in zip(nets, crops):
        side = (c, c) if c else tuple(input_shape[:2])
        outs = [net(view(box, flip, side)) for box, flip in member_views(input_shape[:2], c, tta)]
        means.append(outs[0] if len(outs) == 1 else keras.layers.Average(name=f"{net.name}_mean")(outs))
    x = means[0] if len(means) == 1 else keras.layers.Average(name="mean")(means)
    if temperature != 1.0:
        x = Temperature(temperature, name="temperature")(x)
    return keras.Model(inputs, x, name=name)
