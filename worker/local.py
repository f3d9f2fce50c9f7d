"""Score a folder in this process, without Redis or Celery, with the workers' chunk code (``make score``)."""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS
from fer_toolkit.models import model_path as resolve_model
from fer_toolkit.worker import report, scoring, settings
from fer_toolkit.worker.jobs import JobError, plan_chunks, print_note


def _take(in_flight: deque, bar) -> list[dict]:
    """Wait for the oldest chunk's rows and count its files on the progress bar."""
    future, n_files = in_flight.popleft()
    rows = future.result()
    bar.update(n_files)
    return rows


def score_local(root: str | Path, out: str | Path, recursive: bool = False, faces: str = "auto",
                chunk_size: int = 256, model: str | Path | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                threads: int = 0, progress: bool = True, align: bool = True, face_threshold: float | None = None,
                detector=None, notify: Callable[[str], None] = print_note) -> dict:
    """Score a folder in this process, without Redis, with the same chunk code as the workers.

    Args:
        threads: chunks scored at once (0 = one per core). With more than one, each
            onnxruntime call runs on one intra-op thread and the threads overlap one
            chunk's decoding (Pillow) with another's inference (onnxruntime releases
            the GIL); the report is written in chunk order. ``make bench`` measures
            both settings.
        notify: receives one-line notes (files skipped in subfolders); default: printed to stderr.
        align, face_threshold: see :func:`fer_toolkit.worker.scoring.score_files`.
        detector: a face detector to use instead of the process's YuNet (``make bench`` passes the old Haar one).

    Returns:
        the summary written beside the report.

    Raises:
        JobError: no such folder, no images, bad chunk size or thread count.
    """
    from tqdm import tqdm

    if threads < 0:
        raise JobError(f"threads must be >= 0, got {threads}")
    n_threads = threads or os.cpu_count() or 1
    root_r = Path(root).resolve()
    chunks = plan_chunks(root_r, recursive, chunk_size, notify)
    model_path = (resolve_model(model) if model else settings.load().model).resolve()
    predictor, own = scoring.models(model_path, 1 if n_threads > 1 else 0, faces != "none" and detector is None)
    detector = detector or own
    t0, total = time.time(), sum(map(len, chunks))
    params = {"input": str(root_r), "recursive": recursive, "faces": faces, "chunk_size": chunk_size,
              "model": str(model_path), "max_pixels": max_pixels, "mode": "in-process", "threads": n_threads,
              "align": align, "face_threshold": face_threshold}

    def rows():
        with tqdm(total=total, unit="img", disable=not progress) as bar, ThreadPoolExecutor(n_threads) as pool:
            in_flight: deque = deque()  # (future rows, file count), in chunk order; at most n_threads + 1
            for chunk in chunks:
                in_flight.append((pool.submit(scoring.score_files, root_r, chunk, predictor, detector, faces,
                                              max_pixels, align=align, face_threshold=face_threshold), len(chunk)))
                if len(in_flight) > n_threads:
                    yield from _take(in_flight, bar)
            while in_flight:
                yield from _take(in_flight, bar)

    return report.write_report(rows(), Path(out), predictor.labels, faces, total, t0, predictor.model_id, params)
