"""Training faces get the crop geometry served photos get: the same function (``fercore.analyze.face_input``), on
faces of known landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT


def test_training_crops_are_the_served_crops_of_the_same_face(fer):
    from fer_toolkit.fercore.analyze import analyze
    from fer_toolkit.fercore.config import DataConfig
    from fer_toolkit.fercore.faces import FaceDetector
    from fer_toolkit.fercore.options import FaceOptions
    from fer_toolkit.fercore.predictor import Predictor
    from fer_toolkit.training.served_crops import UPSCALE, mix_served, served_crops

    predictor = Predictor(ROOT / "models" / "fer2013_cnn.onnx")
    x = fer["x_train"][:40, ..., None]
    config = DataConfig(input_size=(48, 48), channels=1, labels=tuple(str(c) for c in fer["classes"]))
    crops, found = served_crops(x, config, detector=FaceDetector())
    assert crops.shape == x.shape and crops.dtype == np.uint8 and found.mean() > 0.8
    assert np.array_equal(crops[~found], x[~found])  # no face found: the face keeps its own crop
    for i in np.flatnonzero(found)[:5]:
        big = Image.fromarray(x[i, ..., 0]).resize((48 * UPSCALE,) * 2, Image.Resampling.BICUBIC)
        served = analyze(big, predictor, FaceDetector(), FaceOptions(faces="largest"))[0]
        assert served.crop == "aligned" and np.array_equal(served.pixels, crops[i])
    mixed = mix_served(x, crops, found, 0.5, seed=0)
    replaced = np.array([np.array_equal(m, c) and not np.array_equal(m, o) for m, c, o in zip(mixed, crops, x)])
    assert 0.2 < replaced.mean() < 0.8


def test_aligned_landmarks_land_on_the_template():
    """A face whose landmarks are known (the template itself, rotated, scaled and moved) comes out with its
    landmarks on the FER2013 template, shrunk by the zoom around the centre."""
    from fer_toolkit.fercore.align import FER_TEMPLATE, alignment, map_points

    a = np.radians(25)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    marks = (FER_TEMPLATE * 120) @ rot.T + (300, 200)
    for zoom in (1.0, 1.1, 1.3):
        got = map_points(alignment(marks, (48, 48), zoom), marks)
        want = (FER_TEMPLATE - 0.5) / zoom * 48 + 24
        assert np.abs(got - want).max() < 0.05


def test_crowd_votes_reach_training_targets_from_the_archive_and_from_a_prepared_tree(fer, tmp_path):
    """FER+ votes as training targets: by row from the vote archive, and by file from ``prepare --votes``'s
    votes.csv beside a folder tree; contempt, unknown and not-a-face are dropped, single votes too."""
    import csv

    from fer_toolkit.training.prepare import _write_votes
    from fer_toolkit.training.votes import read_votes, vote_distribution, vote_targets

    votes = ROOT.parent / "shared" / "data" / "fer2013_ferplus.npz"
    if not votes.is_file():
        pytest.skip(f"FER+ votes not found at {votes}")
    labels = tuple(str(c) for c in fer["classes"])
    y = fer["y_train"]
    t = vote_targets(votes, labels, y)
    counts, columns, _ = read_votes(votes)
    probs, valid = vote_distribution(counts, columns, labels)
    assert t.shape == (len(y), 7) and np.allclose(t.sum(1), 1) and valid.mean() > 0.99
    i = int(np.flatnonzero(valid & (counts[:, columns.index("happiness")] >= 5))[0])
    happy = labels.index("happy")
    want = counts[i, columns.index("happiness")] / sum(
        counts[i, columns.index(c)] for c in ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")
        if counts[i, columns.index(c)] >= 2)
    assert t[i, happy] == pytest.approx(want, abs=1e-6)
    assert np.array_equal(t[~valid], np.eye(7, dtype=np.float32)[y[~valid]])  # no usable vote: the label
    files = [f"train/{labels[int(c)]}/{str(n).rsplit('/', 1)[-1].rsplit('.', 1)[0]}.png"
             for c, n in zip(y, fer["ids_train"])]
    _write_votes(votes, tmp_path, files)
    with (tmp_path / "votes.csv").open() as f:
        assert next(csv.reader(f))[0] == "file"
    order = np.random.default_rng(0).permutation(len(y))[:500]  # a tree lists its files in another order
    by_file = vote_targets(tmp_path / "votes.csv", labels, y[order], [files[k] for k in order])
    assert np.allclose(by_file, t[order])

