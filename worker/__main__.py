"""``python -m fer_toolkit.worker {submit,status,wait,cancel,score}``: batch scoring from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_toolkit.fercore.analyze import FACE_MODES
from fer_toolkit.fercore.cli import OneLineParser, unit_interval
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS


def parser() -> argparse.ArgumentParser:
    """The argument parser (errors exit 2 with one line)."""
    p = OneLineParser(prog="fer-toolkit", description="Score image folders into CSV reports.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    for name, help_ in (("submit", "queue a job on the Celery workers; prints the job id"),
                        ("score", "score in this process, without Redis")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("dir", type=Path, help="folder of images")
        s.add_argument("--out", type=Path, required=True, help="CSV report to write")
        s.add_argument("--recursive", action="store_true", help="include sub-folders")
        s.add_argument("--faces", choices=FACE_MODES, default="auto",
                       help="auto: detected faces, or a face crop whole (default); largest/all faces; none: whole")
        s.add_argument("--no-align", dest="align", action="store_false",
                       help="crop the detector's box instead of rotating faces level and framing them like FER2013")
        s.add_argument("--face-threshold", type=unit_interval, default=None,
                       help="detector score threshold 0..1 (default 0.8)")
        s.add_argument("--chunk-size", type=int, default=256, help="images per task")
        s.add_argument("--model", help="ONNX file, or a shipped role: fast, balanced or accurate (its INT8 twin); "
                                       "default SCORER_MODEL, else balanced")
        s.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="larger images become errors")
        if name == "score":
            s.add_argument("--threads", type=int, default=0, help="chunks scored at once (0: one per core)")
    for name, help_ in (("status", "done/total, failed, images/s, ETA"), ("wait", "progress bar until the end"),
                        ("cancel", "stop a job; no report is written")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("job")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (non-zero when a waited job failed)."""
    args = parser().parse_args(argv)
    from redis.exceptions import RedisError

    from fer_toolkit.worker import jobs, local
    from fer_toolkit.worker.settings import PathNotAllowed

    try:
        if args.cmd == "score":
            s = local.score_local(args.dir, args.out, args.recursive, args.faces, args.chunk_size, args.model,
                                 args.max_pixels, args.threads, align=args.align, face_threshold=args.face_threshold)
            print(f"wrote {args.out}: {s['files']} files, {s['status']}, {s['images_per_second']} images/s")
        elif args.cmd == "submit":
            print(jobs.submit(args.dir, args.out, args.recursive, args.faces, args.chunk_size, args.model,
                              args.max_pixels, align=args.align, face_threshold=args.face_threshold), flush=True)
        elif args.cmd == "status":
            print(json.dumps(jobs.status(args.job)))
        elif args.cmd == "wait":
            st = jobs.wait(args.job)
            print(json.dumps(st))
            if st["state"] != "done":
                print(f"error: job {st['state']}: {st['error']}", file=sys.stderr)
                return 1
        elif args.cmd == "cancel":
            jobs.cancel(args.job)
            print(f"cancelled {args.job}")
    except (jobs.JobError, PathNotAllowed, FileNotFoundError, ValueError, RedisError) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
