"""From a decoded image to per-face class probabilities (shared by the demo and the workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from fercore.faces import Box, FaceDetector
from fercore.predictor import Predictor

FaceMode = Literal["none", "largest", "all"]
FACE_MARGIN = 0.1  # each side, as a fraction of the detected box: Haar boxes are tighter than FER2013 crops


@dataclass(frozen=True)
class FaceResult:
    """One classified region: a detected face (``box``) or the whole image (``box`` is None)."""

    box: Box | None
    probs: dict[str, float]

    @property
    def label(self) -> str:
        """The top-1 class."""
        return max(self.probs, key=self.probs.get)

    @property
    def confidence(self) -> float:
        """Probability of the top-1 class, 0..1."""
        return self.probs[self.label]


def analyze(image: Image.Image, predictor: Predictor, detector: FaceDetector | None,
            faces: FaceMode = "all", margin: float = FACE_MARGIN) -> list[FaceResult]:
    """Classify the faces in ``image`` (or the image itself).

    Args:
        image: a decoded Pillow image, EXIF orientation already applied
            (:func:`fercore.preprocess.open_image`).
        faces: ``none`` classifies the whole image; ``largest`` / ``all`` detect
            faces and classify the largest / every one, each cropped with ``margin``.

    Returns:
        ``[]`` when faces are requested and none is found; otherwise one
        :class:`FaceResult` per region, largest face first.

    Raises:
        ValueError: ``faces`` is not none/largest/all, or a detector is needed and missing.
    """
    if faces == "none":
        return [FaceResult(None, predictor.to_dicts(predictor.predict(predictor.preprocess(image)))[0])]
    if faces not in ("largest", "all"):
        raise ValueError(f"faces must be none, largest or all, got {faces!r}")
    if detector is None:
        raise ValueError("face detection needs a FaceDetector")
    boxes = detector.detect(image)[: 1 if faces == "largest" else None]
    if not boxes:
        return []
    crops = [predictor.preprocess(image.crop(b.expand(margin, image.width, image.height))) for b in boxes]
    probs = predictor.to_dicts(predictor.predict(np.stack(crops)))
    return [FaceResult(b, p) for b, p in zip(boxes, probs)]
