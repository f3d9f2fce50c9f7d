"""Command line: ``python -m fer_toolkit.training {prepare,train,evaluate}``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from fer_toolkit.fercore.cli import OneLineParser, run_cli


def _pair(text: str) -> tuple[int, int]:
    parts = text.lower().replace(",", "x").split("x")
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW or N, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) < 8:
        raise argparse.ArgumentTypeError(f"expected HxW with sides >= 8, got {text!r}")
    return vals


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    from fer_toolkit.training.config import TrainConfig

    d = TrainConfig()
    p = OneLineParser(prog="fer-toolkit", description="Train and evaluate the emotion CNN.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)

    pr = sub.add_parser("prepare", help="build DIR/{train,val,test}/<class>/*.png from fer2013.csv or .npz")
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", type=Path, help="Kaggle fer2013.csv (emotion,pixels,Usage)")
    src.add_argument("--npz", type=Path, help="the shared fer2013.npz")
    pr.add_argument("--votes", type=Path, help="with --npz: crowd votes of its training split (FER+ layout .npz or "
                    ".csv) written as OUT/votes.csv for train --soft-labels")
    pr.add_argument("--out", type=Path, required=True)

    tr = sub.add_parser("train", help="fit a model; best checkpoint on val top-1")
    tr.add_argument("--data", default=d.data, help="folder with train/<class>/* (val/, test/ optional) or a .npz")
    tr.add_argument("--out", default=d.out, help="run folder for checkpoints, logs and metrics")
    tr.add_argument("--input-size", type=_pair, default=d.input_size, help="HxW, e.g. 48x48 or 64")
    tr.add_argument("--channels", type=int, choices=(1, 3), default=d.channels, help="1 grayscale, 3 RGB")
    tr.add_argument("--crop", type=int, default=d.crop, help="network input side (random crops in training)")
    tr.add_argument("--epochs", type=int, default=d.epochs)
    tr.add_argument("--batch-size", type=int, default=d.batch_size)
    tr.add_argument("--optimizer", choices=("adamw", "adam", "sgd"), default=d.optimizer)
    tr.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    tr.add_argument("--weight-decay", type=float, default=d.weight_decay)
    tr.add_argument("--schedule", choices=("cosine", "plateau", "constant"), default=d.schedule)
    tr.add_argument("--swa-start", type=int, default=d.swa_start,
                    help="stochastic weight averaging from this epoch on (1-based; 0: off): best.keras is the "
                         "best weight average on val; use with --schedule constant, e.g. from --init")
    tr.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    tr.add_argument("--class-weight", choices=("none", "balanced", "sqrt"), default=d.class_weight)
    tr.add_argument("--no-augment", dest="augment", action="store_false")
    tr.add_argument("--rotation", type=float, default=d.rotation, help="max rotation, fraction of a full turn")
    tr.add_argument("--shift", type=float, default=d.shift, help="max shift, fraction of the side")
    tr.add_argument("--zoom", type=float, default=d.zoom, help="max zoom, fraction of the side")
    tr.add_argument("--erasing", type=float, default=d.erasing, help="random-erasing probability per image")
    tr.add_argument("--served-crops", type=float, default=d.served_crops,
                    help="share 0..1 of training faces replaced by the crop serving gives them (detected, aligned)")
    tr.add_argument("--photometric", type=float, default=d.photometric,
                    help="strength 0..1 of lighting, contrast, blur, noise and JPEG jitter")
    tr.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    tr.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"), default=d.precision,
                    help="auto: mixed_bfloat16 on a GPU or a CPU with native bf16 (AVX-512 BF16, AMX), else float32")
    tr.add_argument("--soft-labels", default=d.soft_labels,
                    help="teacher probabilities (.npy, N_train x K) to distil, or crowd votes (.npz in the FER+ "
                         "layout, .csv with a class-name header; --kd-temperature 1 trains on their distribution)")
    tr.add_argument("--init", default=d.init,
                    help="start from this network (.keras, e.g. one recovered with 'fer-toolkit export "
                         "--from-onnx'): its weights, widths, head units and crop; a warm restart, new schedule")
    tr.add_argument("--kd-alpha", type=float, default=d.kd_alpha, help="weight of the hard-label loss")
    tr.add_argument("--kd-temperature", type=float, default=d.kd_temperature)
    tr.add_argument("--widths", type=_widths, default=d.widths, help="conv widths per block, e.g. 32,64,128,256")
    tr.add_argument("--block-dropout", type=float, default=d.block_dropout)
    tr.add_argument("--head-units", type=int, default=d.head_units)
    tr.add_argument("--head-dropout", type=float, default=d.head_dropout)
    tr.add_argument("--patience", type=int, default=d.patience, help="EarlyStopping patience (epochs)")
    tr.add_argument("--val-fraction", type=float, default=d.val_fraction, help="held out from train/ if no val/")
    tr.add_argument("--seed", type=int, default=d.seed)
    tr.add_argument("--resume", action="store_true", help="continue from OUT/last.keras")

    sl = sub.add_parser("soft-labels", help="a teacher's probabilities on the training split, for --soft-labels")
    sl.add_argument("--teacher", type=Path, required=True, help="exported teacher (.onnx)")
    sl.add_argument("--data", type=Path, default=Path(d.data), help="folder tree or .npz")
    sl.add_argument("--out", type=Path, required=True, help=".npy file to write")

    ev = sub.add_parser("evaluate", help="metrics, confusion matrix and plots for a run")
    ev.add_argument("--run", type=Path, default=Path(d.out), help="run folder written by train")
    ev.add_argument("--data", type=Path, help="data folder (default: the run's)")
    ev.add_argument("--split", default="test", choices=("train", "val", "test"))
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (:func:`fer_toolkit.fercore.cli.run_cli`'s policy)."""
    args = parser().parse_args(argv)
    return run_cli(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.cmd == "prepare":
        from fer_toolkit.training.data import DataError
        from fer_toolkit.training.prepare import csv_to_tree, npz_to_tree

        if args.votes and not args.npz:
            raise DataError("--votes needs --npz (its rows follow the archive's training split)")
        counts = csv_to_tree(args.csv, args.out) if args.csv else npz_to_tree(args.npz, args.out, args.votes)
        print(f"wrote {sum(counts.values())} images to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    elif args.cmd == "train":
        from fer_toolkit.training.config import TrainConfig
        from fer_toolkit.training.train import train

        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
        print(train(cfg, resume=args.resume))
    elif args.cmd == "soft-labels":
        from fer_toolkit.training.distill import soft_labels

        probs = soft_labels(args.teacher, args.data, args.out)
        agree = f"{len(probs)} x {probs.shape[1]}"
        print(f"wrote {args.out}: {agree} teacher probabilities (float16)")
    elif args.cmd == "evaluate":
        from fer_toolkit.training.evaluate import evaluate_run

        metrics = evaluate_run(args.run, args.data, args.split)
        print(f"{args.split}: top-1 {metrics['top1_accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
