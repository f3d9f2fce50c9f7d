"""``python -m bench.soak`` (``make soak``): N real FER2013 PNGs through Celery while a worker dies and Redis restarts.

Writes N 48x48 PNGs (the FER2013 images, hard-linked over and over past the unique ones), starts its
own ``redis-server`` (AOF, ``appendfsync everysec``) and two ``celery worker`` processes (one pool
process each), submits one job, SIGKILLs one worker (main and pool process) at 30% and starts a
replacement, kills Redis at 60% and restarts it after ``--redis-down`` seconds, samples Redis
``INFO memory`` and every worker process's RSS twice a second, checks that the report has N rows
with every path exactly once, and writes the figures into BENCHMARKS.md (one row per N).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import NPZ, ROOT, cpu_model, group_rss_mb
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_float, positive_int
from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.models import resolve

MARK_START, MARK_END = "<!-- soak:start -->", "<!-- soak:end -->"


def write_links(npz: Path, n: int, work: Path) -> Path:
    """``work/in/fer/<i:07d>.png`` for i < n: unique FER2013 PNGs in ``work/src``, hard-linked (reused if complete)."""
    folder, src = work / "in" / "fer", work / "src"
    done = folder / f".complete-{n}"
    if done.exists():
        return folder
    with np.load(npz) as d:
        x = np.concatenate([d["x_train"], d["x_val"], d["x_test"]])[:n]
    src.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(x):
        if not (src / f"{i:05d}.png").exists():
            Image.fromarray(img).save(src / f"{i:05d}.png")
    if folder.exists():
        for p in folder.iterdir():
            p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        os.link(src / f"{i % len(x):05d}.png", folder / f"{i:07d}.png")
    done.touch()
    return folder


def check_report(path: Path, n: int) -> tuple[int, bool]:
    """``(rows, every path once)``: row ``k`` must be ``<k:07d>.png`` (the report is sorted by path)."""
    rows, ok = 0, True
    with path.open(newline="", encoding="utf-8") as f:
        for k, row in enumerate(csv.DictReader(f)):
            rows += 1
            ok = ok and row["path"] == f"{k:07d}.png" and row["status"] == "ok"
    return rows, ok and rows == n


def write_benchmarks(out: Path, row: str, n: int) -> None:
    """Put ``row`` into BENCHMARKS.md's soak table (replacing an earlier row for the same N)."""
    header = ("## Soak: a job through Celery while a worker is SIGKILLed and Redis restarts (`make soak`)\n\n"
              "Figures of the N named in each row; `make soak SOAK_N=...` reproduces one. Two `celery worker` "
              "processes (one pool process and 1 ORT thread each), `--faces none` (the files are FER2013 face crops), "
              "Redis with AOF (`appendfsync everysec`); "
              "wall time from submit to report, outage included; Redis `INFO memory` and process RSS sampled "
              "twice a second.\n\n"
              "| N files | measured | wall s | images/s | peak Redis used_memory (MiB) "
              "| peak RSS of a worker process (MiB) | report rows | every path once | events |\n"
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    rows: list[str] = []
    if MARK_START in text:
        before, rest = text.split(MARK_START, 1)
        block, after = rest.split(MARK_END, 1)
        rows = [r for r in block.splitlines() if r.startswith("| ") and r.split("|")[1].strip()[:1].isdigit()]
    else:
        before, after = text.rstrip("\n") + "\n\n", "\n"
    rows = [r for r in rows if r.split("|")[1].strip() != f"{n:,}"] + [row]
    out.write_text(before + MARK_START + "\n" + header + "\n" + "\n".join(rows) + "\n" + MARK_END + after)


def main() -> int:
    p = OneLineParser(prog="python -m bench.soak")
    p.add_argument("--files", type=positive_int, default=1_000_000, help="N: images in the job")
    p.add_argument("--model", type=existing_file, default=resolve("fast"))
    p.add_argument("--work", type=Path, default=Path(os.environ.get("SOAK_DIR", "/tmp/fer-soak")))
    p.add_argument("--chunk-size", type=positive_int, default=256)
    p.add_argument("--redis-down", type=positive_float, default=5.0, help="seconds Redis stays down")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--note", default="", help="conditions to record beside the date (e.g. other load)")
    a = p.parse_args()
    if not NPZ.is_file():
        raise SystemExit(f"error: FER2013 not found at {NPZ}")
    n, work = a.files, a.work.resolve()
    t = time.time()
    folder = write_links(NPZ, n, work)
    print(f"{n:,} files in {folder} ({time.time() - t:.0f} s)", flush=True)
    (work / "out").mkdir(parents=True, exist_ok=True)
    report = work / "out" / f"soak-{n}.csv"
    report.unlink(missing_ok=True)

    from tests.worker_harness import CeleryWorker, RedisServer

    server = RedisServer(work / "redis", appendfsync="everysec")
    for f in server.dir.glob("*"):
        if f.is_file():
            f.unlink()
    server.start()
    os.environ.update({"REDIS_URL": server.url, "SCORER_INPUT_ROOTS": str(work / "in"),
                       "SCORER_OUTPUT_ROOTS": str(work / "out"), "SCORER_MODEL": str(a.model.resolve()),
                       "SCORER_ORT_THREADS": "1", "SCORER_VISIBILITY_TIMEOUT": "60", "SCORER_RESTORE_INTERVAL": "5"})
    import redis

    from fer_toolkit.worker import jobs

    r = redis.Redis.from_url(server.url)
    env = dict(os.environ)
    workers = [CeleryWorker(env, work / f"worker{i}.log", concurrency=1, name=f"soak{i}").start() for i in (1, 2)]
    peak_redis, peak_rss, events = 0, 0.0, []
    try:
        time.sleep(5)  # worker start-up (model load and warm-up) is not part of the job
        base_redis = r.info("memory")["used_memory"]
        t0 = time.perf_counter()
        job = jobs.submit(folder, report, options=FaceOptions(faces="none"), chunk_size=a.chunk_size,
                          model=a.model)  # FER2013 crops: classified whole
        killed = restarted = False
        while True:
            try:
                peak_redis = max(peak_redis, r.info("memory")["used_memory"])
                st = jobs.status(job)
            except (redis.RedisError, jobs.JobError):
                time.sleep(0.5)
                continue
            peak_rss = max([peak_rss] + [group_rss_mb(w.proc.pid, "VmRSS") for w in workers if w.proc.poll() is None])
            if st["state"] in jobs.TERMINAL:
                break
            if not killed and st["done"] >= 0.3 * n:
                workers[0].kill(signal.SIGKILL)
                workers[0] = CeleryWorker(env, work / "worker1b.log", concurrency=1, name="soak1b").start()
                events.append(f"worker SIGKILLed at {st['done']:,} files ({time.perf_counter() - t0:.0f} s)")
                killed = True
            elif killed and not restarted and st["done"] >= 0.6 * n:
                server.kill()
                down = time.perf_counter()
                time.sleep(a.redis_down)
                server.start()
                events.append(f"Redis killed at {st['done']:,} files, down {time.perf_counter() - down:.1f} s")
                restarted = True
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        peak_redis = max(peak_redis, r.info("memory")["used_memory"])
    finally:
        for w in workers:
            w.stop()
        server.kill()
    print(f"job {job}: {st['state']} {st['error']}", flush=True)
    if st["state"] != "done":
        return 1
    rows, once = check_report(report, n)
    mib = 1024 * 1024
    when = dt.date.today().isoformat() + (f", {a.note}" if a.note else "")
    row = (f"| {n:,} | {when}, {cpu_model()}, {os.cpu_count()} cores | {wall:.1f} | {n / wall:,.0f} "
           f"| {peak_redis / mib:.1f} (empty: {base_redis / mib:.1f}) | {peak_rss:.0f} | {rows:,} "
           f"| {'yes' if once else '**no**'} | {'; '.join(events)} |")
    print(row, flush=True)
    write_benchmarks(a.out, row, n)
    print(f"wrote {a.out}")
    return 0 if once and rows == n else 1


if __name__ == "__main__":
    sys.exit(main())
