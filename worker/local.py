"""Score a folder in this process, without Redis or Celery, with the workers' chunk code (``make score``).

It imports neither ``redis`` nor ``celery`` (``tests/test_worker.py`` checks).
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.video import DEFAULT_FPS
from fer_toolkit.worker import report, scoring, settings
from fer_toolkit.worker.plan import JobError, item_weight, pack, plan_chunks, plan_size, print_note
from fer_toolkit.worker.track_links import link_tracks


def _take(in_flight: deque, bar) -> list[dict]:
    """Wait for the oldest chunk's rows and count its work (images, videos' sampled frames) on the progress bar."""
    future, work = in_flight.popleft()
    rows = future.result()
    bar.update(work)
    return rows


def spread(chunks: list[list], workers: int, per_worker: int = 4) -> list[list]:
    """``chunks`` cut, in order and with every item whole, into pieces of at most the plan's total weight
    (:func:`~fer_toolkit.worker.plan.item_weight`) over ``per_worker`` x ``workers``, so that a folder smaller
    than ``workers`` chunks still keeps every thread busy; a large folder's chunks are left as they are. The
    report is the same: its rows come back in chunk order, and video ranges are not cut."""
    cap = max(1, -(-plan_size(chunks)[1] // (per_worker * max(1, workers))))
    return [piece for chunk in chunks for piece in pack(chunk, cap)]


def score_local(root: str | Path, out: str | Path, recursive: bool = False, options: FaceOptions | None = None,
                chunk_size: int = 256, model: str | Path | None = None, int8: bool | None = None, threads: int = 0,
                progress: bool = True, detector=None, notify: Callable[[str], None] = print_note,
                providers: str | None = None, fps: float = DEFAULT_FPS) -> dict:
    """Score a folder in this process, without Redis, with the same chunk code as the workers.

    Args:
        options: the face options (default :class:`~fer_toolkit.fercore.options.FaceOptions`).
        model, int8: a role or ONNX file and the INT8 choice (:func:`fer_toolkit.worker.settings.scorer_model`:
            else ``SCORER_MODEL`` / ``SCORER_INT8``, else the workers' default).
        chunk_size: images (or a video's sampled frames) per chunk at most; where a folder holds less than
            four chunks' work per thread, its chunks are cut smaller (:func:`spread`).
        threads: chunks scored at once (0 = one per core). With more than one, each
            onnxruntime call runs on one intra-op thread and the threads overlap one
            chunk's decoding (Pillow) with another's inference (onnxruntime releases
            the GIL); the report is written in chunk order.
        notify: receives one-line notes (files skipped in subfolders); default: printed to stderr.
        detector: a face detector to use instead of the process's YuNet (``make bench`` passes the old Haar one).
        providers: onnxruntime execution providers (:func:`fer_toolkit.fercore.session.providers`).
        fps: videos' sampled frames per second (0: every frame); chunks, rows and track ids as the workers'
            (:func:`fer_toolkit.worker.jobs.submit`), so the report is theirs.

    Returns:
        the summary written beside the report.

    Raises:
        JobError: no such folder, no images or videos, bad chunk size or thread count.
        FileNotFoundError, ValueError: no such model, ``int8`` with a file, an unavailable provider.
    """
    from tqdm import tqdm

    if threads < 0:
        raise JobError(f"threads must be >= 0, got {threads}")
    options = options or FaceOptions()
    n_threads = threads or os.cpu_count() or 1
    root_r = Path(root).resolve()
    chunks = spread(plan_chunks(root_r, recursive, chunk_size, notify, fps, options.max_pixels), n_threads)
    model_path = settings.scorer_model(model, int8).resolve()
    predictor, own = scoring.models(model_path, 1 if n_threads > 1 else 0,
                                    options.faces != "none" and detector is None, providers)
    detector = detector or own
    t0, (n_files, total) = time.time(), plan_size(chunks)
    params = {"input": str(root_r), "recursive": recursive, "chunk_size": chunk_size, "model": str(model_path),
              "face_options": options.to_json(), "fps": fps, "mode": "in-process", "threads": n_threads}

    def rows():
        with tqdm(total=total, unit="img", disable=not progress) as bar, ThreadPoolExecutor(n_threads) as pool:
            in_flight: deque = deque()  # (future rows, file count), in chunk order; at most n_threads + 1
            for chunk in chunks:
                in_flight.append((pool.submit(scoring.score_files, root_r, chunk, predictor, detector, options,
                                              fps=fps), sum(map(item_weight, chunk))))
                if len(in_flight) > n_threads:
                    yield from _take(in_flight, bar)
            while in_flight:
                yield from _take(in_flight, bar)

    return report.write_report(link_tracks(rows()), Path(out), predictor.labels, options.faces, n_files, t0,
                               predictor.model_id, params)
