"""A short real training run, its evaluation, the ONNX export and its metadata."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import onnx
import pytest
from PIL import Image

from fer_toolkit.fercore import FER2013_LABELS
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.training.data import load_split


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
    from fer_toolkit.training.config import TrainConfig
    from fer_toolkit.training.train import train

    run = shutil.copytree(tiny_run, tmp_path / "run")
    cfg = json.loads((run / "config.json").read_text())["train"]
    cfg.update(out=str(run), epochs=cfg["epochs"] + 1, widths=tuple(cfg["widths"]), input_size=tuple(cfg["input_size"]))
    train(TrainConfig(**cfg), resume=True)
    history = (run / "history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + cfg["epochs"]  # header + one row per epoch, no restart from epoch 1
    assert json.loads((run / "state.json").read_text())["epochs_done"] == cfg["epochs"]


def test_export_parity_and_metadata_round_trip(tiny_onnx, tiny_run, small_tree):
    from fer_toolkit.export.metadata import report_path

    proto = onnx.load(tiny_onnx)
    onnx.checker.check_model(proto)
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" not in ops
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    report = json.loads(report_path(tiny_onnx).read_text())
    parity = report["parity"]
    assert parity["split"] == "val" and parity["n"] == 600
    assert parity["top1_agreement"] == 1.0 and parity["max_abs_diff"] <= 1e-4

    p = Predictor(tiny_onnx)
    assert p.labels == FER2013_LABELS and p.config.input_shape == (48, 48, 1)
    assert float(p.metadata["temperature"]) == round(report["temperature"], 4) > 0
    assert p.metadata["test_top1_accuracy"] == f"{report['test']['top1_accuracy']:.4f}"
    keys = {"training_data", "model_version", "exported_at", "input_size", "channels", "members", "tta"}
    assert keys <= set(p.metadata)

    # the calibrated ONNX file has the top-1 of the uncalibrated Keras evaluation: temperature keeps the argmax
    metrics = json.loads((tiny_run / "metrics_test.json").read_text())
    test = load_split(small_tree / "test", p.config, small_tree)
    probs = p.predict(test.x)
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert abs((probs.argmax(1) == test.y).mean() - metrics["top1_accuracy"]) < 1e-9
    assert report["test"]["n"] == 600 and 0 <= report["test"]["ece"] <= 1
    assert report["privatetest_evaluations"] >= 1
    for plot in report["test"]["plots"].values():
        assert (tiny_onnx.parent / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the INT8 model sits beside it with the same labels
    q = Predictor(tiny_onnx.with_suffix(".int8.onnx"))
    assert q.labels == p.labels and report["int8"]["top1_agreement_with_fp32"] > 0.9
    # file-path classification goes through the same preprocessing
    first = p.classify([small_tree / test.paths[0]])[0]
    assert max(first, key=first.get) == p.labels[probs[0].argmax()]


def test_input_rescaling_folds_into_first_conv_before_int8(tiny_onnx, small_tree, tmp_path):
    from onnx import numpy_helper

    from fer_toolkit.export.graph import fold_input_scale

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


def test_ensemble_without_views_folds_the_scale_into_every_member_and_int8_agrees(tiny_run, small_tree, tmp_path):
    """Two members and no test-time views: tf2onnx shares one input ``Mul`` between both first Convs, so the
    fold scales both (scaling one left the other on raw 0..255 pixels: INT8 top-1 13.7% on PublicTest).
    Without PrivateTest evaluation the INT8 twin is measured on PublicTest and no ledger is written."""
    from fer_toolkit.export.graph import fold_input_scale
    from fer_toolkit.export.onnx_export import export_run

    twin = tmp_path / "twin"
    shutil.copytree(tiny_run, twin)
    out = tmp_path / "pair.onnx"
    report = export_run([tiny_run, twin], out, evaluate_test=False)
    proto = onnx.load(out)
    assert fold_input_scale(proto) and "Mul" not in [n.op_type for n in proto.graph.node][:3]
    onnx.save(proto, tmp_path / "folded.onnx")
    x = load_split(small_tree / "val", Predictor(out).config, small_tree).x
    ref, got = Predictor(out).predict(x), Predictor(tmp_path / "folded.onnx").predict(x)
    assert np.abs(ref - got).max() < 1e-5  # both members' Convs took the scale
    q = report["int8"]
    assert q["n"] == report["val"]["n"] and "test" not in report
    # the single tiny network's bar (above); this pair of near-tied tiny networks agreed on 93.7% on an Intel Xeon
    assert q["top1_agreement_with_fp32"] > 0.9 and q["top1_accuracy"] > 0.9 * q["fp32_top1_accuracy"]
    assert not (tmp_path / "privatetest_evaluations.json").exists()


def test_int8_only_requantizes_without_touching_fp32(tiny_onnx, tmp_path):
    import subprocess
    import sys

    from fer_toolkit.export.metadata import report_path
    from tests.conftest import ROOT

    fp32 = tmp_path / tiny_onnx.name
    shutil.copyfile(tiny_onnx, fp32)
    shutil.copyfile(report_path(tiny_onnx), report_path(fp32))
    sha = hashlib.sha256(fp32.read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, "-m", "fer_toolkit.export", "--out", str(fp32), "--int8-only", "--no-card"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(fp32.read_bytes()).hexdigest() == sha
    q = json.loads(report_path(fp32).read_text())["int8"]
    assert q["path"] == str(tmp_path / "tiny.int8.onnx") and q["n"] == 600 and q["calibration_images"] == 500
    assert Predictor(q["path"]).labels == FER2013_LABELS
    assert f"agreement with fp32 {q['top1_agreement_with_fp32']:.2%}" in proc.stdout


def test_model_card_is_named_after_its_model_and_reports_both_files(tiny_onnx, tmp_path):
    from fer_toolkit.export.card import write_card
    from fer_toolkit.export.metadata import report_path

    fp32 = tmp_path / "m.onnx"
    shutil.copyfile(tiny_onnx, fp32)
    shutil.copyfile(report_path(tiny_onnx), report_path(fp32))
    (tmp_path / "README.md").write_text("another model's card")
    card_file = write_card(fp32, note="A note.")
    assert card_file == tmp_path / "m.md" and (tmp_path / "README.md").read_text() == "another model's card"
    card = card_file.read_text()
    r = json.loads(report_path(fp32).read_text())
    t, q = r["test"], r["int8"]
    assert f"Top-1 accuracy {t['top1_accuracy']:.2%}, macro-F1 {t['macro_f1']:.3f}, ECE {t['ece']:.3f}" in card
    assert "A note." in card and f"T = {r['temperature']:.4f}" in card
    assert f"top-1 agreement\nwith fp32 {q['top1_agreement_with_fp32']:.2%}" in card
    assert f"INT8 {q['images_per_second_batch256']['int8']:,.0f}" in card


def test_recover_run_from_an_export_then_export_it_with_flip(tiny_onnx, tiny_run, small_tree, tmp_path):
    """``export --from-onnx``: the bare network comes back from a calibrated export, exactly, and exports again."""
    from fer_toolkit.export.onnx_export import export_run
    from fer_toolkit.export.recover import recover_run

    recover_run(tiny_onnx, tmp_path / "rec", small_tree)
    cfg = json.loads((tmp_path / "rec" / "config.json").read_text())
    rec = cfg["recovered_from"]
    assert rec["val_top1_agreement"] == 1.0 and rec["val_max_abs_diff"] <= 1e-4 and rec["temperature_dropped"] > 0
    assert cfg["network"]["widths"] == json.loads((tiny_run / "config.json").read_text())["network"]["widths"]
    flip = tmp_path / "flip.onnx"
    report = export_run(tmp_path / "rec", flip, tta="flip", int8=False, evaluate_test=False)
    assert report["parity"]["top1_agreement"] == 1.0 and Predictor(flip).metadata["tta"] == "flip"
    x = np.stack([np.asarray(Image.open(f).convert("L")) for f in sorted((small_tree / "val").rglob("*.png"))[:64]])
    p = Predictor(flip)
    assert np.abs(p.predict(x[..., None]) - p.predict(x[:, :, ::-1, None])).max() <= 1e-5  # the mean over the mirror


def test_recover_takes_the_recipe_beside_a_file_only_where_it_is_that_networks(tiny_onnx, tiny_run, small_tree,
                                                                                tmp_path):
    """The training options and summary saved beside an export describe the recovered run only where the summary's
    PublicTest top-1 is the network's own: ``models/`` keeps v2 base's beside the student, which must not inherit
    them. Otherwise the run records its architecture only, and the card of a new export says the recipe is unknown."""
    from fer_toolkit.export.card import write_card
    from fer_toolkit.export.onnx_export import export_run
    from fer_toolkit.export.recover import recover_run

    cfg = json.loads((tiny_run / "config.json").read_text())
    summary = json.loads((tiny_run / "train_summary.json").read_text())
    for name, best in (("own", summary["best_val_accuracy"]), ("other", summary["best_val_accuracy"] - 0.05)):
        (tmp_path / name).mkdir()
        shutil.copyfile(tiny_onnx, tmp_path / name / "m.onnx")
        (tmp_path / name / "training_config.json").write_text(json.dumps(cfg))
        (tmp_path / name / "train_summary.json").write_text(json.dumps({**summary, "best_val_accuracy": best}))
        recover_run(tmp_path / name / "m.onnx", tmp_path / f"rec_{name}", small_tree)
    own = json.loads((tmp_path / "rec_own" / "config.json").read_text())
    assert own["recovered_from"]["recipe"] and (own["train"]["epochs"], own["train"]["lr"]) == (10, 1e-3)
    assert json.loads((tmp_path / "rec_own" / "train_summary.json").read_text()) == summary
    other = json.loads((tmp_path / "rec_other" / "config.json").read_text())
    assert other["recovered_from"]["recipe"] is None and not (tmp_path / "rec_other" / "train_summary.json").exists()
    assert other["network"]["widths"] == [16, 32, 64] and other["hardware"] == "n/a"
    export_run(tmp_path / "rec_other", tmp_path / "again.onnx", int8=False, evaluate_test=False)
    card = write_card(tmp_path / "again.onnx").read_text()
    sha = hashlib.sha256((tmp_path / "other" / "m.onnx").read_bytes()).hexdigest()[:12]
    assert f"- `rec_other`: recovered exactly from `m.onnx` (model version test, sha256 `{sha}`)" in card
    assert "(`fer-toolkit export --from-onnx`); that file does not carry its training recipe" in card
    assert "epochs of" not in card


def test_recover_refuses_a_tta_export(tmp_path, small_tree):
    from fer_toolkit.export.recover import recover_run
    from fer_toolkit.models import resolve

    with pytest.raises(ValueError, match="test-time views"):
        recover_run(resolve("accurate"), tmp_path / "rec", small_tree)


def test_a_recovered_network_trains_on_from_where_it_was(tiny_onnx, tiny_run, small_tree, tmp_path):
    """``train --init``: a warm restart from a recovered export keeps its accuracy through a first epoch of
    training (BatchNorm in training mode uses batch statistics, which undo the folded scales unless the
    recovery set them); a network of other widths is refused."""
    import keras

    from fer_toolkit.export.recover import recover_run
    from fer_toolkit.training.config import TrainConfig
    from fer_toolkit.training.model import build_model
    from fer_toolkit.training.train import train
    from fer_toolkit.training.warm_start import init_weights, saved_network

    recover_run(tiny_onnx, tmp_path / "rec", small_tree)
    before = json.loads((tiny_run / "train_summary.json").read_text())["best_val_accuracy"]
    cfg = TrainConfig(data=str(small_tree), out=str(tmp_path / "warm"), epochs=1, batch_size=32, lr=1e-4,
                      warmup_steps=10, widths=(16, 32, 64), head_units=64, block_dropout=0.0, head_dropout=0.2,
                      augment=False, init=str(tmp_path / "rec" / "best.keras"))
    train(cfg)
    after = json.loads((tmp_path / "warm" / "train_summary.json").read_text())["best_val_accuracy"]
    cfg.init, cfg.out = "", str(tmp_path / "cold")
    train(cfg)
    cold = json.loads((tmp_path / "cold" / "train_summary.json").read_text())["best_val_accuracy"]
    assert after >= before - 0.05 and after > cold + 0.15, (before, after, cold)  # 600 val images: +-2 points
    other = build_model((48, 48, 1), 7, widths=(8, 16, 32), head_units=64)
    with pytest.raises(ValueError, match="does not match"):
        init_weights(other, saved_network(tmp_path / "rec" / "best.keras"))
    with pytest.raises(FileNotFoundError):
        saved_network(tmp_path / "missing.keras")
    assert isinstance(other, keras.Model)


def test_ensemble_table_matches_the_exported_graph(tiny_onnx, tiny_run, small_tree):
    """``training.ensembles``: a run's one-pass top-1 is its export's PublicTest top-1; every combination is listed."""
    from fer_toolkit.export.metadata import report_path
    from fer_toolkit.training.ensembles import ensemble_table, member_probs

    val = load_split(small_tree / "val", Predictor(tiny_onnx).config)
    p = member_probs(tiny_run, val.x.astype(np.float32), ("none", "flip"))
    rows = ensemble_table({"a": p, "b": {"none": p["flip"], "flip": p["none"]}}, val.y)
    assert sorted(r[0] for r in rows) == ["a", "a + b", "b"]
    one = dict(rows)["a"]["none"]
    assert abs(one - json.loads(report_path(tiny_onnx).read_text())["val"]["top1_accuracy"]) < 1e-9


def test_ensemble_table_cli_errors_are_one_line(small_tree, tmp_path, capsys):
    """A run folder without ``best.keras`` exits 1 with one ``error:`` line, no traceback."""
    from fer_toolkit.fercore.cli import run_cli
    from fer_toolkit.training.ensembles import main

    assert run_cli(lambda: main(["--data", str(small_tree), str(tmp_path / "nope")])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'nope' / 'best.keras'} not found"]


def test_multiscale_export_is_the_mean_over_three_scales_and_their_mirrors(tiny_run, small_tree, tmp_path):
    """``--tta multiscale``: the file averages the image, its centre zoomed in (2 px a side cropped) and zoomed out
    (2 px a side padded by reflection), each resized back to 48x48 and also mirrored; computed here view by view."""
    import keras
    import tensorflow as tf

    from fer_toolkit.export.card import _views_text as views_text
    from fer_toolkit.export.onnx_export import export_run
    from fer_toolkit.training.calibration import apply_temperature

    out = tmp_path / "ms.onnx"
    report = export_run(tiny_run, out, tta="multiscale", evaluate_test=False)
    p = Predictor(out)
    assert report["parity"]["top1_agreement"] == 1.0 and p.metadata["tta"] == "multiscale"
    x = np.stack([np.asarray(Image.open(f).convert("L")) for f in sorted((small_tree / "val").rglob("*.png"))[:64]])
    x = x[..., None].astype(np.float32)
    net = keras.models.load_model(tiny_run / "best.keras")
    scales = [x, tf.image.resize(x[:, 2:46, 2:46], (48, 48)).numpy(),
              tf.image.resize(np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"), (48, 48)).numpy()]
    views = [net.predict(np.ascontiguousarray(v), verbose=0) for s in scales for v in (s, s[:, :, ::-1])]
    mean = np.mean(views, axis=0)
    got = p.predict(x)
    assert np.abs(got - apply_temperature(mean, float(p.metadata["temperature"]))).max() < 1e-4
    assert (got.argmax(1) == mean.argmax(1)).all()
    assert np.abs(got - p.predict(x[:, :, ::-1])).max() <= 1e-5  # symmetric in the mirror image
    q = report["int8"]  # the tiny network's INT8 bar (above): its views are quantized with it
    assert q["top1_agreement_with_fp32"] > 0.9 and q["top1_accuracy"] > 0.9 * q["fp32_top1_accuracy"]
    text = views_text({"members": [str(tiny_run)], "tta": "multiscale", "crops": [0]}, (48, 48))
    assert "three scales" in text and "2 px a side" in text  # what the model card says
