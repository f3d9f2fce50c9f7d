"""Gradio demo on onnxruntime (no TensorFlow): photos, webcam, face detection, class probabilities."""
