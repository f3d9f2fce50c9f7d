"""The Python API: load a model once, then classify the faces in a path, bytes, PIL image or array.

::

    from fer_toolkit import load_model
    model = load_model()                      # the API's default model (fer_toolkit.models.DEFAULTS)
    for face in model.analyze("photo.jpg"):   # largest face first
        print(face.box, face.label, round(face.confidence, 3))

It runs the analysis path of ``predict``, the demo and the workers (:func:`fer_toolkit.fercore.analyze.analyze`)
with the same face options (:class:`~fer_toolkit.fercore.options.FaceOptions`): YuNet face detection, alignment,
and the ``auto`` face mode by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from fer_toolkit.fercore.analyze import FaceMode, FaceResult, analyze
from fer_toolkit.fercore.faces import FaceDetector
from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import ImageSource, open_image
from fer_toolkit.models import resolve


class EmotionModel:
    """An ONNX emotion classifier and the YuNet face detector, loaded once (both onnxruntime, thread-safe).

    Args:
        model: an ONNX file exported by this project, or a shipped role (``fast``, ``balanced``, ``accurate``);
            None: ``entry``'s default (:data:`fer_toolkit.models.DEFAULTS`). Resolved once, here, by
            :func:`fer_toolkit.models.resolve`.
        int8: True: the role's static INT8 twin; None/False: a role's fp32 file (with ``model`` None, None keeps
            the default's choice).
        options: the face options (:class:`~fer_toolkit.fercore.options.FaceOptions`; None: the defaults).
        entry: whose default model ``model=None`` means (``api``, ``predict``, ``demo``, ``workers``).
        providers: onnxruntime execution providers (:func:`fer_toolkit.fercore.session.providers`; None:
            ``FER_PROVIDERS``, else the CPU).
        **fields: face option fields that replace those of ``options`` (``faces``, ``align``, ``threshold``,
            ``zoom``, ``max_pixels``).

    Attributes:
        predictor, detector: the classifier and the face detector. options: the face options in use.

    Raises:
        FileNotFoundError: no such model file. ValueError: not a model exported by this project, ``int8`` with a
            file, a face option out of range, or an unavailable execution provider. TypeError: an unknown field.
    """

    def __init__(self, model: str | Path | None = None, int8: bool | None = None,
                 options: FaceOptions | None = None, *, entry: str = "api", providers: str | None = None,
                 **fields: Any):
        self.options = (options or FaceOptions()).replace(**fields)
        self.predictor = Predictor(resolve(model, int8, entry), providers=providers)
        self.detector = FaceDetector(self.options.threshold, providers=providers)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in the model's output order (from its metadata)."""
        return self.predictor.labels

    @property
    def max_pixels(self) -> int:
        """Larger images are refused (width x height): the options' decompression-bomb guard."""
        return self.options.max_pixels

    def analyze(self, source: ImageSource, faces: FaceMode | None = None) -> list[FaceResult]:
        """Per-face results for one image, largest face first.

        Args:
            source: a path, encoded bytes, a PIL image or a uint8 array ``(H, W)`` / ``(H, W, 3)`` (RGB).
            faces: this call's face mode (None: the options').

        Returns:
            One :class:`~fer_toolkit.fercore.analyze.FaceResult` per face (``box``, ``landmarks``, ``score``,
            ``probs``, ``label``, ``confidence``), one with ``box=None`` when the image was classified whole,
            or ``[]`` when a photo has no face.

        Raises:
            fer_toolkit.fercore.preprocess.ImageDecodeError: unreadable, corrupt or too large input (one line).
            ValueError: an unknown face mode.
        """
        return self.analyze_image(open_image(source, self.options.max_pixels), faces)

    def analyze_image(self, image: Image.Image, faces: FaceMode | None = None) -> list[FaceResult]:
        """:meth:`analyze` for an image already decoded by :func:`~fer_toolkit.fercore.preprocess.open_image`
        (EXIF orientation applied, size checked): nothing is decoded again."""
        return analyze(image, self.predictor, self.detector, self.options.replace(faces=faces))

    def analyze_video(self, source, **video: Any):
        """Per-frame results of a video, yielded as its frames are decoded: each sampled frame through
        :meth:`analyze_image`'s path, faces with track ids (:func:`fer_toolkit.fercore.video_analysis.analyze_video`,
        whose keywords ``video`` takes: ``fps``, ``start``, ``end``, ``smoothing`` ...; needs the ``video`` extra).

        Raises:
            fer_toolkit.fercore.video.VideoDecodeError: unreadable, too large, or (after the earlier frames)
                truncated or corrupt video (one line).
        """
        from fer_toolkit.fercore.video_analysis import analyze_video

        return analyze_video(source, self.predictor, self.detector, max_pixels=self.options.max_pixels,
                             options=self.options, **video)


def load_model(model: str | Path | None = None, int8: bool | None = None, options: FaceOptions | None = None,
               **fields: Any) -> EmotionModel:
    """An :class:`EmotionModel`: ``load_model()`` is the API's default model, ``load_model("fast", int8=True)``
    a shipped role's INT8 twin, ``load_model("my.onnx")`` a file; ``options`` and face option ``fields``
    (``faces="all"``, ``threshold=0.9`` ...) as :class:`EmotionModel`'s (``providers`` too).

    Raises:
        see :class:`EmotionModel`.
    """
    return EmotionModel(model, int8, options, **fields)
