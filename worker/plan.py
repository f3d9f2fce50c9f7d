"""What a job is, without Redis or Celery: its states, its errors, and its chunk plan.

Shared by the client (:mod:`fer_toolkit.worker.jobs`), the workers and the in-process scorer
(:mod:`fer_toolkit.worker.local`, which imports neither ``redis`` nor ``celery``).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Callable

from fer_toolkit.fercore.cli import UserError
from fer_toolkit.worker import scoring


class JobState(str, Enum):
    """A job's state, stored in Redis as its value (``"queued"`` ...). Workers write queued and the terminal
    states; ``running`` is what :func:`fer_toolkit.worker.jobs.status` says of a queued job with a chunk done."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def terminal(self) -> bool:
        """True for done, failed and cancelled: the job does no more work."""
        return self in TERMINAL


TERMINAL = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class JobError(UserError):
    """A job cannot be planned, submitted or followed; ``str(err)`` is one line."""


def print_note(note: str) -> None:
    """The default ``notify`` of job planning: one line to stderr."""
    print(note, file=sys.stderr, flush=True)


def plan_chunks(root: Path, recursive: bool, chunk_size: int, notify: Callable[[str], None]) -> list[list[str]]:
    """The image files under ``root`` (relative POSIX paths, sorted) cut into chunks of ``chunk_size``.

    Raises:
        JobError: no such folder, ``chunk_size`` < 1, or no image files (``notify`` hears of skipped subfolders).
    """
    if not root.is_dir():
        raise JobError(f"input folder not found: {root}")
    if chunk_size < 1:
        raise JobError(f"chunk size must be >= 1, got {chunk_size}")
    files, skipped = scoring.list_files_counting_skipped(root, recursive)
    if skipped:
        notify(f"note: skipped {skipped} image file{'s' if skipped > 1 else ''} in subfolders of {root}; "
               "add --recursive (make score RECURSIVE=1) to include them")
    if not files:
        raise JobError(f"no image files ({', '.join(sorted(scoring.IMAGE_EXTENSIONS))}) in {root}"
                       + (" (only in subfolders: add --recursive)" if skipped else ""))
    return [files[i:i + chunk_size] for i in range(0, len(files), chunk_size)]
