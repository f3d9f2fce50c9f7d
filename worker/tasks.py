"""Celery tasks: score one chunk, assemble the report once every chunk is stored.

A job is a ``chord``: one :func:`score_chunk` per chunk, then :func:`finalize`.
Chunks are idempotent (rows stored by chunk index), so a chunk redelivered after
a worker died, or run twice, still yields exactly one row set per file.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from celery.signals import worker_process_init
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker import report, scoring, settings, store
from worker.app import app

log = logging.getLogger(__name__)
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)
FINALIZE_POLL_S = 2.0
FINALIZE_MAX_WAIT_S = 3600.0  # after the chord fired, how long to wait for chunks still being redelivered


@worker_process_init.connect
def warm_up(**_) -> None:
    """Load ``SCORER_MODEL`` in each new worker process and run it twice on a chunk-sized batch.

    Runs before the process takes its first task, so the session creation and
    onnxruntime's first-run allocations are not paid inside a job (in ``make bench``
    the first two chunks of each process took about twice as long without this).
    A missing or broken default model is logged; tasks then fail with the error.
    """
    cfg = settings.load()
    try:
        predictor, _ = scoring.models(cfg.model, cfg.ort_threads)
        batch = np.zeros((256, *predictor.config.input_shape), np.float32)
        for _ in range(2):
            predictor.predict(batch)
    except Exception as e:  # noqa: BLE001 - a worker without the default model can still serve other models
        log.warning("model warm-up skipped: %s", e)


@app.task(bind=True, name="fer.score_chunk", autoretry_for=REDIS_ERRORS, retry_backoff=2, retry_backoff_max=30,
          max_retries=30)
def score_chunk(self, job_id: str, index: int, root: str, paths: list[str], model: str, model_id: str,
                faces: str, max_pixels: int) -> int:
    """Score ``paths`` (relative to ``root``) and store their rows as chunk ``index``; returns the file count.

    Raises:
        worker.settings.PathNotAllowed: ``root`` is outside this worker's ``SCORER_INPUT_ROOTS``.
        RuntimeError: this worker's model file differs from the one the job was submitted with.
    """
    cfg = settings.load()
    meta = store.get(job_id)
    if meta is None or meta.get("state") == "cancelled":
        return 0
    root_path = settings.under_roots(root, cfg.input_roots, "input folder")
    predictor, detector = scoring.models(model, cfg.ort_threads, faces != "none")
    if predictor.model_id != model_id:
        raise RuntimeError(f"worker has model {predictor.model_id}, job was submitted with {model_id}")
    rows = scoring.score_files(root_path, paths, predictor, detector, faces, max_pixels)
    store.save_chunk(job_id, index, rows, len(paths), cfg.key_ttl)
    return len(paths)


@app.task(bind=True, name="fer.finalize", autoretry_for=REDIS_ERRORS, retry_backoff=2, retry_backoff_max=30,
          max_retries=None)
def finalize(self, counts: list[int], job_id: str) -> dict | None:
    """Chord callback: once every chunk's rows are stored, write the CSV report and its summary.

    Re-schedules itself while chunks are missing (a duplicate delivery can fire the
    chord early) and marks the job failed after ``FINALIZE_MAX_WAIT_S``.
    """
    cfg = settings.load()
    meta = store.get(job_id)
    if meta is None:
        raise RuntimeError(f"job {job_id}: state lost from Redis before the report was written")
    if meta["state"] in ("cancelled", "done"):
        return None
    missing = store.missing_chunks(job_id, meta["n_chunks"])
    if missing:
        if self.request.retries * FINALIZE_POLL_S > FINALIZE_MAX_WAIT_S:
            store.update(job_id, state="failed", error=f"{len(missing)} chunks never finished (e.g. {missing[:5]})")
            return None
        raise self.retry(countdown=FINALIZE_POLL_S, max_retries=None)
    out = settings.under_roots(meta["out"], cfg.output_roots, "report")
    files = set()

    def rows():
        for row in store.rows(job_id, meta["n_chunks"]):
            files.add(row["path"])
            yield row
        if len(files) != meta["total"]:  # aborts the atomic write: never a short report
            raise RuntimeError(f"{meta['total'] - len(files)} files have no row; report not written")

    summary = report.write_report(rows(), out, meta["labels"], meta["params"]["faces"], meta["total"],
                                  meta["submitted_at"], meta["model_id"], meta["params"])
    store.update(job_id, state="done", finished_at=time.time(), summary=summary)
    store.drop_rows(job_id)
    log.info("job %s: wrote %s (%d rows)", job_id, out, summary["rows"])
    return summary


@app.task(name="fer.job_failed")
def job_failed(request, exc, traceback, job_id: str) -> None:
    """Errback of the chord: record a one-line reason on the job."""
    store.update(job_id, state="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
