"""Gradio demo on onnxruntime (no TensorFlow): photos, webcam, videos (emotions over time per track), face
detection, class probabilities."""
