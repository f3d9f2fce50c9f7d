"""``fer-toolkit predict IMAGE|VIDEO [...]``: the faces and emotions in images and videos, as a table or JSON.

It runs the analysis path of the demo and the workers (:class:`fer_toolkit.api.EmotionModel`), with the same
face options and defaults, and prints each face as :func:`fer_toolkit.fercore.records.face_record` gives it (the
CSV report's numbers). ``-`` reads one image from standard input. An image that cannot be read prints one
``error:`` line on stderr and makes the exit status 1; the other images are still printed. Videos (by their
extension) print a row per sampled frame and face (:mod:`fer_toolkit.predict_video`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_toolkit.fercore.cli import OneLineParser, print_error, run_cli
from fer_toolkit.fercore.options import FaceOptions, add_face_arguments
from fer_toolkit.fercore.records import box_text, face_records
from fer_toolkit.fercore.session import add_providers_argument
from fer_toolkit.fercore.video import is_video
from fer_toolkit.models import add_model_arguments
from fer_toolkit.predict_video import add_fps_argument, print_video

HEADER = ("file", "face", "box (x,y,w,h)", "label", "confidence", "crop")


def parser(prog: str = "fer-toolkit predict") -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    p = OneLineParser(prog=prog, description="Classify the facial expressions in images and videos.")
    p.add_argument("images", nargs="+", help="image or video files; - reads one image from standard input")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per image (or sampled video frame) and line, with every class probability")
    add_model_arguments(p, "predict")
    add_face_arguments(p)
    add_providers_argument(p)
    add_fps_argument(p)
    return p


def table_lines(name: str, records: list[dict], width: int = 28) -> list[str]:
    """Rows of the readable table for one image's face records (a ``no face`` row when there is none);
    ``width``: the file column's."""
    if not records:
        return [f"{name:<{width}} {'-':>4}  {'no face':<22} {'-':<9} {'-':>10}  -"]
    return [f"{name:<{width}} {r['face']:>4}  {box_text(r) or 'whole image':<22} {r['label']:<9} "
            f"{r['confidence']:>10.3f}  {r['crop']}" for r in records]


def main(argv: list[str] | None = None, prog: str = "fer-toolkit predict") -> int:
    """Entry point; returns 0, or 1 when the model cannot be loaded or any image could not be read (the others
    are printed)."""
    args = parser(prog).parse_args(argv)
    return run_cli(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from fer_toolkit.api import EmotionModel
    from fer_toolkit.fercore.preprocess import ImageDecodeError

    model = EmotionModel(args.model, args.int8, FaceOptions.from_args(args), entry="predict",
                         providers=args.providers)
    status, width = 0, min(max(map(len, [*args.images, "file"])), 60)
    if not args.json and not all(is_video(n) for n in args.images):
        f, n, b, lab, c, crop = HEADER
        print(f"{f:<{width}} {n:>4}  {b:<22} {lab:<9} {c:>10}  {crop}")
    for name in args.images:
        if name != "-" and is_video(name):
            status |= print_video(model, name, args.fps, args.json, width)
            continue
        try:
            source = sys.stdin.buffer.read() if name == "-" else Path(name)
            if name != "-" and not source.is_file():
                raise ImageDecodeError("no such file" if not source.exists() else "not a file")
            records = face_records(model.analyze(source))
        except ImageDecodeError as e:
            print_error(f"{name}: {e}")
            status = 1
            continue
        if args.json:
            print(json.dumps({"file": name, "faces": records}))
        else:
            print("\n".join(table_lines(name, records, width)))
        sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
