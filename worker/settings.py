"""Configuration from the environment, and the folder-root checks that use it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fer_toolkit.models import resolve


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
        SCORER_MODEL: default model of ``score``, ``submit`` and the workers: an ONNX file or a shipped role
            (``fast``, ``balanced``, ``accurate``: the fp32 file; :func:`fer_toolkit.models.resolve`). Unset: the
            workers' entry of :data:`fer_toolkit.models.DEFAULTS` (speed and accuracy: BENCHMARKS.md).
        SCORER_INT8: ``1`` picks the role's static INT8 twin (``--int8``).
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
        model=scorer_model(must_exist=False),  # a worker starts; a job says why
        visibility_timeout=visibility,
        restore_interval=int(env("SCORER_RESTORE_INTERVAL", "5")),
        ort_threads=int(env("SCORER_ORT_THREADS", "1")),
        max_tasks_per_child=int(env("SCORER_MAX_TASKS_PER_CHILD", "200")),
        key_ttl=int(env("SCORER_KEY_TTL", str(7 * 24 * 3600))),
        redis_grace=int(env("SCORER_REDIS_GRACE", "600")),
        sweep_interval=float(env("SCORER_SWEEP_INTERVAL", "10")),
        stall_timeout=int(env("SCORER_STALL_TIMEOUT", str(2 * visibility + 30))),
    )


def scorer_model(spec: str | Path | None = None, int8: bool | None = None, must_exist: bool = True) -> Path:
    """The model file of a scoring job: ``spec`` (``--model``), else ``SCORER_MODEL``, else the workers' default;
    ``int8`` (``--int8``), else ``SCORER_INT8``; resolved by :func:`fer_toolkit.models.resolve`.

    Raises:
        FileNotFoundError, ValueError: see :func:`fer_toolkit.models.resolve` (one line).
    """
    if spec is None:
        spec = os.environ.get("SCORER_MODEL") or None
    if int8 is None and os.environ.get("SCORER_INT8", "").strip():
        int8 = os.environ["SCORER_INT8"].strip().lower() not in ("0", "false", "no")
    return resolve(spec, int8, entry="workers", must_exist=must_exist)


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
