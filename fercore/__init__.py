"""TensorFlow-free core shared by training, export, demo and worker.

It owns the one preprocessing function (:func:`fercore.preprocess.load_image`),
the data config that travels inside the ONNX file (:class:`fercore.config.DataConfig`)
and the onnxruntime predictor (:class:`fercore.predictor.Predictor`).
"""

from fercore.config import FER2013_LABELS, DataConfig
from fercore.preprocess import IMAGE_EXTENSIONS, ImageDecodeError, load_image

__all__ = ["DataConfig", "FER2013_LABELS", "IMAGE_EXTENSIONS", "ImageDecodeError", "load_image"]
__version__ = "0.1.0"
