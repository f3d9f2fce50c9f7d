"""A job's folder beside its report: the chunk plan and the per-chunk part files (rows never go to Redis).

``<report folder>/.<report name>.<job id>.parts/`` holds:

- ``plan.jsonl`` + ``plan.idx``: chunk ``i``'s items (a JSON list, line ``i``: image paths and video ranges,
  :func:`fer_toolkit.worker.plan.plan_chunks`) and the byte offsets of
  every line (little-endian int64, ``n_chunks + 1`` of them), written once by ``submit``; so a chunk
  message carries only ``(job id, chunk index)``.
- ``part-<i>.jsonl``: chunk ``i``'s rows (one JSON object per line, sorted), written atomically
  (temporary file, fsync, rename) by whichever delivery of the chunk finishes; writing it again
  replaces it with the same rows (idempotent by chunk index).

The folder is removed once the report is written, and kept while a job is unfinished or failed,
so a retried finalize can use the parts.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

from fer_toolkit.worker.report import atomic_write

_OFFSET = struct.Struct("<q")


def job_dir(out: str | Path, job_id: str) -> Path:
    """The job's folder for report ``out`` (a hidden sibling of the report)."""
    out = Path(out)
    return out.parent / f".{out.name}.{job_id}.parts"


def write_plan(folder: Path, chunks: list[list[str]]) -> None:
    """Create ``folder`` and write the chunk plan (``plan.jsonl`` and its offsets ``plan.idx``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [(json.dumps(c) + "\n").encode() for c in chunks]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    atomic_write(folder / "plan.jsonl", lambda f: f.writelines(lines), "wb")
    atomic_write(folder / "plan.idx", lambda f: f.write(b"".join(map(_OFFSET.pack, offsets))), "wb")


def chunk_paths(folder: Path, index: int) -> list:
    """Chunk ``index``'s items from the plan: relative POSIX paths under the input folder, and video ranges
    ``[path, start, end, frames]`` (:mod:`fer_toolkit.worker.video_plan`).

    Raises:
        FileNotFoundError: no plan in ``folder``.
        ValueError: ``index`` out of range, or a path that is absolute or climbs with ``..``.
    """
    with open(folder / "plan.idx", "rb") as f:
        f.seek(index * _OFFSET.size)
        raw = f.read(2 * _OFFSET.size)
    if index < 0 or len(raw) != 2 * _OFFSET.size:
        raise ValueError(f"chunk {index} is not in the plan of {folder}")
    start, end = _OFFSET.unpack(raw[:8])[0], _OFFSET.unpack(raw[8:])[0]
    with open(folder / "plan.jsonl", "rb") as f:
        f.seek(start)
        paths = json.loads(f.read(end - start))
    for item in paths:
        p = item if isinstance(item, str) else item[0]
        if PurePosixPath(p).is_absolute() or ".." in PurePosixPath(p).parts:
            raise ValueError(f"plan of {folder} has a path outside the input folder: {p!r}")
    return paths


def part_path(folder: Path, index: int) -> Path:
    """``folder/part-<index>.jsonl``."""
    return folder / f"part-{index:07d}.jsonl"


def write_part(folder: Path, index: int, rows: Iterable[dict]) -> None:
    """Write chunk ``index``'s rows atomically (replacing an earlier delivery's identical part)."""
    atomic_write(part_path(folder, index), lambda f: f.writelines(json.dumps(r) + "\n" for r in rows))


def missing_parts(folder: Path, n_chunks: int) -> list[int]:
    """Chunk indexes whose part file is absent."""
    present = {p.name for p in folder.glob("part-*.jsonl")} if folder.is_dir() else set()
    return [i for i in range(n_chunks) if part_path(folder, i).name not in present]


def read_parts(folder: Path, n_chunks: int) -> Iterator[dict]:
    """Every row of parts ``0 .. n_chunks - 1`` in order, streamed (one line in memory at a time).

    Raises:
        FileNotFoundError: a part is missing.
    """
    for i in range(n_chunks):
        with open(part_path(folder, i), encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def remove(folder: Path) -> None:
    """Delete the job folder (plan and parts); a missing folder is fine."""
    shutil.rmtree(folder, ignore_errors=True)
