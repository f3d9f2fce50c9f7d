"""``fer-toolkit export --run RUN [--run RUN ...] --out models/x.onnx``: export, parity check, measurements, card.

Also ``python -m fer_toolkit.export``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from fer_toolkit.fercore.cli import OneLineParser, run_cli


def parser() -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    from fer_toolkit.training.config import TTA_MODES

    p = OneLineParser(prog="fer-toolkit export", description="Export trained runs to one ONNX file with metadata.")
    p.add_argument("--run", type=Path, action="append", dest="runs",
                   help="run folder written by training; repeat for an ensemble (default runs/fer2013)")
    p.add_argument("--out", type=Path, default=Path("models/fer2013_cnn.onnx"), help="ONNX file to write")
    p.add_argument("--data", type=Path, help="data folder or .npz (default: the first run's)")
    p.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time views folded into the graph")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="no temperature scaling (default: fitted on PublicTest)")
    p.add_argument("--no-test", dest="evaluate_test", action="store_false",
                   help="do not measure the file on the test split (PrivateTest)")
    p.add_argument("--opset", type=int, default=17, choices=range(13, 19), metavar="{13..18}")
    p.add_argument("--model-version", default="1", help="written to the model's metadata")
    p.add_argument("--no-card", dest="card", action="store_false", help="do not write the model card")
    p.add_argument("--no-int8", dest="int8", action="store_false", help="do not write the static INT8 model")
    p.add_argument("--int8-only", action="store_true",
                   help="only re-quantize the existing --out fp32 file to INT8 (no Keras model needed); "
                        "updates its export report and card")
    p.add_argument("--from-onnx", type=Path, metavar="FILE",
                   help="first recover the Keras run of a plain export FILE into --run (fer_toolkit.export.recover), "
                        "e.g. to add --tta or calibration to a model whose run is gone; needs --data")
    p.add_argument("--member", metavar="NAME",
                   help="with --from-onnx of an ensemble: the member to recover (its name in the "
                        "file's members metadata, e.g. base2_swa, or its index)")
    p.add_argument("--recover-only", action="store_true",
                   help="with --from-onnx: write the recovered run and stop (e.g. to train it further with "
                        "'fer-toolkit train --init RUN/best.keras')")
    p.add_argument("--photos", type=Path, metavar="DIR",
                   help="labelled photos DIR/<class>/<image>: the card's real-photo section (fp32 and INT8 files)")
    p.add_argument("--photos-only", action="store_true",
                   help="only measure the existing --out file (and its INT8 twin) on --photos; updates its export "
                        "report and card")
    p.add_argument("--card-note", default="", help="a sentence for the model card (e.g. how the run was resumed)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (:func:`fer_toolkit.fercore.cli.run_cli`'s policy; a failed parity
    check or calibration, ``RuntimeError``, is one line too)."""
    args = parser().parse_args(argv)
    return run_cli(lambda: _run(args), expected=(RuntimeError,))


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from fer_toolkit.export.int8 import requantize
    from fer_toolkit.export.onnx_export import export_run

    if args.from_onnx is not None:
        if not args.runs or len(args.runs) != 1 or args.data is None:
            raise ValueError("--from-onnx needs one --run folder to write and --data")
        from fer_toolkit.export.recover import recover_run

        which = f"member {args.member} of " if args.member is not None else ""
        print(f"recovered {recover_run(args.from_onnx, args.runs[0], args.data, member=args.member)} "
              f"from {which}{args.from_onnx}")
        if args.recover_only:
            return 0
    elif args.recover_only or args.member is not None:
        raise ValueError(f"{'--recover-only' if args.recover_only else '--member'} needs --from-onnx")
    if args.photos_only:
        if args.photos is None:
            raise ValueError("--photos-only needs --photos DIR")
        report = {}
    elif args.int8_only:
        report = requantize(args.out, args.data)
    else:
        report = export_run(args.runs or [Path("runs/fer2013")], args.out, args.data, args.opset, args.model_version,
                            args.tta, args.calibrate, int8=args.int8, evaluate_test=args.evaluate_test)
        par = report["parity"]
        print(f"wrote {report['onnx_path']}: T = {report['temperature']:.3f}, "
              f"val top-1 {report['val']['top1_accuracy']:.2%}, parity on {par['n']} val images, "
              f"top-1 agreement {par['top1_agreement']:.2%}, max |dp| {par['max_abs_diff']:.1e}")
        if "test" in report:
            t = report["test"]
            print(f"test: top-1 {t['top1_accuracy']:.2%}, macro-F1 {t['macro_f1']:.3f}, ECE {t['ece']:.3f} "
                  f"({report['privatetest_evaluations']} test evaluations recorded)")
    if "int8" in report:
        q = report["int8"]
        print(f"wrote {q['path']}: top-1 {q['top1_accuracy']:.2%} (fp32 {q['fp32_top1_accuracy']:.2%}), "
              f"agreement with fp32 {q['top1_agreement_with_fp32']:.2%} on {q['n']} images")
    if args.photos is not None:
        from fer_toolkit.export.photos import measure_photos

        for name, m in measure_photos(args.out, args.photos)["files"].items():
            print(f"{name} on {args.photos}: top-1 {m['top1_accuracy']:.2%}, macro-F1 {m['macro_f1']:.3f}")
    if args.card:
        from fer_toolkit.export.card import write_card

        print(f"wrote {write_card(args.out, args.card_note)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
