"""A short real training run, its evaluation, the ONNX export and its metadata."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx

from fercore import FER2013_LABELS
from fercore.predictor import Predictor
from training.data import load_split


def test_short_training_clearly_beats_majority_baseline(tiny_run):
    m = json.loads((tiny_run / "metrics_test.json").read_text())
    assert m["n"] == 600
    # majority class (happy) is 25% of this slice; measured here: 46.7% after 10 epochs
    assert m["top1_accuracy"] > m["majority_baseline"] + 0.10, m["top1_accuracy"]
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (7, 7) and cm.sum() == 600 and np.trace(cm) == round(m["top1_accuracy"] * 600)
    assert set(m["per_class"]) == set(FER2013_LABELS)
    for name in ("best.keras", "last.keras", "history.csv", "config.json", "train_summary.json",
                 "curves.png", "confusion_matrix_test.png"):
        assert (tiny_run / name).stat().st_size > 0, name
    assert (tiny_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_from_last_epoch(tiny_run, tmp_path):
    from training.config import TrainConfig
    from training.train import train

    run = shutil.copytree(tiny_run, tmp_path / "run")
    cfg = json.loads((run / "config.json").read_text())["train"]
    cfg.update(out=str(run), epochs=cfg["epochs"] + 1, widths=tuple(cfg["widths"]), input_size=tuple(cfg["input_size"]))
    train(TrainConfig(**cfg), resume=True)
    history = (run / "history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + cfg["epochs"]  # header + one row per epoch, no restart from epoch 1
    assert json.loads((run / "state.json").read_text())["epochs_done"] == cfg["epochs"]


def test_export_parity_and_metadata_round_trip(tiny_onnx, tiny_run, small_tree):
    proto = onnx.load(tiny_onnx)
    onnx.checker.check_model(proto)
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" not in ops
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    parity = json.loads((tiny_run / "export_parity.json").read_text())
    assert parity["n"] == 600 and parity["top1_agreement"] == 1.0 and parity["max_abs_diff"] <= 1e-4

    p = Predictor(tiny_onnx)
    assert p.labels == FER2013_LABELS and p.config.input_shape == (48, 48, 1)
    metrics = json.loads((tiny_run / "metrics_test.json").read_text())
    assert p.metadata["test_top1_accuracy"] == f"{metrics['top1_accuracy']:.4f}"
    assert {"training_data", "model_version", "exported_at", "input_size", "channels"} <= set(p.metadata)

    # ONNX top-1 on the test slice equals the Keras evaluation
    test = load_split(small_tree / "test", p.config, small_tree)
    probs = p.predict(test.x)
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert abs((probs.argmax(1) == test.y).mean() - metrics["top1_accuracy"]) < 1e-9
    # the INT8 model sits beside it with the same labels
    q = Predictor(tiny_onnx.with_suffix(".int8.onnx"))
    assert q.labels == p.labels and parity["int8"]["top1_agreement_with_fp32"] > 0.9
    # file-path classification goes through the same preprocessing
    first = p.classify([small_tree / test.paths[0]])[0]
    assert max(first, key=first.get) == p.labels[probs[0].argmax()]
