"""``python -m fer_toolkit.worker {submit,status,wait,cancel,score}``: batch scoring from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_toolkit.fercore.cli import OneLineParser, positive_int, print_error, run_cli
from fer_toolkit.fercore.options import FaceOptions, add_face_arguments
from fer_toolkit.fercore.session import add_providers_argument
from fer_toolkit.models import default_text
from fer_toolkit.predict_video import add_fps_argument


def parser() -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    p = OneLineParser(prog="fer-toolkit", description="Score folders of images and videos into CSV reports.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    for name, help_ in (("submit", "queue a job on the Celery workers; prints the job id"),
                        ("score", "score in this process, without Redis")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("dir", type=Path, help="folder of images and videos")
        s.add_argument("--out", type=Path, required=True, help="CSV report to write")
        s.add_argument("--recursive", action="store_true", help="include sub-folders")
        s.add_argument("--chunk-size", type=positive_int, default=256,
                       help="images (or a video's sampled frames) per task")
        s.add_argument("--model", help="ONNX file, or a shipped role: fast, balanced or accurate (the fp32 file; "
                                       f"--int8: its INT8 twin); default $SCORER_MODEL, else {default_text('workers')}")
        s.add_argument("--int8", action="store_true", default=None,
                       help="the shipped role's static INT8 twin (default $SCORER_INT8)")
        add_face_arguments(s)
        add_fps_argument(s)
        if name == "score":
            s.add_argument("--threads", type=int, default=0, help="chunks scored at once (0: one per core)")
            add_providers_argument(s)
    for name, help_ in (("status", "done/total, failed, images/s, ETA"), ("wait", "progress bar until the end"),
                        ("cancel", "stop a job; no report is written")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("job")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (non-zero when a waited job failed)."""
    args = parser().parse_args(argv)
    if args.cmd == "score":  # in-process: neither Redis nor Celery is imported
        return run_cli(lambda: _score(args))
    from redis.exceptions import RedisError

    return run_cli(lambda: _job(args), expected=(RedisError,))


def _score(args: argparse.Namespace) -> int:
    from fer_toolkit.worker import local

    s = local.score_local(args.dir, args.out, args.recursive, FaceOptions.from_args(args), args.chunk_size,
                          args.model, args.int8, args.threads, providers=args.providers, fps=args.fps)
    print(f"wrote {args.out}: {s['files']} files, {s['status']}, {s['images_per_second']} images/s")
    return 0


def _job(args: argparse.Namespace) -> int:
    from fer_toolkit.worker import jobs

    if args.cmd == "submit":
        print(jobs.submit(args.dir, args.out, args.recursive, FaceOptions.from_args(args), args.chunk_size,
                          args.model, args.int8, fps=args.fps), flush=True)
    elif args.cmd == "status":
        print(json.dumps(jobs.status(args.job)))
    elif args.cmd == "wait":
        st = jobs.wait(args.job)
        print(json.dumps(st))
        if st["state"] != jobs.JobState.DONE:
            print_error(f"job {st['state']}: {st['error']}")
            return 1
    elif args.cmd == "cancel":
        jobs.cancel(args.job)
        print(f"cancelled {args.job}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
