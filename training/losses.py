"""The training loss (cross-entropy, optionally with knowledge distillation) and its accuracy metric.

Targets ``y_true`` are float rows: one-hot labels ``(B, K)``, or one-hot labels
followed by a teacher's class probabilities ``(B, 2K)`` for distillation. Both
functions are Keras-backend-agnostic and registered for saving.
"""

from __future__ import annotations

import keras
from keras import ops

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="fer")
class DistillationLoss(keras.losses.Loss):
    """``alpha * CE(labels, p) + (1 - alpha) * T^2 * KL(teacher_T || student_T)``.

    Knowledge distillation as in Hinton, Vinyals & Dean, "Distilling the
    Knowledge in a Neural Network" (2015): both distributions are softened with
    temperature ``T`` (``softmax(log p / T)``) and the KL term is scaled by ``T^2``
    so its gradients keep their size. With ``(B, K)`` targets (no teacher) it is
    the cross-entropy with optional label smoothing.

    Args:
        num_classes: ``K``.
        alpha: weight of the hard-label term (1.0: no distillation).
        temperature: ``T`` > 0.
        label_smoothing: applied to the hard labels only.

    ``y_pred`` is the network's softmax output ``(B, K)``, float32.
    """

    def __init__(self, num_classes: int, alpha: float = 0.5, temperature: float = 4.0, label_smoothing: float = 0.0,
                 name: str = "distillation_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if temperature <= 0 or not 0 <= alpha <= 1:
            raise ValueError(f"need temperature > 0 and 0 <= alpha <= 1, got {temperature}, {alpha}")
        self.num_classes, self.alpha, self.temperature = num_classes, alpha, temperature
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        k = self.num_classes
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        log_p = ops.log(ops.clip(y_pred, _EPS, 1.0))
        hard = y_true[:, :k] * (1.0 - self.label_smoothing) + self.label_smoothing / k
        ce = -ops.sum(hard * log_p, axis=-1)
        if y_true.shape[-1] == k:
            return ce
        t = self.temperature
        teacher = ops.softmax(ops.log(ops.clip(y_true[:, k:], _EPS, 1.0)) / t, axis=-1)
        student_log = ops.log_softmax(log_p / t, axis=-1)
        kl = ops.sum(teacher * (ops.log(ops.clip(teacher, _EPS, 1.0)) - student_log), axis=-1)
        return self.alpha * ce + (1.0 - self.alpha) * t * t * kl

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes, "alpha": self.alpha,
                "temperature": self.temperature, "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="fer")
def label_accuracy(y_true, y_pred):
    """Top-1 accuracy against the one-hot part of ``y_true`` (the first ``K`` columns); ``(B,)`` of 0/1."""
    k = ops.shape(y_pred)[-1]
    return ops.cast(ops.equal(ops.argmax(y_true[:, :k], axis=-1), ops.argmax(y_pred, axis=-1)), "float32")
