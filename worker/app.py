"""The Celery application: Redis broker and result backend, JSON only, late acks, prefetch 1.

Start a worker with ``celery -A worker.app worker --concurrency N`` (``make worker``).
"""

from __future__ import annotations

from celery import Celery

from worker import settings

cfg = settings.load()

app = Celery("fer_worker", broker=cfg.redis_url, backend=cfg.redis_url, include=["worker.tasks"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_acks_late=True,  # a chunk is acknowledged after it is scored ...
    task_reject_on_worker_lost=True,  # ... and requeued if its worker process dies
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=cfg.max_tasks_per_child,
    worker_proc_alive_timeout=60,  # a new process loads and warms up the model before its first task (tasks.py)
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        # A SIGKILLed worker's chunk is redelivered after visibility_timeout; kombu scans for
        # such messages every unacked_restore_interval x unacked_restore_throttle seconds.
        "visibility_timeout": cfg.visibility_timeout,
        "unacked_restore_interval": cfg.restore_interval,
        "unacked_restore_throttle": 1,
        # The scan holds a Redis mutex; a worker SIGKILLed while holding it would block every
        # other worker's scan until the mutex expires (kombu's default: 300 s).
        "unacked_mutex_expire": max(10, min(cfg.visibility_timeout, 60)),
    },
    result_backend_transport_options={"visibility_timeout": cfg.visibility_timeout},
    result_backend_always_retry=True,
    result_backend_max_retries=60,
    result_expires=cfg.key_ttl,
    redis_backend_health_check_interval=10,
    task_track_started=True,
)
