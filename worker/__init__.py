"""Batch scoring of image folders into CSV reports: Celery workers on Redis, or in-process.

TensorFlow-free: the workers install the ``worker`` extra (celery[redis],
onnxruntime, numpy, pillow, tqdm).
"""
