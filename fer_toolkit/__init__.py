"""fer-toolkit: facial emotion recognition you can train, export, try and run at scale.

One import namespace for the toolkit's folders (``pyproject.toml`` maps them): ``fer_toolkit.fercore``
(TensorFlow-free core), ``fer_toolkit.training``, ``fer_toolkit.export``, ``fer_toolkit.demo``,
``fer_toolkit.worker`` and ``fer_toolkit.models`` (the shipped models and their resolver). The names below are
the Python API (:mod:`fer_toolkit.api`); importing them loads neither TensorFlow, Gradio nor Celery.
"""

from fer_toolkit.api import EmotionModel, load_model
from fer_toolkit.fercore.analyze import FaceResult
from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.preprocess import ImageDecodeError
from fer_toolkit.models import resolve as resolve_model

__all__ = ["EmotionModel", "FaceOptions", "FaceResult", "ImageDecodeError", "load_model", "resolve_model"]
__version__ = "0.2.0"
