"""Keras -> ONNX export with tf2onnx, BatchNorm folding, metadata and a parity check."""
