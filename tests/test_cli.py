"""Bad input on the command line: one readable line, non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ROOT, write_tree

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=300)


def assert_one_line_error(proc, text):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and text in errors[0], proc.stderr


@pytest.mark.parametrize("module", ["fer_toolkit.training", "fer_toolkit.export"])
def test_unknown_option(module):
    args = ["-m", module, "train", "--bogus"] if module.endswith("training") else ["-m", module, "--bogus"]
    assert_one_line_error(run(*args), "unrecognized arguments: --bogus")


def test_bad_value():
    assert_one_line_error(run("-m", "fer_toolkit.training", "train", "--input-size", "big"), "expected HxW")


def test_missing_data_folder(tmp_path):
    assert_one_line_error(run("-m", "fer_toolkit.training", "train", "--data", str(tmp_path / "none"), "--out",
                              str(tmp_path / "run")), "data folder not found")


def test_empty_class_folder(tmp_path):
    for c in ("happy", "sad"):
        (tmp_path / "train" / c).mkdir(parents=True)
    Image.new("L", (48, 48)).save(tmp_path / "train" / "happy" / "a.png")
    assert_one_line_error(run("-m", "fer_toolkit.training", "train", "--data", str(tmp_path), "--out",
                              str(tmp_path / "r")), "has no images")


def test_export_without_run(tmp_path):
    assert_one_line_error(run("-m", "fer_toolkit.export", "--run", str(tmp_path), "--out", str(tmp_path / "m.onnx")),
                          "not found")
    assert_one_line_error(run("-m", "fer_toolkit.export", "--run", str(tmp_path), "--out", str(tmp_path / "m.onnx"),
                              "--int8-only"), "m.onnx not found")


def test_warm_restart_arguments(tmp_path):
    assert_one_line_error(run("-m", "fer_toolkit.export", "--run", str(tmp_path), "--recover-only"),
                          "--recover-only needs --from-onnx")
    assert_one_line_error(run("-m", "fer_toolkit.export", "--run", str(tmp_path), "--member", "base"),
                          "--member needs --from-onnx")
    assert_one_line_error(run("-m", "fer_toolkit.training", "train", "--init", str(tmp_path / "none.keras"),
                              "--out", str(tmp_path / "r")), "--init: no such file")
    assert_one_line_error(run("-m", "fer_toolkit.training", "train", "--swa-start", "9", "--epochs", "3",
                              "--out", str(tmp_path / "r")), "--swa-start must be 0 (off) or an epoch 1..3")


def test_corrupt_image_is_a_warning_naming_the_file(fer, tmp_path):
    root = write_tree(tmp_path / "data", fer, {"train": 300, "val": 70})
    bad = root / "train" / "happy" / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    proc = run("-m", "fer_toolkit.training", "train", "--data", str(root), "--out", str(tmp_path / "run"),
               "--epochs", "1",
               "--widths", "8,16", "--head-units", "16", "--batch-size", "128")
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line and "corrupt.png" in line]
    assert len(warnings) == 1 and str(bad) in warnings[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "text"), [
    (["bench", "--model", "none.onnx"], "--model: file not found: none.onnx"),
    (["bench", "--files", "0"], "--files: must be >= 1, got 0"),
    (["bench.demo_latency", "-n", "x"], "-n: not an integer: 'x'"),
    (["bench.alignment", "--model", "none.onnx"], "--model: file not found"),
    (["bench.shipped", "--npz", "none.npz"], "--npz: file not found: none.npz"),
    (["bench.profile", "none.onnx"], "argument models: file not found: none.onnx"),
    (["bench.profile", "models/fer2013_cnn.onnx", "--calls", "0"], "--calls: must be >= 1, got 0"),
    (["bench.soak", "--model", "none.onnx"], "--model: file not found"),
    (["bench.workers_layout", "--processes", "0"], "--processes: must be >= 1, got 0"),
    (["bench.workers_layout", "none.onnx"], "argument models: file not found: none.onnx"),
    (["bench.soak", "--redis-down", "nan"], "--redis-down: must be > 0, got nan"),
])
def test_benchmark_arguments(args, text):
    """The benchmarks check their arguments (fercore.cli types) before they start services or write files."""
    proc = run("-m", *args)
    assert proc.returncode == 2
    assert_one_line_error(proc, text)


def test_a_shipped_role_names_the_model_in_the_api_demo_and_predict():
    """``fast``/``balanced``/``accurate`` name the shipped fp32 file, and with ``int8`` its INT8 twin."""
    from fer_toolkit.api import load_model
    from fer_toolkit.demo.handler import DemoModel

    assert load_model("balanced", int8=True).predictor.path.name == "fer2013_cnn_ens3.int8.onnx"
    assert load_model("fast").predictor.path.name == "fer2013_cnn.onnx"
    assert DemoModel("balanced").predictor.path.name == "fer2013_cnn_ens3.onnx"
    proc = run("-m", "fer_toolkit", "predict", "--model", "balanced", "--int8", "demo/examples/astronaut.jpg")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].split()[3] == "happy"


def test_each_entry_points_default_is_the_one_table():
    """No ``--model``: each entry point takes its row of ``fer_toolkit.models.DEFAULTS``."""
    from fer_toolkit.api import EmotionModel, load_model
    from fer_toolkit.demo.handler import DemoModel
    from fer_toolkit.models import DEFAULTS, resolve
    from fer_toolkit.worker.settings import scorer_model

    assert load_model().predictor.path == resolve(*DEFAULTS["api"])
    assert EmotionModel(entry="predict").predictor.path == resolve(*DEFAULTS["predict"])
    assert DemoModel().predictor.path == resolve(*DEFAULTS["demo"])
    assert scorer_model() == resolve(*DEFAULTS["workers"]) or "SCORER_MODEL" in os.environ


def test_a_role_is_the_same_file_in_predict_score_the_api_and_the_demo(tmp_path):
    """``--model balanced`` is one file everywhere (``--int8`` its twin): ``predict --json`` and the CSV report
    of ``score`` give the same probabilities, face numbers and boxes for the same photos, with the API's and the
    demo's file."""
    import csv
    import json

    from fer_toolkit.api import load_model
    from fer_toolkit.demo.handler import DemoModel
    from fer_toolkit.models import resolve
    from fer_toolkit.worker.settings import scorer_model

    photo = ROOT / "demo" / "examples" / "astronaut.jpg"
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(photo).save(folder / "astronaut.jpg")
    Image.open(photo).crop((170, 50, 280, 190)).resize((48, 48)).save(folder / "crop.png")  # classified whole
    for extra in ([], ["--int8"]):
        want = resolve("balanced", int8=bool(extra))
        assert load_model("balanced", int8=bool(extra)).predictor.path == want
        assert DemoModel("balanced", int8=bool(extra)).predictor.path == want
        assert scorer_model("balanced", bool(extra)) == want
        pred = run("-m", "fer_toolkit", "predict", "--json", "--model", "balanced", *extra,
                   str(folder / "astronaut.jpg"), str(folder / "crop.png"))
        assert pred.returncode == 0, pred.stderr
        records = {Path(j["file"]).name: j["faces"] for j in map(json.loads, pred.stdout.splitlines())}
        out = tmp_path / f"report{len(extra)}.csv"
        score = run("-m", "fer_toolkit", "score", str(folder), "--out", str(out), "--model", "balanced", *extra)
        assert score.returncode == 0, score.stderr
        assert json.loads(out.with_suffix(".summary.json").read_text())["model_id"].startswith(want.name + "@")
        with out.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [(r["path"], r["face"]) for r in rows] == [("astronaut.jpg", "1"), ("crop.png", "1")]
        for r in rows:
            [face] = records[r["path"]]
            assert face["face"] == int(r["face"]) and face["crop"] == r["crop"]
            assert face["box"] == ([int(v) for v in r["box"].split(",")] if r["box"] else None)
            assert {k: float(r[f"p_{k}"]) for k in face["probs"]} == face["probs"]
            assert face["label"] == r["label"] and face["confidence"] == float(r["confidence"])


@pytest.mark.parametrize("args,text", [
    (["--model", "models/fer2013_cnn.onnx", "--int8"], "--int8 picks a shipped role's INT8 twin"),
    (["--fast"], "unrecognized arguments: --fast"),
    (["--model", "quick"], "model quick not found: give an ONNX file or one of fast, balanced, accurate"),
])
def test_predict_model_arguments(args, text):
    assert_one_line_error(run("-m", "fer_toolkit", "predict", *args, "demo/examples/astronaut.jpg"), text)


@pytest.mark.parametrize("command", [["predict", "demo/examples/astronaut.jpg"], ["score", "demo/examples",
                                                                                 "--out", "never.csv"]])
def test_an_unknown_execution_provider_is_one_line(command, tmp_path):
    """``--providers`` / ``FER_PROVIDERS`` pick from onnxruntime's own list; any other name is one line."""
    proc = run("-m", "fer_toolkit", *command, "--providers", "NoSuchExecutionProvider")
    assert_one_line_error(proc, "execution provider 'NoSuchExecutionProvider' is not available")
    assert proc.returncode == 1 and "CPUExecutionProvider" in proc.stderr
    env = {**ENV, "FER_PROVIDERS": "nosuch"}
    proc = subprocess.run([sys.executable, "-m", "fer_toolkit", *command], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=300)
    assert_one_line_error(proc, "execution provider 'nosuch' is not available")
    assert not (ROOT / "never.csv").exists()


def test_providers_take_short_names_and_default_to_the_cpu(monkeypatch):
    from fer_toolkit.fercore.session import providers

    monkeypatch.delenv("FER_PROVIDERS", raising=False)
    assert providers() == ["CPUExecutionProvider"] == providers("cpu") == providers(" CPU, cpu ")
    monkeypatch.setenv("FER_PROVIDERS", "CPUExecutionProvider")
    assert providers() == ["CPUExecutionProvider"]


def test_space_staging_takes_a_role_and_a_bad_model_is_one_line(tmp_path):
    from fer_toolkit.demo.space import stage

    assert (stage(tmp_path / "space", "fast") / "fer_toolkit" / "models" / "fer2013_cnn.onnx").is_file()
    proc = run("-m", "fer_toolkit.demo.space", str(tmp_path / "bad"), "--model", "quick")
    assert proc.returncode == 1 and not (tmp_path / "bad").exists()
    assert_one_line_error(proc, "model quick not found: give an ONNX file or one of fast, balanced, accurate")


def test_profile_of_a_shipped_file_names_its_quantized_convolutions():
    proc = run("-m", "bench.profile", "models/fer2013_cnn.int8.onnx", "--batch", "8", "--calls", "2", "--top", "3")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and line.endswith("% |")]
    ops = {r.split("|")[1].strip(): float(r.split("|")[2].strip(" %")) for r in rows[:-3]}
    assert "QLinearConv" in ops and ops["QLinearConv"] > 50, proc.stdout
    assert 98.5 <= sum(ops.values()) <= 100.5, proc.stdout  # shares rounded to 0.1%, those under 0.1% left out
    assert len(rows[-3:]) == 3 and all("conv" in r or "pool" in r.lower() for r in rows[-3:]), proc.stdout
    assert "ms per call" in proc.stdout and not list(ROOT.glob("onnxruntime_profile_*.json"))


def test_workers_layout_times_a_shipped_file_in_both_layouts():
    """Two one-thread processes and one two-thread process each score real faces; the table has both figures."""
    proc = run("-m", "bench.workers_layout", "models/fer2013_cnn.int8.onnx", "--processes", "2", "--rounds", "1",
               "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| `fer2013_cnn.int8.onnx`"))
    workers, one, ratio = (cell.strip() for cell in row.strip("|").split("|")[1:])
    assert float(workers.replace(",", "")) > 0 and float(one.replace(",", "")) > 0, row
    assert ratio.endswith("x") and float(ratio[:-1]) > 0, row
    assert "2 processes x 1 thread" in proc.stdout and "1 process x 2 threads" in proc.stdout


def test_workers_layout_refuses_a_file_that_is_not_onnx_in_one_line(tmp_path):
    """Checked once, before any scoring process starts (the processes would otherwise wait for each other)."""
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an ONNX file")
    proc = run("-m", "bench.workers_layout", str(bad), "--rounds", "1", "--repeats", "1")
    assert_one_line_error(proc, f"{bad}: [ONNXRuntimeError]")


def test_bench_times_the_shipped_architecture_when_no_keras_run_exists(tmp_path):
    """``make bench`` on a fresh clone (no ``runs/``): the Keras rows build the network of ``training_config.json``."""
    import numpy as np

    from bench.inference import keras_model

    model, note = keras_model(tmp_path / "best.keras", ROOT / "models" / "training_config.json")
    assert "untrained weights" in note
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    probs = np.asarray(model(np.zeros((2, 48, 48, 1), np.float32)))
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    missing, why = keras_model(tmp_path / "best.keras", tmp_path / "training_config.json")
    assert missing is None and why.startswith("skipped")
