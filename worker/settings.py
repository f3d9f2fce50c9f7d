"""Configuration from the environment, and the folder-root checks that use it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fer_toolkit.models import model_path


def _roots(name: str) -> tuple[Path, ...]:
    raw = os.environ.get(name, "")
    parts = [p for p in raw.split(os.pathsep) if p.strip()] or [os.getcwd()]
    return tuple(Path(p).expanduser().resolve() for p in parts)


@dataclass(frozen=True)
class Settings:
    """Worker and client settings (read with :func:`load`).

    Environment variables:
        REDIS_URL: broker and result backend (default ``redis://127.0.0.1:6379/0``).
        SCORER_INPUT_ROOTS / SCORER_OUTPUT_ROOTS: ``os.pathsep``-separated folders that
            job inputs / reports must lie under (default: the current directory).
        SCORER_MODEL: default ONNX model, a file or a shipped role (``fast``, ``balanced``, ``accurate``: that
            file's INT8 twin, :func:`fer_toolkit.models.model_path`). Default ``balanced``: three networks in
            one pass each; 70.41% PrivateTest top-1 (v6), 1,491-1,597 images/s at batch 256 on a 2-core AMD
            EPYC with AVX-512 VNNI (v5, the same graph), 729-885 on a slower one, and 372-423 on one with AVX2
            only, where ``fast`` (68.99%) makes 1,030-1,147 (BENCHMARKS.md).
        SCORER_VISIBILITY_TIMEOUT: seconds before Redis redelivers an unacknowledged
            chunk (default 300; must exceed the longest chunk's scoring time).
        SCORER_RESTORE_INTERVAL: seconds between scans for such chunks (default 5).
        SCORER_ORT_THREADS: onnxruntime intra-op threads per worker process (default 1:
            one process per core).
        SCORER_MAX_TASKS_PER_CHILD: recycle a worker process after this many chunks (default 200).
        SCORER_KEY_TTL: seconds a job's state stays in Redis (default 7 days).
        SCORER_REDIS_GRACE: seconds a task waits out an unreachable Redis before giving up (default 600).
        SCORER_SWEEP_INTERVAL: seconds between the worker-side sweeps that finalize complete jobs (default 10).
        SCORER_STALL_TIMEOUT: seconds without any chunk completing, with the broker queue empty, after which
            the sweeper re-queues a job's missing chunks (default 2 x visibility timeout + 30).
    """

    redis_url: str
    input_roots: tuple[Path, ...]
    output_roots: tuple[Path, ...]
    model: Path
    visibility_timeout: int
    restore_interval: int
    ort_threads: int
    max_tasks_per_child: int
    key_ttl: int
    redis_grace: int
    sweep_interval: float
    stall_timeout: int


def load() -> Settings:
    """Settings from the current environment."""
    env = os.environ.get
    visibility = int(env("SCORER_VISIBILITY_TIMEOUT", "300"))
    return Settings(
        redis_url=env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        input_roots=_roots("SCORER_INPUT_ROOTS"),
        output_roots=_roots("SCORER_OUTPUT_ROOTS"),
        model=model_path(env("SCORER_MODEL", "balanced"), must_exist=False),  # a worker starts; a job says why
        visibility_timeout=visibility,
        restore_interval=int(env("SCORER_RESTORE_INTERVAL", "5")),
        ort_threads=int(env("SCORER_ORT_THREADS", "1")),
        max_tasks_per_child=int(env("SCORER_MAX_TASKS_PER_CHILD", "200")),
        key_ttl=int(env("SCORER_KEY_TTL", str(7 * 24 * 3600))),
        redis_grace=int(env("SCORER_REDIS_GRACE", "600")),
        sweep_interval=float(env("SCORER_SWEEP_INTERVAL", "10")),
        stall_timeout=int(env("SCORER_STALL_TIMEOUT", str(2 * visibility + 30))),
    )


class PathNotAllowed(ValueError):
    """A job path is outside the configured roots; ``str(err)`` is one line."""


def under_roots(path: str | Path, roots: tuple[Path, ...], what: str) -> Path:
    """``path`` resolved (``..`` and symlinks followed) if it lies under one of ``roots``.

    Raises:
        PathNotAllowed: it does not.
    """
    resolved = Path(path).expanduser().resolve()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        allowed = os.pathsep.join(map(str, roots))
        raise PathNotAllowed(f"{what} {path} resolves to {resolved}, outside the allowed roots {allowed}")
    return resolved
