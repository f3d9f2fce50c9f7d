"""Temperature scaling, ECE and the distillation loss, on real FER2013 predictions and exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from fer_toolkit.training.calibration import apply_temperature, expected_calibration_error, fit_temperature, nll


@pytest.fixture(scope="module")
def real_probs(fer):
    """The shipped model's probabilities on 1,000 PublicTest images, and their labels."""
    from fer_toolkit.fercore.predictor import Predictor
    from tests.conftest import SHIPPED_MODEL

    x, y = fer["x_val"][:1000, :, :, None], fer["y_val"][:1000]
    return Predictor(SHIPPED_MODEL).predict(x), y


def test_temperature_never_changes_the_argmax(real_probs):
    probs, _ = real_probs
    for t in (0.25, 0.8, 1.0, 1.7, 5.0):
        scaled = apply_temperature(probs, t)
        assert (scaled.argmax(1) == probs.argmax(1)).all(), t
        assert np.allclose(scaled.sum(1), 1)


def test_fitted_temperature_lowers_nll_and_ece_on_its_split(real_probs):
    probs, y = real_probs
    t = fit_temperature(probs, y)
    scaled = apply_temperature(probs, t)
    assert t != pytest.approx(1.0, abs=0.01)
    assert nll(scaled, y) < nll(probs, y)
    assert expected_calibration_error(scaled, y) < expected_calibration_error(probs, y)


def test_ece_exact_cases():
    y = np.array([0] * 8 + [1] * 2)
    p = np.tile([0.8, 0.2], (10, 1))  # always class 0 at 80% confidence, right 8 times in 10
    assert expected_calibration_error(p, y) == pytest.approx(0.0, abs=1e-12)
    sure = np.tile([1.0, 0.0], (10, 1))  # 100% confident, 80% right
    assert expected_calibration_error(sure, y) == pytest.approx(0.2)


def test_graph_temperature_layer_equals_numpy(real_probs):
    from fer_toolkit.training.inference import Temperature

    probs, _ = real_probs
    got = np.asarray(Temperature(1.7)(probs.astype(np.float32)))
    assert np.abs(got - apply_temperature(probs, 1.7)).max() < 1e-5


def test_distillation_loss():
    import keras

    from fer_toolkit.training.losses import DistillationLoss

    rng = np.random.default_rng(0)
    student = rng.dirichlet(np.ones(7), size=16).astype(np.float32)
    onehot = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 16)]
    ce = keras.losses.CategoricalCrossentropy()(onehot, student)
    assert float(DistillationLoss(7, alpha=1.0)(onehot, student)) == pytest.approx(float(ce), rel=1e-5)
    # a teacher identical to the student adds nothing; a different teacher adds a positive KL term
    same = np.concatenate([onehot, student], axis=1)
    other = np.concatenate([onehot, rng.dirichlet(np.ones(7), size=16).astype(np.float32)], axis=1)
    half = 0.5 * float(ce)
    assert float(DistillationLoss(7, alpha=0.5, temperature=4)(same, student)) == pytest.approx(half, rel=1e-4)
    assert float(DistillationLoss(7, alpha=0.5, temperature=4)(other, student)) > half + 1e-3
