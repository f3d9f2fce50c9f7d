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
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS, ImageDecodeError
from fer_toolkit.fercore.video import DEFAULT_FPS, is_video
from fer_toolkit.worker import scoring
from fer_toolkit.worker.video_plan import FRAMES, PATH, video_items


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


def plan_chunks(root: Path, recursive: bool, chunk_size: int, notify: Callable[[str], None],
                fps: float = DEFAULT_FPS, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[list]:
    """The image and video files under ``root`` (sorted) as chunk items, packed into chunks of ``chunk_size``.

    An image is one item, its relative POSIX path (weight 1); a video is one or more time ranges
    (:func:`fer_toolkit.worker.video_plan.video_items`, weight: its expected sampled frames at ``fps``, ranges of
    ``chunk_size``). Items are packed in path order into chunks whose weights add up to at most ``chunk_size``
    (an item heavier than that alone), so a long video spreads over many chunks and short ones share.

    Raises:
        JobError: no such folder, ``chunk_size`` < 1, or no image or video files (``notify`` hears of skipped
            subfolders).
    """
    if not root.is_dir():
        raise JobError(f"input folder not found: {root}")
    if chunk_size < 1:
        raise JobError(f"chunk size must be >= 1, got {chunk_size}")
    files, skipped = scoring.list_files_counting_skipped(root, recursive)
    if skipped:
        notify(f"note: skipped {skipped} image or video file{'s' if skipped > 1 else ''} in subfolders of {root}; "
               "add --recursive (make score RECURSIVE=1) to include them")
    if not files:
        raise JobError(f"no image files ({', '.join(sorted(scoring.IMAGE_EXTENSIONS))}) or video files in {root}"
                       + (" (only in subfolders: add --recursive)" if skipped else ""))
    items = []
    for rel in files:
        if not is_video(rel):
            items.append(rel)
            continue
        try:
            items += video_items(scoring.check_path(root, rel), rel, fps, chunk_size, max_pixels)
        except ImageDecodeError:  # a symlink out of the folder, a FIFO ...: its error row comes from scoring
            items.append([rel, None, None, 1])
    return pack(items, chunk_size)


def pack(items: list, cap: int) -> list[list]:
    """``items`` in order, in chunks whose weights (:func:`item_weight`) add up to at most ``cap`` (an item
    heavier than that alone); always at least one chunk."""
    chunks, current, weight = [], [], 0
    for item in items:
        if current and weight + item_weight(item) > cap:
            chunks.append(current)
            current, weight = [], 0
        current.append(item)
        weight += item_weight(item)
    return chunks + [current]


def item_path(item: str | list) -> str:
    """A chunk item's file: the image's path, or the video range's."""
    return item if isinstance(item, str) else item[PATH]


def item_weight(item: str | list) -> int:
    """A chunk item's share of the job's work: 1 for an image, a video range's expected sampled frames."""
    return 1 if isinstance(item, str) else item[FRAMES]


def plan_size(chunks: list[list]) -> tuple[int, int]:
    """``(files, work)``: the distinct files of a plan and its total weight (:func:`item_weight`)."""
    return len({item_path(i) for c in chunks for i in c}), sum(item_weight(i) for c in chunks for i in c)
