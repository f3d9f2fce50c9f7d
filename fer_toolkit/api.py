"""The Python API: load a model once, then classify the faces in a path, bytes, PIL image or array.

::

    from fer_toolkit import load_model
    model = load_model()                      # the shipped accurate FER2013 model (accurate=False, int8=True: faster)
    for face in model.analyze("photo.jpg"):   # largest face first
        print(face.box, face.label, round(face.confidence, 3))

It runs the analysis path of the demo and the workers (:func:`fer_toolkit.fercore.analyze.analyze`): YuNet
face detection, alignment, and the ``auto`` face mode by default.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from fer_toolkit.fercore.analyze import FaceMode, FaceResult, analyze
from fer_toolkit.fercore.faces import FaceDetector
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS, ImageSource, open_image
from fer_toolkit.models import default_model
from fer_toolkit.models import model_path as resolve_model


class EmotionModel:
    """An ONNX emotion classifier and the YuNet face detector, loaded once (both onnxruntime, thread-safe).

    Args:
        model_path: ONNX file exported by this project, or a shipped role (``fast``, ``balanced``, ``accurate``:
            the fp32 file; :func:`fer_toolkit.models.model_path`); None: the shipped accurate model (multiscale TTA).
        faces: ``auto`` (default), ``largest``, ``all`` or ``none`` (:mod:`fer_toolkit.fercore.analyze`).
        align: rotate each face level and frame it like FER2013 (False: the detector's box plus a margin).
        face_threshold: YuNet score threshold 0..1.
        max_pixels: larger images are refused (decompression-bomb guard), width x height.

    Raises:
        FileNotFoundError: no such model file. ValueError: not a model exported by this project.
    """

    def __init__(self, model_path: str | Path | None = None, faces: FaceMode = "auto", align: bool = True,
                 face_threshold: float = 0.8, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.predictor = Predictor(resolve_model(model_path or "accurate", int8=False))
        self.detector = FaceDetector(score_threshold=face_threshold)
        self.faces, self.align, self.max_pixels = faces, align, max_pixels

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in the model's output order (from its metadata)."""
        return self.predictor.labels

    def analyze(self, source: ImageSource, faces: FaceMode | None = None) -> list[FaceResult]:
        """Per-face results for one image, largest face first.

        Args:
            source: a path, encoded bytes, a PIL image or a uint8 array ``(H, W)`` / ``(H, W, 3)`` (RGB).
            faces: this call's face mode (None: the model's).

        Returns:
            One :class:`~fer_toolkit.fercore.analyze.FaceResult` per face (``box``, ``landmarks``, ``score``,
            ``probs``, ``label``, ``confidence``), one with ``box=None`` when the image was classified whole,
            or ``[]`` when a photo has no face.

        Raises:
            fer_toolkit.fercore.preprocess.ImageDecodeError: unreadable, corrupt or too large input (one line).
        """
        return self.analyze_image(open_image(source, self.max_pixels), faces)

    def analyze_image(self, image: Image.Image, faces: FaceMode | None = None) -> list[FaceResult]:
        """:meth:`analyze` for an image already decoded by :func:`~fer_toolkit.fercore.preprocess.open_image`
        (EXIF orientation applied, size checked): nothing is decoded again."""
        return analyze(image, self.predictor, self.detector, faces or self.faces, self.align)


def load_model(model_path: str | Path | None = None, int8: bool = False, accurate: bool = True,
               **options) -> EmotionModel:
    """An :class:`EmotionModel` for ``model_path``, or a shipped model: the accurate one (multiscale TTA) by default,
    the fast one with ``accurate=False``, either's INT8 twin with ``int8=True``. ``model_path`` may also name a
    shipped role (``fast``, ``balanced``, ``accurate``), whose INT8 twin ``int8=True`` picks.

    ``options`` go to :class:`EmotionModel` (``faces``, ``align``, ``face_threshold``, ``max_pixels``)."""
    path = resolve_model(model_path, int8) if model_path else default_model(int8, accurate)
    return EmotionModel(path, **options)
