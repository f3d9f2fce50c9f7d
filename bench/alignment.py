"""How to crop a detected face for the classifier, chosen by measurement (BENCHMARKS.md, section 6).

1. Template: the median YuNet landmarks on FER2013 Training crops (``fer_toolkit.fercore.align.FER_TEMPLATE``) and how
   much of a crop YuNet's box covers (``fer_toolkit.fercore.analyze.FACE_LIKE_FRACTION``).
2. Accuracy: FER2013 PublicTest faces (the selection split: PrivateTest is kept for shipped models) pasted at
   several sizes and rotations into real backgrounds
   (scikit-image's coffee, rocket and Hubble photos), detected with YuNet, cropped by each method and classified;
   the reference is the same faces' original 48x48 crops.

``python -m bench.alignment [--model PATH] [-n N]`` prints the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import NPZ
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_int
from fer_toolkit.models import resolve

SIZES, ANGLES, ZOOMS = (40, 80, 160), (0, 15, 30), (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


def backgrounds() -> list[Image.Image]:
    """Real photos without faces, from scikit-image."""
    from skimage import data

    return [Image.fromarray(f()).convert("RGB") for f in (data.coffee, data.rocket, data.hubble_deep_field)]


def paste(face: np.ndarray, bg: Image.Image, size: int, angle: float, rng: np.random.Generator):
    """``face`` (48x48 uint8) scaled to ``size``, rotated by ``angle`` degrees, pasted at a random place of a
    ``(2.5 size)``-square patch of ``bg``; returns the canvas and the face centre."""
    side = max(160, int(2.5 * size))
    if min(bg.size) <= side:
        k = (side + 1) / min(bg.size)
        bg = bg.resize((round(bg.width * k) + 1, round(bg.height * k) + 1), Image.Resampling.BILINEAR)
    x0, y0 = rng.integers(0, bg.width - side), rng.integers(0, bg.height - side)
    canvas = bg.crop((x0, y0, x0 + side, y0 + side))
    f = Image.fromarray(face).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    mask = Image.new("L", f.size, 255).rotate(angle, expand=True, resample=Image.Resampling.BILINEAR)
    f = f.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    px, py = rng.integers(0, side - f.width + 1), rng.integers(0, side - f.height + 1)
    canvas.paste(f, (int(px), int(py)), mask)
    return canvas, (px + f.width / 2, py + f.height / 2)


def template(x_train: np.ndarray, detector) -> tuple[np.ndarray, float, np.ndarray]:
    """Median normalised landmarks, the share of crops with a face found, box/crop area percentiles 5/50/95."""
    marks, cover = [], []
    for a in x_train:
        f = detector.detect(Image.fromarray(a))
        if f:
            marks.append(f[0].landmarks / np.array(a.shape[::-1], np.float32))
            cover.append(f[0].box.area / a.size)
    return np.median(marks, 0), len(marks) / len(x_train), np.percentile(cover, [5, 50, 95])


def accuracy(x: np.ndarray, y: np.ndarray, model: Path, seed: int = 0) -> tuple[dict, dict]:
    """Per (size, angle): detection rate, and for each crop method its correct count on the detected faces."""
    from fer_toolkit.fercore.align import DEFAULT_ZOOM, aligned_crop, refine_landmarks
    from fer_toolkit.fercore.analyze import FACE_MARGIN
    from fer_toolkit.fercore.faces import FaceDetector
    from fer_toolkit.fercore.predictor import Predictor

    pred, det, bgs, rng = Predictor(model), FaceDetector(), backgrounds(), np.random.default_rng(seed)
    hw = pred.config.input_size[::-1]
    found, results = {}, {}
    for size in SIZES:
        for angle in ANGLES:
            inputs: dict[str, list] = {"original 48x48 crop": [], f"box + {FACE_MARGIN:.0%} margin (--no-align)": []}
            labels = []
            for i, (face, label) in enumerate(zip(x, y)):
                img, (cx, cy) = paste(face, bgs[i % len(bgs)], size, angle * rng.choice((-1, 1)), rng)
                hits = [f for f in det.detect(img) if abs(f.box.x + f.box.w / 2 - cx) < size / 2
                        and abs(f.box.y + f.box.h / 2 - cy) < size / 2]
                if not hits:
                    continue
                f = max(hits, key=lambda h: h.score)
                labels.append(label)
                inputs["original 48x48 crop"].append(pred.preprocess(face))
                inputs[f"box + {FACE_MARGIN:.0%} margin (--no-align)"].append(
                    pred.preprocess(img.crop(f.box.expand(FACE_MARGIN, img.width, img.height))))
                marks = refine_landmarks(img, f.landmarks, det)
                inputs.setdefault(f"aligned with YuNet's first landmarks, zoom {DEFAULT_ZOOM}", []).append(
                    pred.preprocess(aligned_crop(img, f.landmarks, hw, DEFAULT_ZOOM)))
                for z in ZOOMS:
                    inputs.setdefault(f"aligned, zoom {z}", []).append(
                        pred.preprocess(aligned_crop(img, marks, hw, z)))
            found[(size, angle)] = len(labels) / len(x)
            for k, v in inputs.items():
                ok = int((pred.predict(np.stack(v)).argmax(1) == np.array(labels)).sum()) if v else 0
                results.setdefault(k, {})[(size, angle)] = (ok, len(labels))
    return found, results


def crops_whole_vs_aligned(x: np.ndarray, y: np.ndarray, model: Path) -> dict[str, float]:
    """Top-1 on FER2013 crops themselves: classified whole vs detected and aligned (where a face is found)."""
    from fer_toolkit.fercore.analyze import face_input
    from fer_toolkit.fercore.faces import FaceDetector
    from fer_toolkit.fercore.predictor import Predictor

    pred, det = Predictor(model), FaceDetector()
    whole, aligned, labels = [], [], []
    for face, label in zip(x, y):
        img = Image.fromarray(face)
        f = det.detect(img)
        if f:
            whole.append(pred.preprocess(img))
            aligned.append(face_input(img, f[0], pred.config, det)[0])
            labels.append(label)
    lab = np.array(labels)
    return {"faces found": len(labels) / len(x),
            "whole": float((pred.predict(np.stack(whole)).argmax(1) == lab).mean()),
            "aligned": float((pred.predict(np.stack(aligned)).argmax(1) == lab).mean())}


def report(model: Path, n: int = 600) -> list[str]:
    """Markdown lines for BENCHMARKS.md."""
    from fer_toolkit.fercore.faces import FaceDetector

    with np.load(NPZ) as d:
        x_train, x_val, y_val = d["x_train"][:2000], d["x_val"][:n], d["y_val"][:n]
    med, rate, cover = template(x_train, FaceDetector())
    lines = [f"Template (`fercore.align.FER_TEMPLATE`): YuNet found a face in {rate:.1%} of 2,000 FER2013 Training "
             "crops; median landmarks as fractions of the crop (x, y): "
             + ", ".join(f"({a:.3f}, {b:.3f})" for a, b in med)
             + f". Its box covers {cover[0]:.0%} / {cover[1]:.0%} / {cover[2]:.0%} (5th/50th/95th percentile) of "
             "the crop (`FACE_LIKE_FRACTION` = 40%).\n",
             f"Top-1 on the first {n} FER2013 PublicTest faces pasted into real backgrounds at each face size "
             "and rotation (random sign), among the faces YuNet found there (threshold 0.8):\n"]
    found, results = accuracy(x_val, y_val, model)
    keys = list(found)
    lines.append("| crop | " + " | ".join(f"{s} px, {a}°" for s, a in keys) + " | all found faces |")
    lines.append("| --- |" + " ---: |" * (len(keys) + 1))
    lines.append("| faces found | " + " | ".join(f"{found[k]:.1%}" for k in keys)
                 + f" | {np.mean(list(found.values())):.1%} |")
    for name, r in results.items():
        pooled = sum(ok for ok, _ in r.values()) / max(1, sum(n for _, n in r.values()))
        lines.append(f"| {name} | " + " | ".join(f"{ok / max(1, n):.1%}" for ok, n in r.values())
                     + f" | **{pooled:.1%}** |")
    c = crops_whole_vs_aligned(x_val, y_val, model)
    lines.append(f"\nFER2013 crops themselves (`--faces auto` decides): among the {c['faces found']:.1%} of these "
                 f"{n} PublicTest crops where YuNet finds a face, top-1 classified whole {c['whole']:.1%}, "
                 f"detected and aligned {c['aligned']:.1%}.")
    return lines


def main() -> None:
    p = OneLineParser(prog="python -m bench.alignment")
    p.add_argument("--model", type=existing_file, default=resolve("fast"))
    p.add_argument("-n", type=positive_int, default=600)
    a = p.parse_args()
    print("\n".join(report(a.model, a.n)))


if __name__ == "__main__":
    main()
