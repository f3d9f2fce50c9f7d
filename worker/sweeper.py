"""The worker-side sweeper: a Celery worker bootstep that finalizes complete jobs and re-queues lost chunks.

Every ``SCORER_SWEEP_INTERVAL`` seconds each worker's main process looks at the active jobs:

- all chunks recorded but the job not done (the last chunk's ``finalize`` was lost, failed while
  Redis was down, or its worker died): send ``fer.finalize`` again (at most once per 30 s per job
  across all workers);
- chunks missing, no chunk of any job completed for ``SCORER_STALL_TIMEOUT`` seconds, and the
  broker holds no waiting or unacknowledged message: the missing chunks' messages were lost (a
  broker that lost writes), so they are sent again (at most ``MAX_REQUEUES`` times, then the job fails).

Duplicates are harmless: chunks and finalize are idempotent. It runs in a daemon thread so a slow
or unreachable Redis never blocks the worker's event loop; errors are logged and the next sweep retries.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import bootsteps

from fer_toolkit.worker import settings, store
from fer_toolkit.worker.plan import TERMINAL, JobState

log = logging.getLogger(__name__)
MAX_REQUEUES = 3
FINALIZE_RESEND_S = 30


def sweep(app, cfg: settings.Settings, now: float | None = None) -> dict[str, str]:
    """One pass over the active jobs; returns ``{job id: action}`` (finalize, requeue N, failed, forget).

    Raises:
        redis.exceptions.RedisError: Redis unreachable (the caller logs it and tries at the next interval).
    """
    now = time.time() if now is None else now
    actions: dict[str, str] = {}
    for job_id in store.active_jobs():
        meta = store.get(job_id)
        if meta is None or meta["state"] in TERMINAL:
            store.client().srem(store.ACTIVE, job_id)  # expired, lost, or ended
            actions[job_id] = "forget"
            continue
        missing = store.missing_chunks(job_id, meta["n_chunks"])
        if not missing:
            if store.once_per(f"finalize:{job_id}", FINALIZE_RESEND_S):
                app.send_task("fer.finalize", args=[job_id])
                actions[job_id] = "finalize"
            continue
        quiet_since = max(store.last_progress() or 0.0, meta["submitted_at"], meta.get("requeued_at", 0.0))
        if now - quiet_since < cfg.stall_timeout or not store.broker_idle():
            continue
        if not store.once_per(f"requeue:{job_id}", max(cfg.stall_timeout, 1)):
            continue
        n = meta.get("requeues", 0)
        if n >= MAX_REQUEUES:
            store.end(job_id, JobState.FAILED, error=f"{len(missing)} chunks never finished after {n} re-queues "
                                              f"(e.g. chunk {missing[0]})")
            actions[job_id] = "failed"
            continue
        store.update(job_id, requeues=n + 1, requeued_at=now)
        for i in missing:
            app.send_task("fer.score_chunk", args=[job_id, i])
        log.warning("job %s: no progress for %.0f s and an empty queue: re-queued %d lost chunks",
                    job_id, now - quiet_since, len(missing))
        actions[job_id] = f"requeue {len(missing)}"
    return actions


class Sweeper(bootsteps.StartStopStep):
    """Runs :func:`sweep` every ``SCORER_SWEEP_INTERVAL`` seconds in a daemon thread of the worker's main process."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, worker) -> None:
        cfg = settings.load()
        if cfg.sweep_interval <= 0:
            return

        def loop():
            while not self._stop.wait(cfg.sweep_interval):
                try:
                    for job_id, action in sweep(worker.app, cfg).items():
                        log.info("sweeper: job %s: %s", job_id, action)
                except Exception as e:  # noqa: BLE001 - Redis down or a transient error: try at the next sweep
                    log.warning("sweeper: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)

        self._thread = threading.Thread(target=loop, name="fer-sweeper", daemon=True)
        self._thread.start()

    def stop(self, worker) -> None:
        self._stop.set()
