"""Job state in Redis: metadata, per-chunk rows (idempotent by chunk index) and progress."""

from __future__ import annotations

import json
import time
from typing import Iterator

import redis

from worker import settings

_CLIENT: dict[str, redis.Redis] = {}


def client(url: str | None = None) -> redis.Redis:
    """A Redis client for ``url`` (default ``REDIS_URL``), one per process."""
    url = url or settings.load().redis_url
    if url not in _CLIENT:
        _CLIENT[url] = redis.Redis.from_url(url, decode_responses=True, health_check_interval=10,
                                            socket_timeout=30, socket_connect_timeout=5, retry_on_timeout=True)
    return _CLIENT[url]


def key(job_id: str, part: str = "") -> str:
    """Redis key of a job (``fer:job:<id>``) or one of its parts (``:rows``, ``:progress``)."""
    return f"fer:job:{job_id}" + (f":{part}" if part else "")


def create(job_id: str, meta: dict, ttl: int) -> None:
    """Store a new job's metadata (values JSON-encoded) with state ``queued``."""
    r = client()
    r.hset(key(job_id), mapping={k: json.dumps(v) for k, v in {**meta, "state": "queued"}.items()})
    r.expire(key(job_id), ttl)


def get(job_id: str) -> dict | None:
    """A job's metadata, or None if Redis does not know it (unknown id, expired, or state lost)."""
    raw = client().hgetall(key(job_id))
    return {k: json.loads(v) for k, v in raw.items()} if raw else None


def update(job_id: str, **fields) -> None:
    """Set metadata fields."""
    client().hset(key(job_id), mapping={k: json.dumps(v) for k, v in fields.items()})


def save_chunk(job_id: str, index: int, rows: list[dict], n_files: int, ttl: int) -> None:
    """Store a chunk's rows and progress; storing the same chunk again overwrites (idempotent)."""
    n_errors = sum(r["status"] == "error" for r in rows)
    p = client().pipeline(transaction=True)
    p.hset(key(job_id, "rows"), str(index), json.dumps(rows))
    p.hset(key(job_id, "progress"), str(index), json.dumps([n_files, n_errors]))
    p.hsetnx(key(job_id), "started_at", json.dumps(time.time()))
    p.expire(key(job_id, "rows"), ttl)
    p.expire(key(job_id, "progress"), ttl)
    p.execute()


def progress(job_id: str) -> tuple[int, int, int]:
    """``(chunks done, files done, files failed)``."""
    vals = [json.loads(v) for v in client().hvals(key(job_id, "progress"))]
    return len(vals), sum(v[0] for v in vals), sum(v[1] for v in vals)


def missing_chunks(job_id: str, n_chunks: int) -> list[int]:
    """Chunk indexes without stored rows."""
    done = set(client().hkeys(key(job_id, "rows")))
    return [i for i in range(n_chunks) if str(i) not in done]


def rows(job_id: str, n_chunks: int) -> Iterator[dict]:
    """A job's rows, chunk by chunk in index order (one chunk in memory at a time).

    Raises:
        KeyError: a chunk is missing.
    """
    for i in range(n_chunks):
        raw = client().hget(key(job_id, "rows"), str(i))
        if raw is None:
            raise KeyError(f"chunk {i} of job {job_id} is missing")
        yield from json.loads(raw)


def drop_rows(job_id: str) -> None:
    """Free the per-chunk rows once the report is written."""
    client().delete(key(job_id, "rows"))
