"""``python -m bench.video`` (``make bench-video``, and part of ``make bench``): video speed and memory, issue 36.

Builds its clips with PyAV (:mod:`bench.video_clip`: the demo's astronaut moving slightly on a 640x480 frame,
H.264) in a temporary folder, deleted afterwards, and measures in one run (:mod:`bench.video_runs`):

- frames/s at ``--fps 0`` on a ``--seconds`` clip, next to the decode-only and decode+detect limits of the same
  layout (one stream, as ``fer-toolkit predict``; the clip's ranges on threads, as ``fer-toolkit score``);
- the peak RSS of ``fer-toolkit score`` on a folder with one ``--short-seconds`` video (the issue's 10 seconds)
  and on one with a ``--minutes`` video;
- one ``--minutes`` video through Celery with 1 and with 2 worker processes (``--no-celery`` skips it).

The markdown section is printed and written into ``--out`` between ``<!-- video:start -->`` and
``<!-- video:end -->``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, machine, replace_block
from bench.video_clip import RATE, write_clip
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_float, positive_int
from fer_toolkit.fercore.video import DEFAULT_FPS
from fer_toolkit.models import DEFAULTS, resolve
from fer_toolkit.predict_video import sampling_rate

MARK = "video"
#: Targets (issue 36): full path / decode+detect, and the long video's extra peak RSS in MB (10**6 bytes).
MIN_SHARE, MAX_EXTRA_MB = 0.8, 50


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def section(a, speed: list[dict], rss: dict, celery: list[dict]) -> list[str]:
    """The markdown lines of the video section from the runs' results (``a``: the parsed arguments)."""
    long_s = a.minutes * 60
    lines = ["## Video (issue 36; `make bench-video` = `python -m bench.video`)\n",
             f"Measured {dt.date.today().isoformat()} on {machine()}, model `{a.model.name}`, faces `auto` "
             f"(YuNet, aligned crops, tracks). Clips built in the run with PyAV: the demo's astronaut moving slightly "
             f"on a 640x480 frame, H.264 (libx264), {RATE} frames/s. Every ratio compares figures from this run.\n",
             f"### Frames/s at `--fps 0`, a {_duration(a.seconds)} clip ({speed[0]['frames']} frames)\n",
             "The limits run the same layout as the full path: decode only (PyAV, frames to RGB), and decode plus "
             "YuNet detection of each frame. One stream: frame after frame, onnxruntime on every core "
             "(`fer-toolkit predict`, `analyze_video`). Threads: the clip's time ranges of `--chunk-size` frames "
             "(the workers' plan) on one thread per core, one onnxruntime thread each (`fer-toolkit score --fps 0`, "
             "CSV report included). Beyond the limit, the full path gives each face a second YuNet pass on an "
             "upright view of it (landmark refinement), the aligned crop, the model and the tracker.\n",
             "| layout | decode only | decode + detect | full path | full / decode+detect | faces per frame |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in speed:
        layout = r["layout"] + (f" ({r['ranges']} ranges)" if "ranges" in r else "")
        lines.append(f"| {layout} | {r['decode']:,.0f} | {r['detect']:,.1f} | {r['full']:,.1f} "
                     f"| {r['full'] / r['detect']:.0%} | {r['faces']:.2f} |")
    lines += [f"\n### Peak RSS of `fer-toolkit score` on one video (`--fps {a.fps:g}`)\n",
              "The child process's peak resident set (`ru_maxrss`, as `VmHWM`), a folder holding the one video.\n",
              "| video | report rows | wall s | peak RSS (MiB) |", "| --- | ---: | ---: | ---: |"]
    for seconds, r in ((a.short_seconds, rss["short"]), (long_s, rss["long"])):
        lines.append(f"| {_duration(seconds)} | {r['rows']:,} | {r['seconds']:.1f} | {r['mib']:.0f} |")
    lines.append(f"\n### Celery: one {_duration(long_s)} video over 1 and 2 worker processes (`--fps {a.fps:g}`)\n")
    if celery:
        lines += ["A private redis-server and one `celery worker` with `--concurrency` 1, then 2 (onnxruntime "
                  "threads: cores / processes); wall time from submit to report, the worker started beforehand.\n",
                  "| worker processes | chunks | sampled frames | wall s | frames/s | speed-up vs 1 "
                  "| report as with 1 |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in celery:
            lines.append(f"| {r['processes']} | {r['chunks'].split('/')[-1]} | {r['frames']:,} | {r['seconds']:.1f} "
                         f"| {r['frames'] / r['seconds']:,.1f} | {celery[0]['seconds'] / r['seconds']:.2f}x "
                         f"| {'yes' if r['same'] else '**no**'} |")
    else:
        lines.append("Not run (`--no-celery`).")
    extra = rss["long"]["mib"] - rss["short"]["mib"]
    lines += ["\n### Targets (issue 36, item 6)\n", "| target | measured | met |", "| --- | --- | --- |"]
    for r in speed:
        share = r["full"] / r["detect"]
        lines.append(f"| {r['layout']}: full path >= {MIN_SHARE:.0%} of decode+detect | {share:.0%} "
                     f"| {'yes' if share >= MIN_SHARE else '**no**'} |")
    lines.append(f"| peak RSS, {_duration(long_s)} video within {MAX_EXTRA_MB} MB of {_duration(a.short_seconds)} | "
                 f"{extra:+.0f} MiB | {'yes' if extra * 2**20 <= MAX_EXTRA_MB * 10**6 else '**no**'} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build the clips, run the measurements, print the section and write it into ``--out``."""
    p = OneLineParser(prog="python -m bench.video", description="Video speed and memory (issue 36) -> BENCHMARKS.md")
    p.add_argument("--model", type=existing_file, default=resolve(*DEFAULTS["workers"]),
                   help="ONNX model (default: the workers' default, as `fer-toolkit score` uses)")
    p.add_argument("--seconds", type=positive_float, default=20.0, help="length of the --fps 0 clip (default 20)")
    p.add_argument("--minutes", type=positive_float, default=10.0,
                   help="length of the long video for peak RSS and Celery (default 10)")
    p.add_argument("--short-seconds", type=positive_float, default=10.0,
                   help="length of the short video the long one's peak RSS is compared with (default 10)")
    p.add_argument("--fps", type=sampling_rate, default=DEFAULT_FPS,
                   help=f"sampled frames per second for peak RSS and Celery (default {DEFAULT_FPS:g})")
    p.add_argument("--chunk-size", type=positive_int, default=256, help="sampled frames per range (default 256)")
    p.add_argument("--no-celery", action="store_true", help="skip the Celery scaling")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    a = p.parse_args(argv)
    if min(a.seconds, a.short_seconds, a.minutes * 60) * RATE < 1:
        p.error(f"--seconds, --short-seconds and --minutes must give at least one frame at {RATE} frames/s")
    from bench import video_runs

    tmp = Path(tempfile.mkdtemp(prefix="fer-bench-video-"))
    try:
        clip = write_clip(tmp / "speed" / "clip.mp4", a.seconds)
        speed = video_runs.throughput(clip, a.model, a.chunk_size)
        rss = {}
        for key, seconds in (("short", a.short_seconds), ("long", a.minutes * 60)):
            folder = tmp / key
            write_clip(folder / "clip.mp4", seconds, bitrate=400_000, preset="ultrafast")
            rss[key] = video_runs.peak_rss(folder, tmp / f"rss-{key}.csv", a.model, a.fps, a.chunk_size)
            print(f"peak RSS, {_duration(seconds)}: {rss[key]['mib']:.0f} MiB", flush=True)
        celery = [] if a.no_celery else video_runs.celery_scaling(tmp / "long", tmp, a.model, a.fps, a.chunk_size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = section(a, speed, rss, celery)
    print("\n".join(lines), flush=True)
    old = a.out.read_text() if a.out.exists() else "# Benchmarks\n"
    a.out.write_text(replace_block(old, MARK, lines))
    print(f"\nwrote {a.out}")
    return 0 if all(r["state"] == "done" and r["same"] for r in celery) else 1


if __name__ == "__main__":
    sys.exit(main())
