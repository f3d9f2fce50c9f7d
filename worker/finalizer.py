"""Assemble a job's report from its part files: idempotent, safe to run twice, after a crash or a Redis restart.

Any number of deliveries of ``fer.finalize`` (the last chunk's, the sweeper's, a redelivery after a
worker died) may run :func:`finalize_job`; a Redis lock with an expiry lets one assemble at a time,
and a job already done is left alone. Redis is read before the assembly and written after it, each
through :func:`fer_toolkit.worker.store.retrying`, so Redis may be down while the parts stream into the report.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.worker import parts, report, settings, store
from fer_toolkit.worker.plan import JobState
from fer_toolkit.worker.track_links import link_tracks

log = logging.getLogger(__name__)
LOCK_S = 60  # the lock expires this long after its last extension: a SIGKILLed finalizer blocks no one for longer
EXTEND_EVERY = 20_000  # rows between lock extensions


def one_line(e: BaseException) -> str:
    """``"<Type>: <first line of the message>"``."""
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def finalize_job(job_id: str) -> str:
    """Write the job's CSV report and summary from its parts once every chunk is recorded, then remove the parts.

    Returns:
        what happened: ``done`` (report written), ``already`` (job already done; leftover parts removed),
        ``incomplete`` (chunks missing; the sweeper calls again), ``busy`` (another task holds the lock),
        ``ended`` (job cancelled: parts removed), ``lost`` (Redis does not know the job), or ``failed``
        (the reason is recorded on the job; its parts are kept for a retry).

    Raises:
        redis.exceptions.ConnectionError: Redis unreachable for longer than ``SCORER_REDIS_GRACE``.
    """
    cfg = settings.load()
    meta = store.retrying(lambda: store.get(job_id), cfg.redis_grace)
    if meta is None:
        return "lost"
    folder = Path(meta["parts"])
    if meta["state"] in (JobState.DONE, JobState.CANCELLED):
        parts.remove(folder)
        return "already" if meta["state"] == JobState.DONE else "ended"
    n_chunks = meta["n_chunks"]
    if store.retrying(lambda: store.missing_chunks(job_id, n_chunks), cfg.redis_grace):
        return "incomplete"
    token = store.retrying(lambda: store.lock(job_id, LOCK_S), cfg.redis_grace)
    if token is None:
        return "busy"
    try:
        summary = _assemble(job_id, meta, folder, token, cfg)
    except (OSError, ValueError, RuntimeError) as e:
        error = one_line(e)
        log.error("job %s: report not written: %s", job_id, error)
        store.retrying(lambda: store.end(job_id, JobState.FAILED, error=error), cfg.redis_grace)
        return "failed"
    finally:
        try:
            store.unlock(job_id, token)
        except store.REDIS_ERRORS:
            pass  # it expires
    store.retrying(lambda: store.end(job_id, JobState.DONE, summary=summary), cfg.redis_grace)
    parts.remove(folder)  # only once the job is recorded done: a crash before this leaves the parts for a retry
    log.info("job %s: wrote %s (%d rows)", job_id, meta["out"], summary["rows"])
    return "done"


def _assemble(job_id: str, meta: dict, folder: Path, token: str, cfg: settings.Settings) -> dict:
    """Stream the parts in chunk order into the report (atomic: all or nothing), each video's tracks linked
    across its chunks (:func:`fer_toolkit.worker.track_links.link_tracks`); returns the summary."""
    out = settings.under_roots(meta["out"], cfg.output_roots, "report")
    folder = settings.under_roots(folder, cfg.output_roots, "job folder")
    missing = parts.missing_parts(folder, meta["n_chunks"])
    if missing:
        raise RuntimeError(f"{len(missing)} part files missing from {folder} (e.g. chunk {missing[0]}): "
                           "is the output folder shared by every worker?")
    n_files, files = 0, meta.get("files", meta["total"])  # jobs before videos counted files in "total"

    def rows():
        nonlocal n_files
        last, n = None, 0
        for row in link_tracks(parts.read_parts(folder, meta["n_chunks"])):
            if row["path"] != last:  # rows are sorted by path: a file's rows are adjacent
                n_files, last = n_files + 1, row["path"]
            n += 1
            if n % EXTEND_EVERY == 0:
                store.extend(job_id, token, LOCK_S)
            yield row
        if n_files != files:  # aborts the atomic write: never a short report
            raise RuntimeError(f"{files - n_files} files have no row; report not written")

    faces = FaceOptions.from_json(meta["params"]["face_options"]).faces
    return report.write_report(rows(), out, meta["labels"], faces, files, meta["submitted_at"],
                               meta["model_id"], meta["params"])
