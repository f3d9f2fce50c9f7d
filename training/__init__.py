"""Training package: data loading, the CNN, the fit loop and evaluation (needs TensorFlow)."""
