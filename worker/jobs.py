"""Client side of a job: submit, status, wait (tqdm), cancel. In-process scoring: :mod:`fer_toolkit.worker.local`."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Callable

from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.video import DEFAULT_FPS
from fer_toolkit.worker import parts, settings, store
from fer_toolkit.worker.plan import TERMINAL, JobError, JobState, plan_chunks, plan_size, print_note

__all__ = ["JobError", "JobState", "TERMINAL", "cancel", "status", "submit", "wait"]


def submit(root: str | Path, out: str | Path, recursive: bool = False, options: FaceOptions | None = None,
           chunk_size: int = 256, model: str | Path | None = None, int8: bool | None = None,
           notify: Callable[[str], None] = print_note, fps: float = DEFAULT_FPS) -> str:
    """Queue a scoring job and return its id at once: write the chunk plan into the job folder beside the
    report (:mod:`fer_toolkit.worker.parts`), record the job in Redis, send one ``(job id, chunk index)`` message
    per chunk.

    ``options`` (default :class:`~fer_toolkit.fercore.options.FaceOptions`) and ``fps`` (videos' sampled frames
    per second, 0: every frame; a long video is cut into ranges of ``chunk_size`` sampled frames) travel in the
    job's parameters;
    ``model`` and ``int8`` as :func:`fer_toolkit.worker.settings.scorer_model`; ``notify`` receives one-line
    notes (files skipped in subfolders); default: printed to stderr.

    Raises:
        fer_toolkit.worker.settings.PathNotAllowed: input or report outside the configured roots.
        JobError: no such folder, no images or videos, bad chunk size, or the chunks could not all be queued.
        FileNotFoundError, ValueError: no such model, or ``int8`` with a file.
        redis.exceptions.RedisError: Redis unreachable before anything was queued.
    """
    from fer_toolkit.worker.tasks import score_chunk

    cfg = settings.load()
    options = options or FaceOptions()
    root_r = settings.under_roots(root, cfg.input_roots, "input folder")
    out_r = settings.under_roots(out, cfg.output_roots, "report")
    model_path = settings.scorer_model(model, int8).resolve()
    predictor = Predictor(model_path)
    chunks = plan_chunks(root_r, recursive, chunk_size, notify, fps, options.max_pixels)
    n_files, work = plan_size(chunks)
    job_id = uuid.uuid4().hex
    folder = parts.job_dir(out_r, job_id)
    params = {"input": str(root_r), "recursive": recursive, "chunk_size": chunk_size, "model": str(model_path),
              "face_options": options.to_json(), "fps": fps}
    parts.write_plan(folder, chunks)
    try:
        store.create(job_id, {"out": str(out_r), "parts": str(folder), "total": work, "files": n_files,
                              "n_chunks": len(chunks), "labels": list(predictor.labels),
                              "model_id": predictor.model_id, "params": params, "submitted_at": time.time()},
                     cfg.key_ttl)
    except BaseException:
        parts.remove(folder)
        raise
    try:
        with score_chunk.app.producer_or_acquire() as producer:
            for i in range(len(chunks)):
                score_chunk.apply_async((job_id, i), producer=producer)
    except Exception as e:  # noqa: BLE001 - kombu and redis errors alike: the job cannot run as submitted
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        with contextlib.suppress(*store.REDIS_ERRORS):
            store.end(job_id, JobState.FAILED, error=f"submit interrupted: {reason}")
        raise JobError(f"job {job_id} not queued: {reason}") from None
    return job_id


def status(job_id: str) -> dict:
    """``state`` (a :class:`~fer_toolkit.worker.plan.JobState` value), ``total`` and ``done`` (images plus
    videos' sampled frames, as planned), ``failed`` (error rows), ``images_per_second`` (of that work),
    ``eta_seconds``, ``out`` and ``error`` of a job.

    Raises:
        JobError: Redis does not know the job.
    """
    meta = store.get(job_id)
    if meta is None:
        raise JobError(f"unknown job {job_id} (wrong id, expired, or Redis lost its state: was it restarted "
                       "without persistence?)")
    chunks, done, failed = store.progress(job_id)
    state = JobState(meta["state"])
    state = JobState.RUNNING if state is JobState.QUEUED and chunks else state  # workers never write "running"
    started = meta.get("started_at") or meta["submitted_at"]
    elapsed = (meta.get("finished_at") or time.time()) - started
    rate = done / elapsed if done and elapsed > 0 else None
    eta = (meta["total"] - done) / rate if rate and state not in TERMINAL else None
    return {"job": job_id, "state": state.value, "total": meta["total"], "done": done, "failed": failed,
            "chunks": f"{chunks}/{meta['n_chunks']}", "images_per_second": rate, "eta_seconds": eta,
            "out": meta["out"], "error": meta.get("error", "")}


def wait(job_id: str, poll: float = 0.5, redis_grace: float = 120.0, progress: bool = True) -> dict:
    """Follow a job with a tqdm bar until it ends; returns its final :func:`status`.

    Redis being briefly unreachable (a restart) is waited out for ``redis_grace`` seconds.

    Raises:
        JobError: unknown job, lost (Redis forgot it), or Redis unreachable for longer than ``redis_grace``.
    """
    from tqdm import tqdm

    bar, down_since = None, None
    try:
        while True:
            try:
                st = status(job_id)
                down_since = None
            except JobError:
                if bar is None:
                    raise
                raise JobError(f"job {job_id} vanished from Redis: its state was lost (Redis restarted without "
                               "persistence, or flushed); submit the job again") from None
            except store.REDIS_ERRORS as e:
                down_since = down_since or time.time()
                if time.time() - down_since > redis_grace:
                    raise JobError(f"Redis unreachable for {redis_grace:.0f} s: {e}") from None
                time.sleep(1)
                continue
            if bar is None:
                bar = tqdm(total=st["total"], unit="img", disable=not progress, dynamic_ncols=True)
            bar.n = st["done"]
            bar.set_postfix(failed=st["failed"], state=st["state"], refresh=False)
            bar.refresh()
            if st["state"] in TERMINAL:
                return st
            time.sleep(poll)
    finally:
        if bar is not None:
            bar.close()


def cancel(job_id: str) -> None:
    """Mark a job cancelled and remove its job folder: chunks not yet started are skipped, no report is written.

    Raises:
        JobError: unknown job.
    """
    meta = store.get(job_id)
    if meta is None:
        raise JobError(f"unknown job {job_id}")
    store.end(job_id, JobState.CANCELLED)  # a job already done stays done, with its report
    if meta["state"] != JobState.DONE:
        parts.remove(Path(meta["parts"]))
