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


def test_input_rescaling_folds_into_first_conv_before_int8(tiny_onnx, small_tree, tmp_path):
    from onnx import numpy_helper

    from export.graph import fold_input_scale

    proto = onnx.load(tiny_onnx)
    before = [n.op_type for n in proto.graph.node]
    assert before[:2] == ["Mul", "Add"]  # tf2onnx's Rescaling(1/255)
    assert fold_input_scale(proto)
    assert [n.op_type for n in proto.graph.node] == before[2:]
    onnx.save(proto, tmp_path / "folded.onnx")
    x = load_split(small_tree / "test", Predictor(tiny_onnx).config, small_tree).x
    ref, got = Predictor(tiny_onnx).predict(x), Predictor(tmp_path / "folded.onnx").predict(x)
    assert np.abs(ref - got).max() < 1e-5 and (ref.argmax(1) == got.argmax(1)).all()
    assert not fold_input_scale(proto)  # nothing left to fold: graph untouched

    # in the INT8 file, raw 0..255 pixels are quantized with scale 1 and zero point 0: exactly
    q = onnx.load(tiny_onnx.with_suffix(".int8.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    first_q = next(n for n in q.graph.node if n.op_type == "QuantizeLinear")
    assert float(inits[first_q.input[1]]) == 1.0 and int(inits[first_q.input[2]]) == 0


def test_int8_only_requantizes_without_touching_fp32(tiny_onnx, tiny_run, tmp_path):
    import hashlib
    import subprocess
    import sys

    from tests.conftest import ROOT

    run = shutil.copytree(tiny_run, tmp_path / "run")
    fp32 = run / tiny_onnx.name
    (run / "tiny.int8.onnx").unlink()
    sha = hashlib.sha256(fp32.read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, "-m", "export", "--run", str(run), "--out", str(fp32), "--int8-only",
                           "--no-card"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(fp32.read_bytes()).hexdigest() == sha
    q = json.loads((run / "export_parity.json").read_text())["int8"]
    assert q["path"] == str(run / "tiny.int8.onnx") and q["n"] == 600 and q["calibration_images"] == 500
    assert Predictor(q["path"]).labels == FER2013_LABELS
    assert f"agreement with fp32 {q['top1_agreement_with_fp32']:.2%}" in proc.stdout


def test_model_card_reports_both_files_from_the_run(tiny_onnx, tiny_run, tmp_path):
    from export.card import write_card

    fp32 = tmp_path / "m.onnx"
    shutil.copyfile(tiny_onnx, fp32)
    shutil.copyfile(tiny_onnx.with_suffix(".int8.onnx"), tmp_path / "m.int8.onnx")
    card = write_card(tiny_run, fp32, note="A note.").read_text()
    m = json.loads((tiny_run / "metrics_test.json").read_text())
    q = json.loads((tiny_run / "export_parity.json").read_text())["int8"]
    assert f"Top-1 accuracy {m['top1_accuracy']:.2%}" in card and "A note." in card
    int8_row = next(line for line in card.splitlines() if line.startswith("| `m.int8.onnx`"))
    ips = q["images_per_second_batch256"]
    assert f"{q['top1_agreement_with_fp32']:.2%}" in int8_row
    assert f"{ips['int8']:,.0f} ({ips['int8'] / ips['fp32']:.2f}x)" in int8_row
    for name in ("metrics_test.json", "confusion_matrix_test.png", "training_curves.png", "export_parity.json"):
        assert (tmp_path / name).stat().st_size > 0, name
