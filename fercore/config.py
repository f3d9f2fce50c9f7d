"""The data config: input size, channels, labels and pixel range of a model.

One :class:`DataConfig` is resolved for training (from CLI options and the data
folder), saved beside the Keras model, written into the ONNX ``metadata_props``
at export, and read back by the predictor when serving, so preprocessing has one
source of truth (the pattern of timm's ``resolve_data_config``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Mapping

#: FER2013 classes in alphabetical (image-folder) order, the order of ``fer2013.npz``.
FER2013_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Original ``fer2013.csv`` label index -> alphabetical index
#: (CSV order: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral).
FER2013_CSV_TO_ALPHABETICAL: tuple[int, ...] = (0, 1, 2, 3, 5, 6, 4)


@dataclass(frozen=True)
class DataConfig:
    """What a model expects as input and what its outputs mean.

    Attributes:
        input_size: ``(height, width)`` in pixels.
        channels: 1 (grayscale, Pillow mode ``L``) or 3 (RGB).
        labels: class names in output-index order.
        pixel_range: the model input's value range; the network rescales to
            0..1 itself (a ``Rescaling(1/255)`` first layer), so inputs are raw
            float32 pixel values 0..255, NHWC.
    """

    input_size: tuple[int, int] = (48, 48)
    channels: int = 1
    labels: tuple[str, ...] = FER2013_LABELS
    pixel_range: tuple[float, float] = field(default=(0.0, 255.0))

    def __post_init__(self) -> None:
        h, w = self.input_size
        if h < 8 or w < 8:
            raise ValueError(f"input_size must be at least 8x8 pixels, got {h}x{w}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be at least 2 distinct names, got {list(self.labels)}")

    @property
    def num_classes(self) -> int:
        """Number of output classes."""
        return len(self.labels)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Per-image NHWC shape without the batch dimension: ``(H, W, C)``."""
        return (self.input_size[0], self.input_size[1], self.channels)

    def to_metadata(self) -> dict[str, str]:
        """String key/values for ONNX ``metadata_props`` (JSON-encoded lists)."""
        return {
            "labels": json.dumps(list(self.labels)),
            "input_size": json.dumps(list(self.input_size)),
            "channels": str(self.channels),
            "color_mode": "grayscale" if self.channels == 1 else "rgb",
            "pixel_range": json.dumps(list(self.pixel_range)),
            "layout": "NHWC",
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> "DataConfig":
        """Inverse of :meth:`to_metadata`.

        Raises:
            ValueError: if ``labels``, ``input_size`` or ``channels`` is missing.
        """
        missing = [k for k in ("labels", "input_size", "channels") if k not in meta]
        if missing:
            raise ValueError(f"model metadata lacks {', '.join(missing)}; was it exported by this project?")
        return cls(
            input_size=tuple(json.loads(meta["input_size"])),
            channels=int(meta["channels"]),
            labels=tuple(json.loads(meta["labels"])),
            pixel_range=tuple(json.loads(meta.get("pixel_range", "[0, 255]"))),
        )

    def to_json(self) -> dict:
        """JSON-native dict (for the training config file)."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping) -> "DataConfig":
        """Inverse of :meth:`to_json`."""
        return cls(
            input_size=tuple(d["input_size"]),
            channels=int(d["channels"]),
            labels=tuple(d["labels"]),
            pixel_range=tuple(d.get("pixel_range", (0.0, 255.0))),
        )
