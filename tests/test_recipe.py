"""The issue-9 recipe on real FER2013 slices: ensembles with test-time views, temperature scaling, ECE,
distillation, and every stage of `make train export` end to end at a tiny size."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import onnx
import pytest

from fer_toolkit.fercore.predictor import Predictor
from tests.conftest import NPZ, ROOT

VOTES = NPZ.parent / "fer2013_ferplus.npz"


@pytest.fixture(scope="module")
def small_npz(fer, tmp_path_factory):
    """1,500 train / 300 val / 300 test real FER2013 images as an archive in the shared layout."""
    rng = np.random.default_rng(1)
    arrays = {"classes": fer["classes"]}
    for split, n in (("train", 1500), ("val", 300), ("test", 300)):
        idx = np.sort(rng.choice(len(fer[f"y_{split}"]), size=n, replace=False))
        for key in ("x", "y", "ids"):
            arrays[f"{key}_{split}"] = fer[f"{key}_{split}"][idx]
        if split == "train" and VOTES.is_file():  # the FER+ votes of the same faces, for the photo stages
            with np.load(VOTES) as v:
                np.savez(tmp_path_factory.getbasetemp() / "small_votes.npz", votes_train=v["votes_train"][idx],
                         columns=v["columns"])
    path = tmp_path_factory.mktemp("npz") / "small.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def recipe(small_npz, tmp_path_factory):
    """`make train export` with every stage of the recipe at a tiny size: a base network, SWA from it, the teacher
    (both averaged over flip), soft labels, a student distilled with SWA from the SWA network (``FAST_RUN``), the
    second and fourth lineages (base2, base4: base's arguments with other seeds, and SWA from each), the optional
    base network on other crops, and the exports of the student, of a balanced ensemble of other runs (base4_swa,
    base2_swa, base) and of an accurate ensemble that mixes crop sizes (base40, base2_swa and the teacher's runs,
    over ten crops of each member's own size)."""
    out = tmp_path_factory.mktemp("recipe")
    swa = "--batch-size 64 --optimizer sgd --schedule constant --lr 1e-3 --swa-start 2 --epochs 3"
    args = [f"DATA={small_npz}", f"RUNS={out}/runs", f"MODEL={out}/student.onnx", f"ACCURATE={out}/ens.onnx",
            f"BALANCED={out}/bal.onnx",
            "BASE_ARGS=--crop 44 --epochs 2 --batch-size 64 --lr 0.01 --optimizer sgd --warmup-steps 20 "
            "--erasing 0.5 --widths 8,16 --head-units 16", f"SWA_ARGS={swa}",
            f"STUDENT_ARGS={swa} --seed 5 --kd-alpha 0.5 --kd-temperature 2",
            "BASE40_ARGS=--crop 40 --epochs 2 --batch-size 64 --lr 0.01 --optimizer sgd --warmup-steps 20 "
            "--erasing 0.25 --widths 8,16 --head-units 16 --seed 11", "ACCURATE_RUNS=base40 base2_swa base_swa base",
            "BALANCED_RUNS=base4_swa base2_swa base", "FAST_RUN=student", "PHOTOS=",
            "ACCURATE_TTA=tencrop",
            f"PY={os.sys.executable}"]
    proc = subprocess.run(["make", "train", "export", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    again = subprocess.run(["make", "train", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return out, proc.stdout, again


def test_default_recipe_runs_its_stages_in_order():
    """With the Makefile's defaults, `make train` trains the shipped files' networks and the stages they need, in
    order (each network before SWA from it, the teacher's runs before its soft labels, those before the student),
    and nothing else; `make export` exports FAST_RUN as the fast file (dry runs)."""
    train = subprocess.run(["make", "-n", "train", "RUNS=r"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert train.returncode == 0, train.stderr
    lines = train.stdout.splitlines()
    outs = [w.split()[0] for w in train.stdout.split("--out r/")[1:]]
    assert outs == ["base", "base_swa", "teacher.onnx", "soft_labels.npy", "student", "student_ferplus", "base2",
                    "base2_swa", "base4", "base4_swa", "student_photo"], outs
    assert sum("fer_toolkit.training train" in line for line in lines) == 9
    export = subprocess.run(["make", "-n", "export", "RUNS=r"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    assert "--run r/student_ferplus --out models/fer2013_cnn.onnx" in export.stdout
    assert "--run r/student_ferplus --run r/student_photo --run r/base2_swa --out models/fer2013_cnn_ens3.onnx" \
        in export.stdout
    chosen = subprocess.run(["make", "-n", "export", "RUNS=r", "FAST_RUN=base4_swa"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert "--run r/base4_swa --out models/fer2013_cnn.onnx" in chosen.stdout


def _views(x: np.ndarray, crop: int) -> list[np.ndarray]:
    """The ten crops computed with NumPy: centre, four corners, each mirrored."""
    h, w = x.shape[1:3]
    t, left = (h - crop) // 2, (w - crop) // 2
    boxes = [(t, left), (0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop)]
    out = []
    for r, c in boxes:
        v = x[:, r:r + crop, c:c + crop]
        out += [v, v[:, :, ::-1]]
    return out


def test_every_stage_runs_and_each_resumes_as_done(recipe):
    out, log, again = recipe
    runs = out / "runs"
    for name in ("base", "base_swa", "student", "base40", "base2", "base2_swa", "base4", "base4_swa"):
        for f in ("best.keras", "last.keras", "history.csv", "train_summary.json", "config.json"):
            assert (runs / name / f).stat().st_size > 0, (name, f)
    assert "epoch 2/2" in log and "epoch 3/3" in log and "ETA" in log
    teacher = Predictor(runs / "teacher.onnx")
    assert json.loads(teacher.metadata["members"]) == ["base_swa", "base"] and teacher.metadata["tta"] == "flip"
    soft = np.load(runs / "soft_labels.npy")
    assert soft.shape == (1500, 7) and soft.dtype == np.float16 and np.allclose(soft.sum(1), 1, atol=1e-2)
    for name, init in (("base_swa", "base"), ("student", "base_swa"), ("base2_swa", "base2"), ("base4_swa", "base4")):
        saved = json.loads((runs / name / "config.json").read_text())
        cfg = saved["train"]
        assert cfg["init"].endswith(f"{init}/best.keras") and cfg["swa_start"] == 2 and cfg["crop"] == 44
        assert saved["precision"] == "float32"  # what --precision resolved to (the default, float32, here)
    seeds = {n: json.loads((runs / n / "config.json").read_text())["train"]["seed"] for n in ("base", "base2", "base4")}
    assert seeds == {"base": 0, "base2": 1, "base4": 3}  # BASE2_ARGS, BASE4_ARGS: base's arguments, other seeds
    assert json.loads((runs / "student" / "config.json").read_text())["train"]["soft_labels"].endswith(
        "soft_labels.npy")
    ens, student = Predictor(out / "ens.onnx"), Predictor(out / "student.onnx")
    assert json.loads(ens.metadata["members"]) == ["base40", "base2_swa", "base_swa", "base"]
    assert ens.metadata["tta"] == "tencrop" and ens.metadata["model_version"] == "8"
    assert json.loads(ens.metadata["crop"]) == [40, 44, 44, 44] and student.metadata["crop"] == "44"
    assert student.metadata["tta"] == "none" and float(student.metadata["temperature"]) > 0
    for p in (ens, student):  # what serving reads comes from the file's metadata
        assert p.config.input_shape == (48, 48, 1) and len(p.labels) == 7
    for f in ("ens.md", "student.md", "student.int8.onnx", "ens.int8.onnx", "ens.reliability.png",
              "student.reliability.png"):
        assert (out / f).stat().st_size > 0, f
    # INT8: the input scale folds into the first Conv through the crop, so raw pixels are quantized exactly
    q = onnx.load(out / "student.int8.onnx")
    after_crop = [n for n in q.graph.node if n.op_type == "Slice"][0].output[0]
    assert {n.op_type for n in q.graph.node if after_crop in n.input} <= {"Reshape", "Transpose", "QuantizeLinear"}
    # PrivateTest: once per shipped file, never for the teacher
    ledger = json.loads((out / "privatetest_evaluations.json").read_text())
    assert [r["model"] for r in ledger] == ["student.onnx", "bal.onnx", "ens.onnx"]
    bal = Predictor(out / "bal.onnx")  # the balanced file: its own members (BALANCED_RUNS), one pass each
    assert json.loads(bal.metadata["members"]) == ["base4_swa", "base2_swa", "base"]
    assert bal.metadata["tta"] == "none" and (out / "bal.int8.onnx").stat().st_size > 0
    assert not (runs / "privatetest_evaluations.json").exists()
    # a second `make train` finds every stage done and trains nothing
    assert again.returncode == 0 and "epoch" not in again.stdout, again.stdout


def test_photo_stages_train_on_crowd_votes_and_served_crops(recipe, small_npz):
    """`make` of the photo stages from the recipe's student: student_ferplus (a new AdamW cycle on the FER+ votes
    mixed with the labels) and student_photo (SWA with half the faces in the served crop geometry)."""
    votes = small_npz.parent.parent / "small_votes.npz"
    if not votes.is_file():
        pytest.skip(f"FER+ votes not found at {VOTES}")
    out = recipe[0]
    tiny = "--epochs 2 --batch-size 64"
    args = [f"DATA={small_npz}", f"RUNS={out}/runs", f"VOTES={votes}", f"PY={os.sys.executable}",
            f"FERPLUS_ARGS=--soft-labels {votes} --kd-alpha 0.5 --kd-temperature 1 --photometric 0.4 {tiny} "
            "--lr 1e-3 --warmup-steps 5",
            f"PHOTO_ARGS=--served-crops 0.5 --photometric 0.25 --soft-labels {votes} --kd-alpha 0.5 "
            f"--kd-temperature 1 {tiny} --optimizer sgd --schedule constant --lr 1e-3 --swa-start 2"]
    proc = subprocess.run(["make", f"{out}/runs/student_ferplus/train_summary.json",
                           f"{out}/runs/student_photo/train_summary.json", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("student_ferplus", "student_photo"):
        cfg = json.loads((out / "runs" / name / "config.json").read_text())["train"]
        assert cfg["init"].endswith("student/best.keras") and cfg["soft_labels"] == str(votes)
        assert cfg["photometric"] > 0 and cfg["crop"] == 44
    assert json.loads((out / "runs" / "student_photo" / "config.json").read_text())["train"]["served_crops"] == 0.5
    assert (out / "runs" / ".cache").is_dir()  # the served crops, computed once per training split


def test_folded_tta_ensemble_equals_mean_of_its_parts(recipe, fer):
    import keras

    from fer_toolkit.training.calibration import apply_temperature

    out = recipe[0]
    ens = Predictor(out / "ens.onnx")
    x = fer["x_val"][:64, :, :, None].astype(np.float32)
    members = []  # each member's mean over its own ten crops, computed apart
    for run, crop in (("base40", 40), ("base2_swa", 44), ("base_swa", 44), ("base", 44)):
        net = keras.models.load_model(out / "runs" / run / "best.keras")
        views = [net.predict(np.ascontiguousarray(v), verbose=0) for v in _views(x, crop)]
        assert len(views) == 10
        members.append(np.mean(views, axis=0))
    mean = np.mean(members, axis=0)
    expected = apply_temperature(mean, float(ens.metadata["temperature"]))
    got = ens.predict(x)
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == mean.argmax(1)).all()


def _from_the_student(target: str, out, small_npz, run_args: str):
    """Run ``make TARGET`` with ``WARM_FROM`` the recipe's exported student; returns ``(out, the student's best val
    top-1)``."""
    before = json.loads((out / "runs" / "student" / "train_summary.json").read_text())["best_val_accuracy"]
    args = [f"DATA={small_npz}", f"RUNS={out}/runs", f"WARM_FROM={out}/student.onnx", f"PY={os.sys.executable}",
            run_args]
    proc = subprocess.run(["make", target, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, before


def test_make_warm_recovers_the_cropped_student_and_trains_it_further(recipe, small_npz):
    """`make warm`: the exported student (trained on 44-px crops) comes back as a Keras run that reproduces the
    file, and a new training run starts from it with the student's own widths and crop."""
    out, before = _from_the_student("warm", recipe[0], small_npz,
                                    "WARM_ARGS=--epochs 1 --batch-size 64 --lr 1e-4 --warmup-steps 5")
    rec = json.loads((out / "runs" / "recovered" / "config.json").read_text())
    assert rec["recovered_from"]["val_top1_agreement"] == 1.0 and rec["recovered_from"]["val_max_abs_diff"] <= 1e-4
    assert rec["train"]["crop"] == 44 and rec["network"]["input_shape"] == [44, 44, 1]
    warm = json.loads((out / "runs" / "warm" / "config.json").read_text())
    assert warm["train"]["init"].endswith("recovered/best.keras") and warm["train"]["crop"] == 44
    assert warm["network"]["widths"] == [8, 16] and warm["network"]["head_units"] == 16
    after = json.loads((out / "runs" / "warm" / "train_summary.json").read_text())["best_val_accuracy"]
    assert after >= before - 0.03, (before, after)


def test_make_swa_averages_the_cropped_student(recipe, small_npz):
    """`make swa`: the recovered student trains on with a constant LR, and ``best.keras`` is the best of the
    weight averages (with its crop: the BatchNorm statistics and validation go through the centre crop)."""
    import csv

    out, before = _from_the_student("swa", recipe[0], small_npz, "SWA_ARGS=--epochs 3 --batch-size 64 --optimizer sgd "
                                    "--schedule constant --lr 1e-3 --swa-start 2")
    run = out / "runs" / "swa"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["crop"] == 44 and cfg["train"]["swa_start"] == 2
    assert cfg["network"]["input_shape"] == [44, 44, 1]
    assert json.loads((run / "swa.json").read_text())["count"] == 2
    with (run / "history.csv").open() as f:
        scores = [float(row["swa_val_accuracy"]) for row in csv.DictReader(f)]
    summary = json.loads((run / "train_summary.json").read_text())
    assert np.isnan(scores[0]) and summary["best_val_accuracy"] == max(scores[1:]) and summary["best_epoch"] > 1
    assert summary["best_val_accuracy"] >= before - 0.03, (before, summary["best_val_accuracy"])


def test_make_recover_brings_back_every_shipped_network(recipe, small_npz, fer, tmp_path):
    """`make recover` after a lost `runs/`: the student from the fast file, BALANCED_RUNS from the balanced file,
    and the accurate file's other members from it, through its ten-crop views (the member's pass over the centre
    crop), each reproducing the network that was trained."""
    import keras

    out = recipe[0]
    args = [f"DATA={small_npz}", f"RUNS={tmp_path}/runs", f"MODEL={out}/student.onnx", f"ACCURATE={out}/ens.onnx",
            f"BALANCED={out}/bal.onnx", "ACCURATE_RUNS=base40 base2_swa base_swa base",
            "BALANCED_RUNS=base4_swa base2_swa base", "FAST_RUN=student", f"PY={os.sys.executable}"]
    proc = subprocess.run(["make", "recover", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sources = {"student": "student.onnx", "base4_swa": "bal.onnx", "base2_swa": "bal.onnx", "base": "bal.onnx",
               "base40": "ens.onnx", "base_swa": "ens.onnx"}
    x = fer["x_val"][:64, :, :, None].astype(np.float32)
    for name, file in sources.items():
        rec = json.loads((tmp_path / "runs" / name / "config.json").read_text())["recovered_from"]
        assert rec["file"] == file and rec["val_top1_agreement"] == 1.0, (name, rec)
        crop = 40 if name == "base40" else 44
        view = np.ascontiguousarray(_views(x, crop)[0])  # the centre crop each network was trained to take
        want = keras.saving.load_model(out / "runs" / name / "best.keras").predict(view, verbose=0)
        got = keras.saving.load_model(tmp_path / "runs" / name / "best.keras").predict(view, verbose=0)
        assert np.abs(want - got).max() < 1e-4, name


def test_make_recovers_again_when_warm_from_names_another_file(tmp_path):
    """`make warm` / `make swa` with a new WARM_FROM recover that file even where ``RUNS/recovered/best.keras`` is
    newer than it (a checkout's files are older than a recovery made after it) or than the ``source.txt`` naming the
    new file, and not again for the same file.
    The recovery command is replaced by a script that records which file it was given."""
    fake = tmp_path / "py"
    fake.write_text('#!/bin/sh\n# -m fer_toolkit.export --from-onnx SRC --run RUN ...\n'
                    'mkdir -p "$6" && echo "$4" > "$6/best.keras"\n')
    fake.chmod(0o755)
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    for f in (a, b):
        f.write_text("x")
        os.utime(f, (1e9, 1e9))
    runs = tmp_path / "runs"
    target = f"{runs}/recovered/best.keras"

    def make(src):
        proc = subprocess.run(["make", target, f"RUNS={runs}", f"PY={fake}", f"WARM_FROM={src}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    make(a)
    assert (runs / "recovered" / "best.keras").read_text().strip() == str(a)
    # a recovery stamped no older than anything written after it, as within one clock tick: mtimes can't decide
    os.utime(runs / "recovered" / "best.keras", (2e9, 2e9))
    make(b)
    assert (runs / "recovered" / "best.keras").read_text().strip() == str(b)
    assert "from-onnx" not in make(b)
    assert (runs / "recovered" / "best.keras").read_text().strip() == str(b)


def test_multiscale_views_of_cropped_members_equal_their_parts(recipe, fer, tmp_path):
    """``--tta multiscale`` on networks that take crops (base40: 40 px, base2_swa: 44 px, of the 48-px input): each
    network sees its centre crop, the centre zoomed in (a crop 2 px smaller a side) and out (2 px larger a side),
    each resized back to its own side and also mirrored; computed here view by view with TensorFlow's resize."""
    import keras
    import tensorflow as tf

    from fer_toolkit.export.onnx_export import export_run
    from fer_toolkit.training.calibration import apply_temperature

    runs = recipe[0] / "runs"
    out = tmp_path / "ms.onnx"
    export_run([runs / "base40", runs / "base2_swa"], out, tta="multiscale", int8=False, evaluate_test=False)
    x = fer["x_val"][:64, :, :, None].astype(np.float32)
    members = []
    for run, crop in (("base40", 40), ("base2_swa", 44)):
        net = keras.models.load_model(runs / run / "best.keras")
        views = []
        for side in (crop, crop - 4, crop + 4):
            o = (48 - side) // 2
            v = x[:, o:o + side, o:o + side]
            v = v if side == crop else tf.image.resize(v, (crop, crop)).numpy()
            views += [net.predict(np.ascontiguousarray(w), verbose=0) for w in (v, v[:, :, ::-1])]
        members.append(np.mean(views, axis=0))
    mean = np.mean(members, axis=0)
    got = Predictor(out).predict(x)
    assert np.abs(got - apply_temperature(mean, float(Predictor(out).metadata["temperature"]))).max() < 1e-4
    assert (got.argmax(1) == mean.argmax(1)).all()
