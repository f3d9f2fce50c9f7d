"""Run an exported ONNX model with onnxruntime; labels and input size come from the model file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from fer_toolkit.fercore.config import DataConfig
from fer_toolkit.fercore.preprocess import ImageSource, load_image
from fer_toolkit.fercore.session import session


def model_id(path: str | Path) -> str:
    """``<file name>@<first 12 hex digits of its sha256>``: names exactly which model scored."""
    h = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{Path(path).name}@{h[:12]}"


class Predictor:
    """An onnxruntime session plus the data config read from the model's metadata.

    Create one per process and reuse it: the session is thread-safe for ``run``.

    Args:
        model_path: ONNX file written by ``python -m fer_toolkit.export``.
        intra_op_threads: onnxruntime intra-op threads (0 = onnxruntime's default,
            one per core); use 1 when running one process per core.
        providers: onnxruntime execution providers (:func:`fer_toolkit.fercore.session.providers`; None:
            ``FER_PROVIDERS``, else the CPU).

    Attributes:
        config: :class:`DataConfig` (labels, input size, channels) from ``metadata_props``.
        metadata: every ``metadata_props`` entry as ``{key: str}``.
        input_name, output_name: read from the session, never hard-coded.
        model_id: see :func:`model_id`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the model lacks the metadata this project writes, or an unavailable execution provider
            (``ProviderError``).
    """

    def __init__(self, model_path: str | Path, intra_op_threads: int = 0, providers: str | None = None):
        path = Path(model_path)
        self.session = session(path, intra_op_threads, providers)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = DataConfig.from_metadata(self.metadata)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.path = path
        self.model_id = model_id(path)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in output order."""
        return self.config.labels

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch.

        Args:
            batch: ``(N, H, W, C)`` (or one ``(H, W, C)`` image) of pixel values
                0..255, any numeric dtype; shape must match ``config.input_shape``.

        Returns:
            float32 ``(N, K)`` softmax probabilities, rows summing to 1.

        Raises:
            ValueError: wrong shape.
        """
        x = np.asarray(batch)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self.config.input_shape:
            raise ValueError(f"expected (N, {', '.join(map(str, self.config.input_shape))}) input, got {x.shape}")
        return self.session.run([self.output_name], {self.input_name: x.astype(np.float32, copy=False)})[0]

    def preprocess(self, source: ImageSource, max_pixels: int | None = None) -> np.ndarray:
        """:func:`fer_toolkit.fercore.load_image` with this model's data config: uint8 ``(H, W, C)``."""
        kw = {} if max_pixels is None else {"max_pixels": max_pixels}
        return load_image(source, self.config, **kw)

    def classify(self, sources: Iterable[ImageSource], batch_size: int = 256) -> list[dict[str, float]]:
        """``{label: probability}`` per image, in input order.

        Raises:
            fercore.ImageDecodeError: an input is not a readable image.
        """
        items = list(sources)
        out: list[dict[str, float]] = []
        for i in range(0, len(items), batch_size):
            batch = np.stack([self.preprocess(s) for s in items[i:i + batch_size]])
            out.extend(self.to_dicts(self.predict(batch)))
        return out

    def to_dicts(self, probs: np.ndarray) -> list[dict[str, float]]:
        """Rows of ``(N, K)`` probabilities as ``{label: float}`` dicts."""
        return [dict(zip(self.labels, map(float, row))) for row in probs]


def top_k(probs: dict[str, float], k: int = 3) -> Sequence[tuple[str, float]]:
    """The ``k`` most probable ``(label, probability)`` pairs, highest first."""
    return sorted(probs.items(), key=lambda kv: -kv[1])[:k]
