"""The model in models/ is what its card says it is, measured again on the full PrivateTest split."""

from __future__ import annotations

import json
import re

import pytest

from fer_toolkit.fercore import FER2013_LABELS
from fer_toolkit.fercore.predictor import Predictor
from tests.conftest import SHIPPED_MODEL

CARD = SHIPPED_MODEL.parent / "README.md"


@pytest.fixture(scope="module")
def shipped():
    if not SHIPPED_MODEL.is_file():
        pytest.fail(f"{SHIPPED_MODEL} is missing: the repository must ship a trained model")
    return Predictor(SHIPPED_MODEL)


def test_metadata(shipped):
    assert shipped.labels == FER2013_LABELS
    assert shipped.config.input_shape == (48, 48, 1)
    assert shipped.input_name == "pixels"
    for key in ("training_data", "test_top1_accuracy", "model_version", "exported_at"):
        assert shipped.metadata.get(key), key


def test_private_test_top1_matches_model_card(shipped, fer):
    probs = shipped.predict(fer["x_test"][..., None])
    top1 = float((probs.argmax(1) == fer["y_test"]).mean())
    card = float(re.search(r"Top-1 accuracy (\d+\.\d+)%", CARD.read_text()).group(1)) / 100
    meta = float(shipped.metadata["test_top1_accuracy"])
    metrics = json.loads((SHIPPED_MODEL.parent / "metrics_test.json").read_text())
    assert metrics["n"] == len(fer["y_test"]) == 3589
    assert abs(top1 - card) <= 0.005 and abs(top1 - meta) <= 0.005, (top1, card, meta)
    assert top1 >= 0.66, "below the bar of issue 2 (PrivateTest top-1 >= 66%)"


def test_samples_classify(shipped):
    from tests.conftest import SAMPLES

    files = sorted(SAMPLES.glob("*.png")) if SAMPLES.is_dir() else []
    if not files:
        pytest.skip(f"no sample images at {SAMPLES}")
    results = shipped.classify(files)
    assert len(results) == len(files) == 21
    hits = sum(max(r, key=r.get) == f.stem.split("_")[0] for r, f in zip(results, files))
    assert all(abs(sum(r.values()) - 1) < 1e-4 for r in results)
    assert hits >= 10, f"only {hits}/21 shared samples right"


def test_int8_model_agrees_with_fp32(shipped, fer):
    int8 = Predictor(SHIPPED_MODEL.with_suffix(".int8.onnx"))
    assert int8.labels == shipped.labels and int8.config == shipped.config
    assert "QDQ" in int8.metadata["quantization"]
    x = fer["x_test"][..., None]
    p32, p8 = shipped.predict(x).argmax(1), int8.predict(x).argmax(1)
    # issue 5's bar; the shipped INT8 model (7-bit weights) measured 98.44% on an AVX2 CPU (models/export_parity.json)
    assert (p32 == p8).mean() >= 0.98
    assert abs((p8 == fer["y_test"]).mean() - (p32 == fer["y_test"]).mean()) <= 0.005, "INT8 top-1 off by > 0.5 pt"
    assert abs(float(int8.metadata["test_top1_accuracy"]) - (p8 == fer["y_test"]).mean()) <= 0.005
