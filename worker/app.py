"""The Celery application: Redis broker, JSON only, late acks, prefetch 1, and the worker-side sweeper.

Start a worker with ``celery -A fer_toolkit.worker.app worker --concurrency N`` (``make worker``). Tasks keep
no Celery results (job state lives in :mod:`fer_toolkit.worker.store`, rows in part files), so there is no
result backend; Flower reads the workers' task events.
"""

from __future__ import annotations

from celery import Celery

from fer_toolkit.worker import settings
from fer_toolkit.worker.sweeper import Sweeper

cfg = settings.load()

app = Celery("fer_worker", broker=cfg.redis_url, include=["fer_toolkit.worker.tasks"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,  # a chunk is acknowledged after it is scored ...
    task_reject_on_worker_lost=True,  # ... and requeued if its worker process dies
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=cfg.max_tasks_per_child,
    worker_proc_alive_timeout=60,  # a new process loads and warms up the model before its first task (tasks.py)
    # A running chunk outlives a lost broker connection: it waits for Redis to record its completion.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    worker_send_task_events=True,  # for Flower (make flower); events are published, never stored in Redis
    task_send_sent_event=True,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,  # a worker waits out a Redis restart of any length
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
)
app.steps["worker"].add(Sweeper)
