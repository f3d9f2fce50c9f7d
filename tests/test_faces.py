"""YuNet detection, aligned crops and the ``auto`` face mode on real images (scikit-image, FER2013)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, SHIPPED_MODEL

ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"
HEAD = (133, 6, 313, 234)  # the astronaut's face box (178, 63, 90, 114) grown by 50% each side: a head with context


@pytest.fixture(scope="module")
def detector():
    from fer_toolkit.fercore.faces import FaceDetector

    return FaceDetector()


@pytest.fixture(scope="module")
def predictor():
    from fer_toolkit.fercore.predictor import Predictor

    return Predictor(SHIPPED_MODEL)


def lfw_faces() -> np.ndarray:
    """scikit-image's ``lfw_subset`` faces (the first 100 of its 200 25x25 images are faces), as uint8."""
    from skimage import data

    return (data.lfw_subset()[:100] * 255).round().astype(np.uint8)


def padded(face: np.ndarray, side: int) -> Image.Image:
    """A tight face crop scaled to ``side`` px and set on a grey border of half its size (some context)."""
    img = Image.fromarray(face).convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (2 * side, 2 * side), (128, 128, 128))
    out.paste(img, (side // 2, side // 2))
    return out


def group_photo(fer_faces: np.ndarray) -> tuple[Image.Image, list[tuple[float, float, int]]]:
    """A 1600x1200 photo (scikit-image's coffee) with real faces of 24-200 px, rotated up to 30 degrees.

    Returns:
        the photo and ``(centre x, centre y, face width)`` of every face put in.
    """
    from skimage import data

    canvas = Image.fromarray(data.coffee()).resize((1600, 1200), Image.Resampling.BILINEAR)
    head = Image.open(ASTRONAUT).convert("RGB").crop(HEAD)
    lfw = lfw_faces()
    # (source, face width px, rotation degrees, top-left)
    plan = [("astronaut", 200, 0, (60, 80)), ("astronaut", 24, 0, (620, 140)), ("astronaut", 32, -30, (820, 120)),
            ("astronaut", 60, 30, (1050, 90)), ("lfw0", 80, 0, (1300, 60)), ("lfw1", 60, -20, (560, 650)),
            ("fer0", 100, 0, (80, 760)), ("fer1", 70, 15, (880, 760)), ("fer2", 90, -10, (1250, 800))]
    truth = []
    for src, side, angle, (x, y) in plan:
        if src == "astronaut":
            patch = head.resize((2 * side, round(2 * side * head.height / head.width)), Image.Resampling.LANCZOS)
        elif src.startswith("lfw"):
            patch = padded(lfw[int(src[3:]) * 7], side)
        else:
            patch = padded(fer_faces[int(src[3:])], round(side / 0.9))
        mask = Image.new("L", patch.size, 255).rotate(angle, expand=True, resample=Image.Resampling.BILINEAR)
        patch = patch.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        canvas.paste(patch, (x, y), mask)
        truth.append((x + patch.width / 2, y + patch.height / 2, side))
    return canvas, truth


def clear_fer_faces(fer: dict, detector, n: int = 3) -> np.ndarray:
    """The first ``n`` PrivateTest faces that YuNet scores >= 0.9 in their own 48x48 crop.

    FER2013 crops are tight and 48 px: about 4% have no face YuNet can see at all (BENCHMARKS.md, section 6),
    and this test is about sizes and rotations in a group, not about those.
    """
    keep = [x for x in fer["x_test"][:200] if [f for f in detector.detect(Image.fromarray(x)) if f.score >= 0.9]]
    return np.stack(keep[:n])


def matches(faces, truth) -> list[int]:
    """For each true face, the number of detections centred within half its width of it."""
    return [sum(abs(f.box.x + f.box.w / 2 - cx) < side / 2 and abs(f.box.y + f.box.h / 2 - cy) < side / 2
                for f in faces) for cx, cy, side in truth]


def test_vendored_detector_sha256():
    from fer_toolkit.fercore.faces import YUNET_PATH, YUNET_SHA256

    assert hashlib.sha256(YUNET_PATH.read_bytes()).hexdigest() == YUNET_SHA256
    readme = (YUNET_PATH.parent / "README.md").read_text()
    assert YUNET_SHA256 in readme and "Apache" in readme
    assert (YUNET_PATH.parent / "LICENSE-libfacedetection.train").stat().st_size > 10_000


def test_astronaut_box_landmarks_and_score(detector):
    faces = detector.detect(Image.open(ASTRONAUT))
    assert len(faces) == 1
    f = faces[0]
    assert 150 < f.box.x < 210 and 40 < f.box.y < 90 and 70 < f.box.w < 120 and f.score > 0.9
    (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = f.landmarks
    assert rx < nx < lx and max(ry, ly) < ny < min(mry, mly) and mrx < mlx  # eyes, then nose, then mouth


def test_group_photo_every_face_found(detector, fer):
    photo, truth = group_photo(clear_fer_faces(fer, detector))
    faces = detector.detect(photo)
    assert matches(faces, truth) == [1] * len(truth), [(f.box, round(f.score, 2)) for f in faces]
    assert len(faces) == len(truth)


def test_threshold_is_configurable(detector):
    img = Image.open(ASTRONAUT)
    score = detector.detect(img)[0].score
    assert detector.detect(img, score_threshold=min(1.0, score + 0.01)) == []
    from fer_toolkit.fercore.faces import FaceDetector

    with pytest.raises(ValueError, match="within 0..1"):
        FaceDetector(score_threshold=1.5)


def test_rotated_face_comes_out_level(detector):
    from fer_toolkit.fercore.align import aligned_crop, eye_angle, refine_landmarks

    img = Image.open(ASTRONAUT).convert("RGB").crop((78, 0, 368, 290))  # her eyes are level (0.4 degrees)
    upright = detector.detect(img)[0]
    reference = np.asarray(aligned_crop(img, refine_landmarks(img, upright.landmarks, detector), (48, 48))
                           .convert("L").resize((48, 48)), np.float32)
    def box_crop(image, face):
        return np.asarray(image.crop(face.box.expand(0.1, image.width, image.height)).convert("L").resize((48, 48)),
                          np.float32)

    reference_box = box_crop(img, upright)
    for angle in (-30, -20, 25):
        rotated = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
        face = detector.detect(rotated)[0]
        marks = refine_landmarks(rotated, face.landmarks, detector)
        assert abs(eye_angle(marks) + angle) < 7, (angle, eye_angle(marks))  # Image.rotate turns anticlockwise
        crop = np.asarray(aligned_crop(rotated, marks, (48, 48)).convert("L").resize((48, 48)), np.float32)
        level = np.corrcoef(crop.ravel(), reference.ravel())[0, 1]  # the same picture as the upright face's
        tilted = np.corrcoef(box_crop(rotated, face).ravel(), reference_box.ravel())[0, 1]  # without alignment
        assert level > 0.75 and level > tilted + 0.25, (angle, level, tilted)


def test_auto_classifies_a_fer_crop_whole_and_a_photo_by_faces(detector, predictor, fer):
    from fer_toolkit.fercore.analyze import analyze
    from fer_toolkit.fercore.options import FaceOptions

    for x in fer["x_test"][:20]:
        [r] = analyze(Image.fromarray(x), predictor, detector)
        assert r.box is None and r.crop == "whole"
        assert np.allclose(list(r.probs.values()), predictor.predict(x[..., None])[0], atol=1e-6)
    big = Image.fromarray(fer["x_test"][1]).resize((150, 150), Image.Resampling.BICUBIC)  # a crop, enlarged
    assert [r.crop for r in analyze(big, predictor, detector)] == ["aligned"]  # a detected face is aligned
    assert [r.crop for r in analyze(big, predictor, detector, FaceOptions(faces="all"))] == ["aligned"]
    photo, truth = group_photo(clear_fer_faces(fer, detector))
    found = analyze(photo, predictor, detector)
    assert len(found) == len(truth) and all(r.crop == "aligned" and r.box is not None for r in found)
    assert all(r.pixels.shape == predictor.config.input_shape for r in found)
    assert analyze(photo, predictor, detector, FaceOptions(faces="largest"))[0].box.w > 150  # the 200-px astronaut
    assert [r.crop for r in analyze(photo, predictor, detector, FaceOptions(align=False))] == ["box"] * len(truth)
    assert analyze(Image.fromarray(np.asarray(photo)[600:1200, :400]).resize((640, 480)), predictor, detector,
                   FaceOptions(faces="none"))[0].crop == "whole"
    sky = Image.new("RGB", (640, 480), (90, 140, 200))
    assert analyze(sky, predictor, detector) == []
    with pytest.raises(ValueError, match="faces must be one of"):
        FaceOptions(faces="some")


def test_occlusion_map_explains_the_top_class(predictor, fer):
    from fer_toolkit.fercore.occlusion import occlusion_map, overlay

    happy = predictor.labels.index("happy")
    x = next(x for x, y in zip(fer["x_test"], fer["y_test"]) if y == happy and
             predictor.predict(x[..., None])[0].argmax() == happy and predictor.predict(x[..., None])[0].max() < 0.9)
    drops, label = occlusion_map(predictor, x[..., None], grid=8)
    assert label == "happy" and drops.shape == (8, 8) and drops.max() > 0.02
    assert drops[4:].max() >= drops[:4].max()  # the mouth (lower half) matters most for a smile
    assert overlay(x[..., None], drops).size == (192, 192)
    with pytest.raises(ValueError, match="unknown label"):
        occlusion_map(predictor, x[..., None], label="bored")


def test_auto_aligns_a_portrait_and_a_tight_crop_and_takes_a_fer_crop_whole(detector, predictor, fer):
    """A 256x320 head-and-shoulders portrait (its face covers over 40% of it: the old rule took it whole) and a
    photo cropped to the face
    are detected and aligned; the tight crop's framing repeats its edge pixels instead of adding black."""
    from fer_toolkit.fercore.align import aligned_crop
    from fer_toolkit.fercore.analyze import analyze
    from fer_toolkit.fercore.faces import Box

    astronaut = Image.open(ASTRONAUT).convert("RGB")
    portrait = astronaut.crop((156, 36, 291, 205)).resize((256, 320), Image.Resampling.LANCZOS)
    [face] = analyze(portrait, predictor, detector)
    assert face.crop == "aligned" and face.box.area >= 0.4 * 256 * 320
    tight = astronaut.crop((178, 63, 268, 177))  # the detector's box alone: no margin around the face
    [face] = analyze(tight, predictor, detector)
    assert face.crop == "aligned" and isinstance(face.box, Box)
    black = np.asarray(aligned_crop(tight, face.landmarks, (48, 48), 1.4, fill="black").convert("L"))
    edge = np.asarray(aligned_crop(tight, face.landmarks, (48, 48), 1.4).convert("L"))
    assert (black[:, :4] == 0).mean() > 0.5 and (edge[:, :4] == 0).mean() < 0.1
    for x in fer["x_test"][:5]:
        assert [r.crop for r in analyze(Image.fromarray(x), predictor, detector)] == ["whole"]
