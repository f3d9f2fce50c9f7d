"""The video measurements of ``python -m bench.video``: frames/s against decode limits, peak RSS, Celery scaling.

Every figure comes from the code users run: :func:`fer_toolkit.fercore.video_analysis.analyze_video` (the path of
``fer-toolkit predict``), :func:`fer_toolkit.worker.local.score_local` (``fer-toolkit score``, ranges of a video on
threads), ``fer-toolkit score`` in a child process, and real ``celery worker`` processes on a private Redis.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.video import iter_frames
from fer_toolkit.fercore.video_analysis import analyze_video
from fer_toolkit.worker import local, scoring
from fer_toolkit.worker.video_plan import END, START, video_items


def _rate(fn) -> tuple[float, int]:
    """``(frames per second, frames)`` of ``fn()``, which returns how many frames it went through."""
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0), n


def throughput(clip: Path, model: Path, chunk_size: int, threads: int = 0) -> list[dict]:
    """Frames/s of ``clip`` at ``--fps 0`` in two layouts, each with its decode-only and decode+detect limits.

    ``one stream``: the frames one after the other, onnxruntime on every core (``fer-toolkit predict``); the full
    path is ``analyze_video``. ``threads``: the clip's time ranges of ``chunk_size`` frames (the workers' plan) on
    ``threads`` threads (0: one per core), one onnxruntime thread per call (``fer-toolkit score``); the full path
    is ``score_local`` end to end, the CSV report included.

    Returns rows ``{"layout", "frames", "decode", "detect", "full", "faces"}`` (frames/s; ``faces``: faces found
    per frame on the full path).
    """
    n_threads = threads or os.cpu_count() or 1
    options = FaceOptions()
    predictor, detector = scoring.models(model, 0, True)
    list(analyze_video(clip, predictor, detector, fps=0, end=0.5))  # onnxruntime's first runs
    decode, n = _rate(lambda: sum(1 for _ in iter_frames(clip, 0)))
    detect, _ = _rate(lambda: sum(1 for f in iter_frames(clip, 0) if detector.detect(f.image) is not None))
    faces = []

    def analyzed() -> int:
        faces.extend(len(f.faces) for f in analyze_video(clip, predictor, detector, fps=0, options=options))
        return len(faces)

    full, _ = _rate(analyzed)
    rows = [{"layout": "one stream", "frames": n, "decode": decode, "detect": detect, "full": full,
             "faces": sum(faces) / n}]
    ranges = video_items(clip, clip.name, 0, chunk_size, options.max_pixels)
    _, detector = scoring.models(model, 1, True)  # as score_local makes them for more than one thread
    list(analyze_video(clip, *scoring.models(model, 1, True), fps=0, end=0.5))

    def on_threads(per_frame) -> int:
        def one(item) -> int:
            return sum(1 for f in iter_frames(clip, 0, item[START], item[END]) if per_frame(f) is not None)

        with ThreadPoolExecutor(n_threads) as pool:
            return sum(pool.map(one, ranges))

    decode, _ = _rate(lambda: on_threads(lambda f: f))
    detect, _ = _rate(lambda: on_threads(lambda f: detector.detect(f.image)))
    out = clip.parent.parent / f"{clip.stem}-fps0.csv"
    full, _ = _rate(lambda: local.score_local(clip.parent, out, chunk_size=chunk_size, model=model,
                                              threads=n_threads, progress=False, fps=0) and n)
    rows.append({"layout": f"{n_threads} threads", "frames": n, "decode": decode, "detect": detect, "full": full,
                 "faces": count_faces(out) / n, "ranges": len(ranges)})
    return rows


def count_faces(report: Path) -> int:
    """Rows with status ``ok`` (one per sampled frame and face) in a CSV report."""
    with report.open(newline="", encoding="utf-8") as f:
        return sum(row["status"] == "ok" for row in csv.DictReader(f))


def peak_rss(folder: Path, out: Path, model: Path, fps: float, chunk_size: int) -> dict:
    """``fer-toolkit score folder`` in a child process: ``{"mib"`` (its peak resident set, the kernel's
    ``ru_maxrss`` of that one child, as ``VmHWM``), ``"seconds"``, ``"rows"}``.

    Raises:
        RuntimeError: the command failed (with the tail of its output).
    """
    log = out.with_suffix(".log")
    cmd = [sys.executable, "-m", "fer_toolkit", "score", str(folder), "--out", str(out), "--model", str(model),
           "--fps", str(fps), "--chunk-size", str(chunk_size)]
    t0 = time.perf_counter()
    with log.open("wb") as f:
        pid = os.posix_spawn(sys.executable, cmd, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1), (os.POSIX_SPAWN_DUP2, f.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[1:4])} failed: " + " | ".join(log.read_text().splitlines()[-3:]))
    return {"mib": usage.ru_maxrss / 1024, "seconds": seconds, "rows": count_faces(out)}


def celery_scaling(folder: Path, tmp: Path, model: Path, fps: float, chunk_size: int,
                   processes: tuple[int, ...] = (1, 2)) -> list[dict]:
    """One job over ``folder`` (one long video) through a private redis-server and one ``celery worker`` with
    ``--concurrency`` of each of ``processes``: ``{"processes", "seconds"`` (submit to report), ``"frames"``
    (sampled), ``"chunks"``, ``"state"``, ``"same"`` (report equal to the first one's)}``.

    Each worker starts and is ready (its log says so) before the job is submitted; the model loads in the first
    task, as it does in production.
    """
    from fer_toolkit.worker import jobs
    from tests.worker_harness import CeleryWorker, RedisServer

    server = RedisServer(tmp / "redis", persistent=False).start()
    os.environ.update({"REDIS_URL": server.url, "SCORER_INPUT_ROOTS": str(folder.parent),
                       "SCORER_OUTPUT_ROOTS": str(tmp), "SCORER_MODEL": str(model)})
    cores, rows, first = os.cpu_count() or 1, [], None
    try:
        for c in processes:
            env = {**os.environ, "SCORER_ORT_THREADS": str(max(1, cores // c))}
            log = tmp / f"worker-{c}.log"
            w = CeleryWorker(env, log, concurrency=c, name=f"bench-video-{c}").start()
            try:
                _wait_ready(w, log)
                out = tmp / f"celery-{c}.csv"
                t0 = time.perf_counter()
                job = jobs.submit(folder, out, chunk_size=chunk_size, model=model, fps=fps)
                while (st := jobs.status(job))["state"] not in jobs.TERMINAL:
                    time.sleep(0.1)
                seconds = time.perf_counter() - t0
            finally:
                w.stop()
            text = out.read_text() if out.exists() else ""
            first = text if first is None else first
            rows.append({"processes": c, "seconds": seconds, "frames": st["total"], "chunks": st["chunks"],
                         "state": st["state"], "same": bool(text) and text == first})
    finally:
        server.kill()
    return rows


def _wait_ready(worker, log: Path, timeout: float = 120.0) -> None:
    """Wait until the worker's log says ``ready.``; RuntimeError if it exits or takes longer than ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.proc.poll() is None:
        if log.exists() and " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"celery worker not ready (see {log})")
