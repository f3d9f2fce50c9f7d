"""TensorFlow-free core shared by training, export, demo and worker.

It owns the one preprocessing function (:func:`fer_toolkit.fercore.preprocess.load_image`),
the data config that travels inside the ONNX file (:class:`fer_toolkit.fercore.config.DataConfig`)
and the onnxruntime predictor (:class:`fer_toolkit.fercore.predictor.Predictor`).
"""

from fer_toolkit.fercore.config import FER2013_LABELS, DataConfig
from fer_toolkit.fercore.preprocess import IMAGE_EXTENSIONS, ImageDecodeError, load_image

__all__ = ["DataConfig", "FER2013_LABELS", "IMAGE_EXTENSIONS", "ImageDecodeError", "load_image"]
__version__ = "0.1.0"
