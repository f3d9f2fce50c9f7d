"""Batch scoring of one folder of real FER2013 images: in-process vs Celery with 1 and 2 worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import group_rss_mb


def write_folder(x: np.ndarray, folder: Path) -> Path:
    """Write each ``(48, 48)`` image as ``folder/<i>.png`` (skipped if already written)."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.png"))) != len(x):
        for i, img in enumerate(x):
            Image.fromarray(img).save(folder / f"{i:06d}.png")
    return folder


def run(folder: Path, models: dict[str, Path], tmp: Path, concurrencies=(1, 2)) -> list[dict]:
    """Rows ``{"model", "mode", "images_per_second", "seconds", "peak_rss_mb"}``: the same folder scored by each model.

    Args:
        models: ``{name: ONNX file}``; each is scored in-process, then through a
            Celery worker (real Redis, real worker process group) per concurrency.
    """
    from tests.worker_harness import RedisServer

    server = RedisServer(tmp / "redis").start()
    os.environ.update({"REDIS_URL": server.url, "SCORER_INPUT_ROOTS": str(folder.parent),
                       "SCORER_OUTPUT_ROOTS": str(tmp)})
    try:
        return [row for name, model in models.items() for row in _score(folder, name, model, tmp, concurrencies)]
    finally:
        server.kill()


def _score(folder: Path, name: str, model: Path, tmp: Path, concurrencies) -> list[dict]:
    from fer_toolkit.worker import jobs, local
    from tests.worker_harness import CeleryWorker

    cores = os.cpu_count() or 1
    rows = []
    for threads, mode in ((0, f"in-process (make score), {cores} threads x 1 ORT thread"),
                          (1, f"in-process, 1 chunk at a time x {cores} ORT threads")):
        t0 = time.perf_counter()
        s = local.score_local(folder, tmp / f"local-{name}-{threads}.csv", model=model, threads=threads,
                             progress=False)
        wall = time.perf_counter() - t0
        rows.append({"model": name, "mode": mode, "images_per_second": s["files"] / wall, "seconds": wall,
                     "peak_rss_mb": None})
    for c in concurrencies:
        env = {**os.environ, "SCORER_MODEL": str(model), "SCORER_ORT_THREADS": str(max(1, cores // c))}
        w = CeleryWorker(env, tmp / f"worker-{name}-{c}.log", concurrency=c, name=f"bench-{name}-{c}").start()
        try:
            time.sleep(4)  # worker start-up is not part of the job
            t0 = time.perf_counter()
            job = jobs.submit(folder, tmp / f"celery-{name}-{c}.csv", model=model)
            while jobs.status(job)["state"] not in jobs.TERMINAL:
                time.sleep(0.05)
            wall = time.perf_counter() - t0
            st = jobs.status(job)
            rss = group_rss_mb(w.proc.pid)
        finally:
            w.stop()
        rows.append({"model": name, "mode": f"Celery, {c} worker process{'es' if c > 1 else ''} x "
                                            f"{max(1, cores // c)} ORT thread{'s' if cores // c > 1 else ''}",
                     "images_per_second": st["total"] / wall, "seconds": wall, "peak_rss_mb": rss,
                     "state": st["state"]})
    return rows
