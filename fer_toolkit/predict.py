"""``fer-toolkit predict IMAGE [IMAGE ...]``: the faces and emotions in single images, as a table or JSON.

It runs the analysis path of the demo and the workers (:class:`fer_toolkit.api.EmotionModel`), with the same
face modes and defaults. ``-`` reads one image from standard input. An image that cannot be read prints one
``error:`` line on stderr and makes the exit status 1; the other images are still printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_toolkit.fercore.analyze import FACE_MODES, FaceResult
from fer_toolkit.fercore.cli import OneLineParser, unit_interval
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS
from fer_toolkit.models import NAMES, is_role


def parser(prog: str = "fer-toolkit predict") -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    p = OneLineParser(prog=prog, description="Classify the facial expressions in images.")
    p.add_argument("images", nargs="+", help="image files; - reads one image from standard input")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per image and line, with every class probability")
    p.add_argument("--model", help="ONNX model exported by this project, or a shipped role: fast, balanced, "
                   "accurate (default: accurate, two networks with multiscale TTA)")
    p.add_argument("--fast", action="store_true", help="the shipped fast model (the same as --model fast)")
    p.add_argument("--int8", action="store_true", help="the shipped model's static INT8 twin")
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="auto: detected faces, or a face crop whole (default); largest/all faces; none: whole")
    p.add_argument("--no-align", dest="align", action="store_false",
                   help="crop the detector's box instead of rotating faces level and framing them like FER2013")
    p.add_argument("--face-threshold", type=unit_interval, default=0.8, help="detector score threshold 0..1")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="larger images are refused")
    return p


def face_record(index: int, face: FaceResult) -> dict:
    """One face as a JSON-ready dict: ``index`` (1-based, as in the demo), ``box`` ``[x, y, w, h]`` pixels or
    None (whole image), ``label``, ``confidence``, ``probs``, detector ``score``, ``landmarks`` ``[[x, y]] * 5``
    and ``crop`` (``aligned``, ``box`` or ``whole``)."""
    box = None if face.box is None else [face.box.x, face.box.y, face.box.w, face.box.h]
    marks = None if face.landmarks is None else [[round(float(v), 1) for v in p] for p in face.landmarks]
    return {"index": index, "box": box, "label": face.label, "confidence": round(face.confidence, 4),
            "probs": {k: round(v, 4) for k, v in face.probs.items()},
            "score": None if face.score is None else round(face.score, 4), "landmarks": marks, "crop": face.crop}


def table_lines(name: str, faces: list[FaceResult], width: int = 28) -> list[str]:
    """Rows of the readable table for one image (a ``no face`` row when there is none); ``width``: file column."""
    if not faces:
        return [f"{name:<{width}} {'-':>4}  {'no face':<22} {'-':<9} {'-':>10}  -"]
    out = []
    for i, f in enumerate(faces, start=1):
        box = "whole image" if f.box is None else f"{f.box.x},{f.box.y},{f.box.w}x{f.box.h}"
        out.append(f"{name:<{width}} {i:>4}  {box:<22} {f.label:<9} {f.confidence:>10.3f}  {f.crop}")
    return out


def main(argv: list[str] | None = None, prog: str = "fer-toolkit predict") -> int:
    """Entry point; returns 0, or 1 when any image could not be read (the others are printed)."""
    p = parser(prog)
    args = p.parse_args(argv)
    if args.model is not None and args.fast:
        p.error("--model excludes --fast")
    if args.int8 and args.model is not None and not is_role(args.model):
        p.error(f"--int8 picks a shipped model's INT8 twin, not a file's: give --model {'|'.join(NAMES)}, "
                "or the .int8.onnx file")
    from fer_toolkit.api import load_model
    from fer_toolkit.fercore.preprocess import ImageDecodeError

    try:
        model = load_model(args.model, args.int8, not args.fast, faces=args.faces, align=args.align,
                           face_threshold=args.face_threshold, max_pixels=args.max_pixels)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    status, width = 0, min(max(map(len, [*args.images, "file"])), 60)
    if not args.json:
        print(f"{'file':<{width}} {'face':>4}  {'box (x,y,wxh)':<22} {'label':<9} {'confidence':>10}  crop")
    for name in args.images:
        try:
            source = sys.stdin.buffer.read() if name == "-" else Path(name)
            if name != "-" and not source.is_file():
                raise ImageDecodeError("no such file" if not source.exists() else "not a file")
            faces = model.analyze(source)
        except ImageDecodeError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps({"file": name, "faces": [face_record(i, f) for i, f in enumerate(faces, start=1)]}))
        else:
            print("\n".join(table_lines(name, faces, width)))
        sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
