"""Training faces get the crop geometry served photos get: the same function (``fercore.analyze.face_input``), on
faces of known landmarks."""

from __future__ import annotations

import numpy as np
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
