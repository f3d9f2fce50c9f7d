"""From a decoded image to per-face class probabilities: the one analysis path of the demo, the workers and the CLI.

Face modes:

- ``auto`` (the default everywhere): detect faces and classify each, aligned, whatever share of the image the
  face covers (a head-and-shoulders portrait and a photo cropped to the face alike: the aligner repeats a tight
  crop's edge pixels where its framing reaches past the image). An image that is itself a small face crop is
  classified whole: one at most twice the model's input size (FER2013's 48x48 crops: not even detected), or
  one with no face found and at most 4 times the input size. Any other image without a face gives no result
  (a ``no_face`` row). The rule was chosen on labelled photos and FER2013 PublicTest (``python -m bench.photos``;
  BENCHMARKS.md, "Real photos").
- ``largest`` / ``all``: detect and classify the largest / every face; none found gives no result.
- ``none``: classify the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from fer_toolkit.fercore.align import DEFAULT_ZOOM, aligned_crop, refine_landmarks
from fer_toolkit.fercore.config import DataConfig
from fer_toolkit.fercore.faces import Box, Face, FaceDetector
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import load_image

if TYPE_CHECKING:
    from fer_toolkit.fercore.options import FaceOptions

FaceMode = Literal["auto", "largest", "all", "none"]
FACE_MODES: tuple[str, ...] = ("auto", "largest", "all", "none")
DEFAULT_FACES: FaceMode = "auto"  # everywhere: the CLI, the API, the demo and the workers
FACE_MARGIN = 0.1  # each side, as a fraction of the box, for unaligned (--no-align) crops
#: ``auto``: an image with no face found is classified whole when its longer side is at most this many times
#: the model's input side (a small crop rather than a photo).
SMALL_FACTOR = 4
#: ``auto``: an image no larger than this many times the model's input side is a crop (FER2013's own 48x48
#: images) and is classified whole without detection.
CROP_FACTOR = 2


class TopClass:
    """``label`` and ``confidence`` of anything with ``probs`` ``{label: probability}``."""

    probs: dict[str, float]

    @property
    def label(self) -> str:
        """The top-1 class."""
        return max(self.probs, key=self.probs.get)

    @property
    def confidence(self) -> float:
        """Probability of the top-1 class, 0..1."""
        return self.probs[self.label]


@dataclass(frozen=True, eq=False)
class FaceResult(TopClass):
    """One classified region.

    Attributes:
        box: the detected face's box, or None when the whole image was classified.
        probs: ``{label: probability}`` in the model's label order.
        score: detector score 0..1 (None for a whole image).
        landmarks: ``(5, 2)`` float32 pixels (see :class:`fer_toolkit.fercore.faces.Face`) or None.
        crop: ``aligned`` (rotated level and framed like FER2013), ``box`` (the box plus a margin) or ``whole``.
        pixels: the model's input for this region, uint8 ``(H, W, C)``.
    """

    box: Box | None
    probs: dict[str, float]
    score: float | None = None
    landmarks: np.ndarray | None = None
    crop: str = "whole"
    pixels: np.ndarray | None = None


def is_face_crop(image: Image.Image, faces: list[Face], input_size: tuple[int, int]) -> bool:
    """``auto``'s test: is ``image`` itself a face crop (to classify whole) rather than an image to detect in?

    True for an image at most :data:`CROP_FACTOR` times the input side, or one in which no face was found
    (``faces`` empty) at most :data:`SMALL_FACTOR` times the input side. An image with a detected face is never
    a crop: aligning its face scored higher than classifying it whole on portraits and on tight face crops.
    """
    if max(image.size) <= CROP_FACTOR * max(input_size):
        return True
    return not faces and max(image.size) <= SMALL_FACTOR * max(input_size)


def face_input(image: Image.Image, face: Face, config: DataConfig, detector: FaceDetector | None = None,
               align: bool = True, zoom: float = DEFAULT_ZOOM,
               margin: float = FACE_MARGIN) -> tuple[np.ndarray, str, np.ndarray | None]:
    """The model input for one face: the crop geometry served, and trained on
    (:mod:`fer_toolkit.training.served_crops` runs training faces through this same function).

    Args:
        config: the model's data config (input size, channels).
        detector: with one, the landmarks are re-measured upright (:func:`~fer_toolkit.fercore.align.refine_landmarks`).

    Returns:
        uint8 ``(H, W, C)`` input, how it was cropped (``aligned`` or ``box``), and the landmarks used.
    """
    h, w = config.input_size
    if align and face.landmarks is not None:
        marks = face.landmarks if detector is None else refine_landmarks(image, face.landmarks, detector)
        plain = image.mode in ("RGB", "L") and "transparency" not in image.info  # else load_image's conversion
        mode = ("L" if config.channels == 1 else "RGB") if plain else None
        crop = aligned_crop(image, marks, (w, h), zoom, mode=mode)
        return load_image(crop, config), "aligned", marks
    box = image.crop(face.box.expand(margin, image.width, image.height))
    return load_image(box, config), "box", face.landmarks


def analyze(image: Image.Image, predictor: Predictor, detector: FaceDetector | None,
            options: FaceOptions | None = None, margin: float = FACE_MARGIN) -> list[FaceResult]:
    """Classify the faces in ``image`` (or the image itself); see the module docstring for the modes.

    Args:
        image: a decoded Pillow image, EXIF orientation already applied
            (:func:`fer_toolkit.fercore.preprocess.open_image`).
        detector: needed unless the face mode is ``none``; its input scale applies.
        options: :class:`~fer_toolkit.fercore.options.FaceOptions` (None: the defaults): the face mode, alignment
            (:mod:`fer_toolkit.fercore.align`; without it, the detector's box grown by ``margin`` on each side),
            the detector's score threshold and the aligned crops' zoom.

    Returns:
        ``[]`` when faces are requested and none is found (nor, in ``auto``, is the image a face crop);
        otherwise one :class:`FaceResult` per region, largest face first.

    Raises:
        ValueError: a detector is needed and missing.
    """
    if options is None:
        from fer_toolkit.fercore.options import FaceOptions

        options = FaceOptions()
    faces, align, zoom = options.faces, options.align, options.zoom
    if faces not in FACE_MODES:
        raise ValueError(f"faces must be one of {', '.join(FACE_MODES)}, got {faces!r}")
    if faces == "none":
        return [_whole(image, predictor)]
    if detector is None:
        raise ValueError("face detection needs a FaceDetector")
    size = predictor.config.input_size
    if faces == "auto" and is_face_crop(image, [], size) and max(image.size) <= CROP_FACTOR * max(size):
        return [_whole(image, predictor)]
    found = detector.detect(image, options.threshold)
    if faces == "auto" and is_face_crop(image, found, size):
        return [_whole(image, predictor)]
    found = found[: 1 if faces == "largest" else None]
    if not found:
        return []
    inputs = [face_input(image, f, predictor.config, detector, align, zoom, margin) for f in found]
    probs = predictor.to_dicts(predictor.predict(np.stack([x for x, _, _ in inputs])))
    return [FaceResult(f.box, p, f.score, marks, how, x) for f, p, (x, how, marks) in zip(found, probs, inputs)]


def _whole(image: Image.Image, predictor: Predictor) -> FaceResult:
    x = predictor.preprocess(image)
    return FaceResult(None, predictor.to_dicts(predictor.predict(x))[0], crop="whole", pixels=x)
