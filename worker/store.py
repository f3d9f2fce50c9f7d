"""Job state in Redis: metadata, per-chunk completion records (idempotent by chunk index) and progress.

Redis holds O(chunks) small records per job, never rows (those go to part files, :mod:`fer_toolkit.worker.parts`):

- ``fer:job:<id>`` (hash): metadata, JSON values (``state``, ``total``, ``n_chunks``, ``out``, ``params`` ...).
- ``fer:job:<id>:progress`` (hash): chunk index -> ``[files, error rows]``, written once a chunk's part is on disk.
- ``fer:job:<id>:lock`` (string): held by the task assembling the report (expires).
- ``fer:jobs:active`` (set): jobs not yet done, failed or cancelled, which the sweeper looks at.
- ``fer:last_progress`` (string): ``time.time()`` of the latest chunk completion of any job.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Callable, TypeVar

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fer_toolkit.worker import settings
from fer_toolkit.worker.plan import JobState

_CLIENT: dict[str, redis.Redis] = {}
ACTIVE = "fer:jobs:active"
LAST_PROGRESS = "fer:last_progress"
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)
T = TypeVar("T")


def client(url: str | None = None) -> redis.Redis:
    """A Redis client for ``url`` (default ``REDIS_URL``), one per process."""
    url = url or settings.load().redis_url
    if url not in _CLIENT:
        _CLIENT[url] = redis.Redis.from_url(url, decode_responses=True, health_check_interval=10,
                                            socket_timeout=30, socket_connect_timeout=5, retry_on_timeout=True)
    return _CLIENT[url]


def retrying(fn: Callable[[], T], grace: float, what: str = "Redis") -> T:
    """``fn()``, retried once a second while Redis is unreachable, for at most ``grace`` seconds.

    Raises:
        redis.exceptions.ConnectionError / TimeoutError: still unreachable after ``grace`` seconds.
    """
    deadline = time.monotonic() + grace
    while True:
        try:
            return fn()
        except REDIS_ERRORS:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def key(job_id: str, part: str = "") -> str:
    """Redis key of a job (``fer:job:<id>``) or one of its records (``:progress``, ``:lock``)."""
    return f"fer:job:{job_id}" + (f":{part}" if part else "")


def create(job_id: str, meta: dict, ttl: int) -> None:
    """Store a new job's metadata (values JSON-encoded) with state ``queued`` and mark it active."""
    p = client().pipeline(transaction=True)
    p.hset(key(job_id), mapping={k: json.dumps(v) for k, v in {**meta, "state": JobState.QUEUED}.items()})
    p.expire(key(job_id), ttl)
    p.sadd(ACTIVE, job_id)
    p.execute()


def get(job_id: str) -> dict | None:
    """A job's metadata, or None if Redis does not know it (unknown id, expired, or state lost)."""
    raw = client().hgetall(key(job_id))
    return {k: json.loads(v) for k, v in raw.items()} if raw else None


def update(job_id: str, **fields) -> None:
    """Set metadata fields (on a job Redis still knows; a lost job is not re-created)."""
    if client().exists(key(job_id)):
        client().hset(key(job_id), mapping={k: json.dumps(v) for k, v in fields.items()})


def end(job_id: str, state: JobState, **fields) -> None:
    """Record a terminal ``state`` (done, failed, cancelled) with ``finished_at`` and drop the job from the active set.

    A job already done or cancelled keeps that state (a late chunk's failure does not overwrite it).
    """
    current = client().hget(key(job_id), "state")
    if current is not None and json.loads(current) not in (JobState.DONE, JobState.CANCELLED):
        update(job_id, state=state, finished_at=time.time(), **fields)
    client().srem(ACTIVE, job_id)


def chunk_done(job_id: str, index: int, n_files: int, n_errors: int, ttl: int) -> int:
    """Record that chunk ``index`` is on disk (recording it again overwrites: idempotent).

    Returns:
        the number of distinct chunks recorded so far.
    """
    now = time.time()
    p = client().pipeline(transaction=True)
    p.hset(key(job_id, "progress"), str(index), json.dumps([n_files, n_errors]))
    p.hsetnx(key(job_id), "started_at", json.dumps(now))
    p.expire(key(job_id, "progress"), ttl)
    p.set(LAST_PROGRESS, json.dumps(now))
    p.hlen(key(job_id, "progress"))
    return p.execute()[-1]


def progress(job_id: str) -> tuple[int, int, int]:
    """``(chunks done, files done, files failed)``."""
    vals = [json.loads(v) for v in client().hvals(key(job_id, "progress"))]
    return len(vals), sum(v[0] for v in vals), sum(v[1] for v in vals)


def missing_chunks(job_id: str, n_chunks: int) -> list[int]:
    """Chunk indexes without a completion record."""
    done = set(client().hkeys(key(job_id, "progress")))
    return [i for i in range(n_chunks) if str(i) not in done]


def active_jobs() -> list[str]:
    """Ids of the jobs not yet ended."""
    return sorted(client().smembers(ACTIVE))


def last_progress() -> float | None:
    """``time.time()`` of the latest chunk completion of any job, or None."""
    raw = client().get(LAST_PROGRESS)
    return json.loads(raw) if raw else None


def lock(job_id: str, seconds: int) -> str | None:
    """Take the job's assembly lock for ``seconds``; returns its token, or None if another task holds it."""
    token = uuid.uuid4().hex
    return token if client().set(key(job_id, "lock"), token, nx=True, ex=seconds) else None


def extend(job_id: str, token: str, seconds: int) -> None:
    """Push the lock's expiry ``seconds`` ahead if ``token`` still holds it (best effort: Redis errors ignored)."""
    try:
        if client().get(key(job_id, "lock")) == token:
            client().expire(key(job_id, "lock"), seconds)
    except REDIS_ERRORS:
        pass


def unlock(job_id: str, token: str) -> None:
    """Release the lock if ``token`` still holds it."""
    if client().get(key(job_id, "lock")) == token:
        client().delete(key(job_id, "lock"))


def once_per(name: str, seconds: int) -> bool:
    """True for the first caller of ``name`` in a ``seconds`` window (a Redis ``SET NX EX``)."""
    return bool(client().set(f"fer:once:{name}", "1", nx=True, ex=seconds))


def broker_idle(queue: str = "celery") -> bool:
    """No message waiting in ``queue`` and none delivered but unacknowledged (kombu's Redis transport keys)."""
    p = client().pipeline(transaction=False)
    p.llen(queue)
    p.hlen("unacked")
    waiting, unacked = p.execute()
    return waiting == 0 and unacked == 0
