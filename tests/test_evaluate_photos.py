"""``fer-toolkit evaluate-photos`` on a labelled tree of real images: FER2013 crops, FER2013 faces pasted into a
scikit-image photo, a photo without a face and a corrupt file; figures checked against a count by hand."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT

CLASSES = ("happy", "sad", "surprise")


def pasted(face: np.ndarray, side: int = 160) -> Image.Image:
    """A FER2013 face scaled to ``side`` px with a grey margin, pasted into scikit-image's coffee photo."""
    from skimage import data

    canvas = Image.fromarray(data.coffee()).resize((640, 480))
    patch = Image.new("RGB", (round(side * 1.6),) * 2, (128, 128, 128))
    patch.paste(Image.fromarray(face).convert("RGB").resize((side, side), Image.Resampling.LANCZOS),
                (round(side * 0.3),) * 2)
    canvas.paste(patch, (200, 100))
    return canvas


@pytest.fixture(scope="module")
def tree(fer, tmp_path_factory) -> Path:
    """``<class>/<image>``: per class 3 FER2013 crops and 2 pasted photos; plus a faceless photo and a corrupt
    file under happy; a MANIFEST.json naming two sources."""
    root = tmp_path_factory.mktemp("photos")
    labels = [str(c) for c in fer["classes"]]
    files = []
    for c in CLASSES:
        (root / c).mkdir()
        faces = fer["x_test"][fer["y_test"] == labels.index(c)][:5]
        for i, x in enumerate(faces[:3]):
            Image.fromarray(x).save(root / c / f"crop{i}.png")
            files.append({"file": f"{c}/crop{i}.png", "source": "crops"})
        for i, x in enumerate(faces[3:]):
            pasted(x).save(root / c / f"photo{i}.jpg", quality=92)
            files.append({"file": f"{c}/photo{i}.jpg", "source": "photos"})
    Image.new("RGB", (640, 480), (90, 140, 200)).save(root / "happy" / "sky.jpg")
    (root / "happy" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files += [{"file": "happy/sky.jpg", "source": "photos"}, {"file": "happy/broken.jpg", "source": "photos"}]
    (root / "MANIFEST.json").write_text(json.dumps({"files": files}))
    return root


def test_figures_match_a_count_by_hand(tree, tmp_path):
    from fer_toolkit.api import load_model
    from fer_toolkit.evaluate_photos import main
    from fer_toolkit.fercore.preprocess import ImageDecodeError

    out = tmp_path / "eval"
    assert main([str(tree), "--model", "fast", "--out", str(out)]) == 0
    result = json.loads((out / "metrics.json").read_text())

    model = load_model("fast")
    truth, preds, sources = [], [], []
    for c in CLASSES:
        for path in sorted((tree / c).iterdir()):
            truth.append(c)
            sources.append("crops" if path.name.startswith("crop") else "photos")
            try:
                faces = model.analyze(path)
            except ImageDecodeError:
                preds.append("error")
                continue
            preds.append(faces[0].label if faces else "no_face")
    truth, preds, sources = np.array(truth), np.array(preds), np.array(sources)
    assert result["n"] == len(truth) == 17
    assert result["top1_accuracy"] == pytest.approx(float((truth == preds).mean()))
    assert result["error_rate"] == pytest.approx(1 / 17)  # the corrupt file
    assert "no_face" in preds and result["no_face_rate"] == pytest.approx(float((preds == "no_face").mean()))
    for c in CLASSES:
        assert result["per_class_recall"][c] == pytest.approx(float((preds[truth == c] == c).mean()))
    for s in ("crops", "photos"):
        m = sources == s
        assert result["per_source"][s]["n"] == int(m.sum())
        assert result["per_source"][s]["top1_accuracy"] == pytest.approx(float((truth[m] == preds[m]).mean()))
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (7, 8) and cm.sum() == 17
    assert cm[:, -1].sum() == int(np.isin(preds, ["no_face", "error"]).sum())  # no face found, or unreadable
    labels = result["confusion_columns"][:7]
    happy = labels.index("happy")
    assert cm[happy].sum() == 7 and cm[happy, happy] == int(((truth == "happy") & (preds == "happy")).sum())
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (out / "predictions.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 17
    assert {r["status"] for r in rows} == {"ok", "no_face", "error"}
    crops = [r for r in rows if Path(r["file"]).name.startswith("crop")]
    assert {r["crop"] for r in crops} == {"whole"}


def test_unknown_class_is_one_line_naming_the_labels(tree, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tree, bad)
    (bad / "joy").mkdir()
    shutil.copy(tree / "happy" / "crop0.png", bad / "joy" / "crop0.png")
    run = subprocess.run([sys.executable, "-m", "fer_toolkit", "evaluate-photos", str(bad), "--model", "fast",
                          "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "'joy'" in run.stderr and "angry, disgust, fear, happy, neutral, sad, surprise" in run.stderr
