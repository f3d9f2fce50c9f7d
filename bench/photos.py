"""Face mode and crop framing on labelled real photos: ``python -m bench.photos DIR [--model M ...]``.

Detects the faces of every photo of a labelled tree ``DIR/<class>/<image>`` once (YuNet, landmarks re-measured
upright as served), then classifies each photo's largest face with every framing at once: the whole image, the
detector's box plus 10%, and the aligned crop at each zoom of ``--zooms`` (pixels outside the photo black, or
the photo's edge pixels repeated as served). It prints top-1 per source (``MANIFEST.json``) and per framing, and
the faces' share of the image, from which ``auto``'s rule was chosen (BENCHMARKS.md, "Real photos"). A photo with
no face found counts as wrong in every framing but ``whole``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import machine, replace_block
from fer_toolkit.evaluate_photos import labelled_photos
from fer_toolkit.fercore.align import DEFAULT_ZOOM, aligned_crop, refine_landmarks
from fer_toolkit.fercore.analyze import FACE_MARGIN
from fer_toolkit.fercore.faces import FaceDetector
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import open_image
from fer_toolkit.models import resolve

ZOOMS = (0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6)


def detect_all(files: list[tuple[Path, int, str]], detector: FaceDetector) -> list[dict]:
    """Per photo: the image, its size, the largest face's box, refined landmarks, and the box's share of the
    image."""
    out = []
    for path, _, _ in files:
        img = open_image(path)
        faces = detector.detect(img)
        rec = {"image": img, "size": img.size, "n": len(faces)}
        if faces:
            f = faces[0]
            rec.update(box=f.box, marks=refine_landmarks(img, f.landmarks, detector),
                       frac=f.box.area / (img.width * img.height))
        out.append(rec)
    return out


def framings(rec: dict, size: tuple[int, int], zooms: tuple[float, ...]) -> dict[str, Image.Image]:
    """Every candidate model input of one photo, by framing name."""
    img = rec["image"]
    out = {"whole": img}
    if "box" not in rec:
        return out
    out["box"] = img.crop(rec["box"].expand(FACE_MARGIN, img.width, img.height))
    for z in zooms:
        out[f"black@{z}"] = aligned_crop(img, rec["marks"], size, z, fill="black")
        out[f"edge@{z}"] = aligned_crop(img, rec["marks"], size, z, fill="edge")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints markdown tables (and with ``--out`` writes them into that file's ``photos`` section)."""
    p = argparse.ArgumentParser(prog="python -m bench.photos", description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="labelled tree DIR/<class>/<image>")
    p.add_argument("--model", action="append", help="role or ONNX file (repeatable; default: every role)")
    p.add_argument("--int8", action="store_true", help="roles' INT8 twins")
    p.add_argument("--zooms", default=",".join(map(str, ZOOMS)))
    p.add_argument("--out", type=Path, help="also write the tables into this file's photos section (BENCHMARKS.md)")
    args = p.parse_args(argv)
    zooms = tuple(float(z) for z in args.zooms.split(","))
    specs = args.model or ["fast", "balanced", "accurate"]
    labels = Predictor(resolve(specs[0], args.int8)).labels
    files = labelled_photos(args.root, labels)
    recs = detect_all(files, FaceDetector())
    y = np.array([c for _, c, _ in files])
    src = np.array([s for _, _, s in files])
    has = np.array(["box" in r for r in recs])
    frac = np.array([r.get("frac", 0.0) for r in recs])
    groups = ["all", *sorted(set(src))]
    counts = ", ".join(f"{g} {(src == g).sum()}" for g in groups[1:])
    lines = [f"## Real photos: face mode and framing (`python -m bench.photos DIR{' --int8' if args.int8 else ''}`)\n",
             f"Measured on {machine()}: {len(files)} labelled photos ({counts}), "
             f"the largest face of each, top-1 per framing: the whole image, the detector's box plus 10%, and the "
             f"aligned crop at each zoom with pixels past the photo black or its edge repeated (served: `edge` at "
             f"zoom {DEFAULT_ZOOM}). Faces found in {has.mean():.1%}; the face box covers a median "
             + ", ".join(f"{np.median(frac[(src == g) & has]):.2f} of {g}" for g in groups[1:]) + " of the image.\n"]
    for spec in specs:
        pred = Predictor(resolve(spec, args.int8))
        size = (pred.config.input_size[1], pred.config.input_size[0])
        got: dict[str, np.ndarray] = defaultdict(lambda: np.full(len(files), -1))
        for i, rec in enumerate(recs):
            views = framings(rec, size, zooms)
            probs = pred.predict(np.stack([pred.preprocess(v) for v in views.values()]))
            for name, pr in zip(views, probs):
                got[name][i] = int(np.argmax(pr))
        lines += [f"\n### {Path(str(resolve(spec, args.int8))).name}\n",
                  "| framing | " + " | ".join(groups) + " |", "| --- |" + " ---: |" * len(groups)]
        for name in got:
            ok = got[name] == y
            cells = [ok.mean()] + [ok[src == g].mean() for g in groups[1:]]
            lines.append(f"| {name} | " + " | ".join(f"{100 * c:.1f}%" for c in cells) + " |")
    print("\n".join(lines))
    if args.out:
        args.out.write_text(replace_block(args.out.read_text() if args.out.is_file() else "", "photos", lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
