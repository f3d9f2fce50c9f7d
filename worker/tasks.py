"""Celery tasks: score one chunk into its part file, assemble the report once every chunk is recorded.

A job is one :func:`score_chunk` message per chunk (``(job id, chunk index)``; the paths are in
the job's plan file, :mod:`fer_toolkit.worker.parts`). No chord: a chunk writes its part file atomically, then
records its completion in Redis (idempotent by chunk index); the chunk that completes the set sends
:func:`finalize`, and the worker-side sweeper (:mod:`fer_toolkit.worker.sweeper`) sends it again for any job
whose chunks are all recorded but which is not done, so a lost message or a Redis restart only
delays the report. Every Redis access waits out an unreachable Redis for ``SCORER_REDIS_GRACE``.
"""

from __future__ import annotations

import logging

import numpy as np
from celery.signals import worker_process_init

from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.video import DEFAULT_FPS
from fer_toolkit.worker import finalizer, parts, scoring, settings, store
from fer_toolkit.worker.app import app
from fer_toolkit.worker.plan import TERMINAL, JobState, item_weight

log = logging.getLogger(__name__)


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


@app.task(name="fer.score_chunk", ignore_result=True)
def score_chunk(job_id: str, index: int) -> None:
    """Score chunk ``index`` of a job into its part file and record its completion (idempotent).

    Chunks of a job that Redis does not know (lost state), or that is done, failed or cancelled,
    are skipped. A chunk that cannot be scored (input folder or job folder outside this worker's
    roots, another model file, unreadable plan, unwritable part) fails the job with a one-line
    reason; per-file problems are error rows, never exceptions.

    Raises:
        redis.exceptions.ConnectionError: Redis unreachable for longer than ``SCORER_REDIS_GRACE`` (the
            acknowledgement needs Redis too, so the message is redelivered; the sweeper re-sends lost chunks).
    """
    cfg = settings.load()
    meta = store.retrying(lambda: store.get(job_id), cfg.redis_grace)
    if meta is None or meta["state"] in TERMINAL:
        return
    p = meta["params"]
    try:
        root = settings.under_roots(p["input"], cfg.input_roots, "input folder")
        folder = settings.under_roots(meta["parts"], cfg.output_roots, "job folder")
        paths = parts.chunk_paths(folder, index)
        options = FaceOptions.from_json(p["face_options"])
        predictor, detector = scoring.models(p["model"], cfg.ort_threads, options.faces != "none")
        if predictor.model_id != meta["model_id"]:
            raise RuntimeError(f"worker has model {predictor.model_id}, job was submitted with {meta['model_id']}")
        rows = scoring.score_files(root, paths, predictor, detector, options, fps=p.get("fps", DEFAULT_FPS))
        parts.write_part(folder, index, rows)
    except (settings.PathNotAllowed, RuntimeError, OSError, ValueError) as e:
        now = store.retrying(lambda: store.get(job_id), cfg.redis_grace)
        if now is None or now["state"] == JobState.CANCELLED:  # cancel removed the job folder under this chunk
            return
        error = f"chunk {index}: {finalizer.one_line(e)}"
        log.error("job %s: %s", job_id, error)
        store.retrying(lambda: store.end(job_id, JobState.FAILED, error=error), cfg.redis_grace)
        return
    n_errors = sum(r["status"] == "error" for r in rows)
    work = sum(map(item_weight, paths))
    n_done = store.retrying(lambda: store.chunk_done(job_id, index, work, n_errors, cfg.key_ttl),
                            cfg.redis_grace)
    if n_done >= meta["n_chunks"]:
        try:
            finalize.apply_async((job_id,), retry=True, retry_policy={"max_retries": 5, "interval_step": 1})
        except Exception as e:  # noqa: BLE001 - the sweeper sends it again
            log.warning("job %s: finalize not sent (%s); the sweeper will send it", job_id, e)


@app.task(name="fer.finalize", ignore_result=True)
def finalize(job_id: str) -> str:
    """Write the job's report from its parts if every chunk is recorded
    (see :func:`fer_toolkit.worker.finalizer.finalize_job`).

    Returns:
        the outcome (``done``, ``already``, ``incomplete``, ``busy``, ``ended``, ``lost``, ``failed``).
    """
    outcome = finalizer.finalize_job(job_id)
    log.info("job %s: finalize: %s", job_id, outcome)
    return outcome
