"""``python -m export --run RUN --out models/x.onnx``: export, parity check, model card."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from training.cli_util import OneLineParser, run_cli


def parser() -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    p = OneLineParser(prog="python -m export", description="Export a trained run to ONNX with metadata.")
    p.add_argument("--run", type=Path, default=Path("runs/fer2013"), help="run folder written by training")
    p.add_argument("--out", type=Path, default=Path("models/fer2013_cnn.onnx"), help="ONNX file to write")
    p.add_argument("--data", type=Path, help="data folder for the parity images (default: the run's)")
    p.add_argument("--opset", type=int, default=17, choices=range(13, 19), metavar="{13..18}")
    p.add_argument("--model-version", default="1", help="written to the model's metadata")
    p.add_argument("--no-card", dest="card", action="store_false", help="do not write the model card")
    p.add_argument("--no-int8", dest="int8", action="store_false", help="do not write the static INT8 model")
    p.add_argument("--int8-only", action="store_true",
                   help="only re-quantize the existing --out fp32 file to INT8 (the Keras model is not needed); "
                        "updates the run's export_parity.json and the card")
    p.add_argument("--card-note", default="", help="a sentence for the model card (e.g. how the run was resumed)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from export.onnx_export import export_run, requantize_run

    if args.int8_only:
        report = requantize_run(args.run, args.out, args.data)
    else:
        report = export_run(args.run, args.out, args.data, args.opset, args.model_version, int8=args.int8)
        print(f"wrote {report['onnx_path']}: parity on {report['n']} {report['parity_split']} images, "
              f"top-1 agreement {report['top1_agreement']:.2%}, max |dp| {report['max_abs_diff']:.1e}")
    if "int8" in report:
        q = report["int8"]
        print(f"wrote {q['path']}: top-1 {q['top1_accuracy']:.2%} (fp32 {q['fp32_top1_accuracy']:.2%}), "
              f"agreement with fp32 {q['top1_agreement_with_fp32']:.2%} on {q['n']} {q['split']} images")
    if args.card:
        from export.card import write_card

        print(f"wrote {write_card(args.run, args.out, args.card_note)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, expected=(RuntimeError,)))
