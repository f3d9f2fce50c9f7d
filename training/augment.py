"""Training-time augmentation as Keras layers.

The layers sit in front of the network in the *trainer* model only
(:func:`fer_toolkit.training.train.build_trainer`); the checkpoints and the exported
graph hold the bare network, so augmentation never reaches inference.

Geometric jitter (flip, rotation, shift, zoom) covers the spread of the aligner's crops; photometric jitter
(``photometric``) covers what real photographs bring and FER2013's crops lack: lighting, contrast, blur, sensor
noise and JPEG artefacts.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="fer")
class RandomJpeg(keras.layers.Layer):
    """Re-encode a random fraction of the images as JPEG at a random quality (TensorFlow backend only); in training
    every image leaves it clipped to 0..255, the range the jitter before it may leave.

    Args:
        rate: probability per image.
        quality: ``(low, high)`` JPEG quality range, 1..100.

    Input and output: float ``(B, H, W, C)`` pixels 0..255, ``C`` 1 or 3; identity when ``training=False``.
    """

    def __init__(self, rate: float = 0.3, quality: tuple[int, int] = (20, 90), seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.quality, self.seed = rate, tuple(quality), seed

    def call(self, x, training=None):
        if not training:
            return x
        import tensorflow as tf  # tf.image has the only batched-graph JPEG codec among the backends

        def one(img):
            q = tf.random.uniform((), self.quality[0], self.quality[1] + 1, dtype=tf.int32)
            u8 = tf.cast(tf.clip_by_value(tf.round(img), 0, 255), tf.uint8)
            out = tf.cast(tf.image.adjust_jpeg_quality(u8, q), img.dtype)
            return tf.cond(tf.random.uniform(()) < self.rate, lambda: out, lambda: img)

        x = tf.clip_by_value(tf.convert_to_tensor(x), 0.0, 255.0)
        return tf.map_fn(one, x, fn_output_signature=x.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "quality": list(self.quality), "seed": self.seed}


def build_augmenter(seed: int = 0, rotation: float = 0.05, shift: float = 0.1, zoom: float = 0.1,
                    erasing: float = 0.0, photometric: float = 0.0) -> keras.Sequential:
    """Random horizontal flip, rotation, shift, zoom, (optionally) random erasing and photometric jitter.

    Args:
        rotation: maximum rotation as a fraction of a full turn (0.05 = +-18 degrees).
        shift: maximum shift as a fraction of height/width.
        zoom: maximum zoom in/out as a fraction of the side.
        erasing: probability that a rectangle of 2-20% of the image is filled with
            noise (random erasing, Zhong et al., AAAI 2020).
        photometric: strength 0..1 of the photometric jitter: brightness and contrast up to
            ``photometric * 0.4``, Gaussian blur (sigma up to ``1.5 * photometric``), Gaussian noise
            (std ``8 * photometric`` grey levels) and JPEG re-encoding of ``photometric * 0.5`` of the images
            (quality 20-90). 0 turns it off.

    Returns:
        A model mapping float32 NHWC pixels 0..255 to the same shape; identity
        when called with ``training=False``.

    Raises:
        ValueError: ``photometric`` outside 0..1.
    """
    if not 0 <= photometric <= 1:
        raise ValueError(f"photometric strength must be within 0..1, got {photometric}")
    aug = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomZoom(zoom, zoom, fill_mode="reflect", seed=seed + 3),
    ]
    if photometric > 0:
        s = photometric
        aug += [
            keras.layers.RandomBrightness(0.4 * s, value_range=(0, 255), seed=seed + 5),
            keras.layers.RandomContrast(0.4 * s, value_range=(0, 255), seed=seed + 6),
            keras.layers.RandomGaussianBlur(factor=s, kernel_size=5, sigma=(0.1, 0.1 + 1.5 * s),
                                            value_range=(0, 255), seed=seed + 7),
            keras.layers.Rescaling(1 / 255),  # GaussianNoise takes a stddev within 0..1
            keras.layers.GaussianNoise(8.0 * s / 255, seed=seed + 8),
            keras.layers.Rescaling(255),
            RandomJpeg(0.5 * s, (20, 90), seed=seed + 9),
        ]
    if erasing > 0:
        aug.append(keras.layers.RandomErasing(factor=(erasing, erasing), scale=(0.02, 0.2), fill_value=None,
                                              value_range=(0, 255), seed=seed + 4))
    return keras.Sequential(aug, name="augment")
