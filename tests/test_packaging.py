"""The wheel as a user installs it (issue 12): non-editable, in a fresh venv, run from outside the checkout.

It must carry the default model, put only ``fer_toolkit`` into site-packages, install the ``fer-toolkit``
command, classify a real photo with ``predict`` (table and ``--json``), and print one-line hints instead
of ImportErrors for the extras it lacks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"
GENERIC = ("worker", "demo", "export", "training", "fercore", "models", "bench", "tests")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(venv, wheel, workdir)``: the wheel built from this checkout, installed with ``[demo]`` only."""
    base = tmp_path_factory.mktemp("wheel")
    build = base / "build-src"  # a copy, so the build leaves nothing in the checkout
    skip_top = {".venv", ".git", "runs", "data", "build", ".pytest_cache", ".ruff_cache"}
    skip_any = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT, build, ignore=lambda d, names: set(skip_any(d, names)) | (
        skip_top & set(names) if Path(d) == ROOT else set()))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(build)],
                   check=True, timeout=600)
    wheel = next((base / "dist").glob("fer_toolkit-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[demo]"], check=True,
                   timeout=900)
    work = base / "elsewhere"  # outside the checkout: nothing to import from the current directory
    work.mkdir()
    shutil.copyfile(ASTRONAUT, work / "astronaut.jpg")
    (work / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    return venv, wheel, work


def run(installed, *args, stdin=None):
    venv, _, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(args), cwd=work, env=env, capture_output=True, text=True, timeout=300, input=stdin)


def test_wheel_puts_only_the_namespace_into_site_packages(installed):
    _, wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"fer_toolkit", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, tops
    for f in ("fer_toolkit/models/fer2013_cnn.onnx", "fer_toolkit/models/fer2013_cnn.int8.onnx",
              "fer_toolkit/models/fer2013_cnn_ens3.int8.onnx", "fer_toolkit/models/fer2013_cnn_flip.onnx",
              "fer_toolkit/fercore/data/yunet/yunet_s_dynamic.onnx", "fer_toolkit/worker/app.py"):
        assert f in names, f


def test_console_script_is_installed(installed):
    venv, _, _ = installed
    assert (venv / "bin" / "fer-toolkit").is_file()
    out = run(installed, "fer-toolkit", "--help")
    assert out.returncode == 0
    for cmd in ("predict", "score", "submit", "status", "wait", "cancel", "demo", "train", "evaluate", "export"):
        assert f"\n  {cmd} " in out.stdout, cmd


def test_predict_finds_the_face_in_a_real_photo(installed):
    out = run(installed, "fer-toolkit", "predict", "astronaut.jpg")
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.strip().splitlines()
    assert header.split()[:3] == ["file", "face", "box"] and len(rows) == 1
    name, index, box, label, confidence, crop = rows[0].split()
    x, y, w, h = map(int, box.split(","))  # the CSV report's box
    assert (name, index, crop) == ("astronaut.jpg", "1", "aligned")
    assert 150 <= int(x) <= 210 and 40 <= int(y) <= 90 and 70 <= w <= 130 and 80 <= h <= 150, box
    assert label == "happy" and 0 < float(confidence) <= 1


def test_predict_json_with_the_probabilities(installed):
    out = run(installed, "fer-toolkit", "predict", "--json", "astronaut.jpg", "astronaut.jpg")
    assert out.returncode == 0, out.stderr
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["file"] for d in docs] == ["astronaut.jpg", "astronaut.jpg"]
    face = docs[0]["faces"][0]
    assert face["face"] == 1 and face["label"] == "happy" and len(face["box"]) == 4 and len(face["landmarks"]) == 5
    assert abs(sum(face["probs"].values()) - 1) < 1e-3 and face["det_score"] >= 0.8
    assert docs[1] == docs[0]


def test_predict_reads_stdin(installed):
    venv, _, work = installed
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    with (work / "astronaut.jpg").open("rb") as f:
        out = subprocess.run(["fer-toolkit", "predict", "--json", "-"], cwd=work, env=env, stdin=f,
                             capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["faces"][0]["label"] == "happy"


def test_a_corrupt_file_exits_nonzero_and_the_good_ones_still_print(installed):
    out = run(installed, "fer-toolkit", "predict", "astronaut.jpg", "corrupt.jpg", "missing.jpg", "astronaut.jpg")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2 and errors[0].startswith("error: corrupt.jpg: ") and errors[1].startswith(
        "error: missing.jpg: "), out.stderr
    assert [r.split()[0] for r in out.stdout.strip().splitlines()[1:]] == ["astronaut.jpg", "astronaut.jpg"]


@pytest.mark.parametrize("cmd,extra", [("train", "train"), ("export", "train"), ("evaluate", "train"),
                                       ("score", "worker"), ("submit", "worker")])
def test_a_missing_extra_prints_one_line(installed, cmd, extra):
    out = run(installed, "fer-toolkit", cmd, "--help")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert f'pip install "fer-toolkit[{extra}]"' in out.stderr and "Traceback" not in out.stderr


def test_python_api_imports_no_generic_names_and_no_tensorflow(installed):
    venv, _, _ = installed
    code = ("import sys, fer_toolkit\n"
            "m = fer_toolkit.load_model()\n"
            "faces = m.analyze('astronaut.jpg')\n"
            "assert faces[0].label == 'happy' and faces[0].box is not None, faces\n"
            "assert 'site-packages' in fer_toolkit.__file__ and 'site-packages' in str(fer_toolkit.resolve_model())\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GENERIC + ('tensorflow', 'keras')!r})\n"
            "print(','.join(bad))\n")
    out = run(installed, str(venv / "bin" / "python"), "-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported: {out.stdout}"
