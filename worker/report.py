"""The CSV report and its ``.summary.json``: streamed sorted rows, spreadsheet-safe cells, atomic writes."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

from fer_toolkit.fercore.records import PROB_DIGITS, SCORE_DIGITS, TIME_DIGITS, VIDEO_FIELDS, box_text, landmarks_text
from fer_toolkit.fercore.video import is_video
from fer_toolkit.worker.track_shares import TrackShares

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FACE_EXTRA = ("det_score", "landmarks", "crop")


def columns(labels: Sequence[str], faces: str) -> list[str]:
    """Header: path, status, error, label, confidence, p_<label>..., then with face detection face (1-based),
    box and (appended later) det_score, landmarks, crop; last a video's frame, time_s and track (empty for images)."""
    cols = ["path", "status", "error", "label", "confidence", *(f"p_{name}" for name in labels)]
    return cols + (["face", "box", *FACE_EXTRA] if faces != "none" else []) + list(VIDEO_FIELDS)


def neutralise(cell: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.{PROB_DIGITS}f}"


def cells(row: dict, labels: Sequence[str], faces: str) -> list[str]:
    """One CSV record for a row dict from :mod:`fer_toolkit.worker.scoring` (its face fields are
    :func:`fer_toolkit.fercore.records.face_record`'s, written as they are: the same rounding as ``predict``)."""
    probs = row["probs"] or {}
    out = [neutralise(row["path"]), row["status"], neutralise(row["error"]), row["label"] or "",
           _number(row["confidence"]), *(_number(probs.get(name)) for name in labels)]
    if faces != "none":
        score = row["det_score"]
        out += ["" if row["face"] is None else str(row["face"]), box_text(row),
                "" if score is None else f"{score:.{SCORE_DIGITS}f}", landmarks_text(row), row["crop"] or ""]
    frame, time_s, track = (row.get(k) for k in VIDEO_FIELDS)
    return out + ["" if frame is None else str(frame), "" if time_s is None else f"{time_s:.{TIME_DIGITS}f}",
                  "" if track is None else str(track)]


def atomic_write(path: Path, write: Callable[[object], None], mode: str = "w") -> None:
    """Write ``path`` all or nothing: ``write(f)`` fills a temporary file beside it (UTF-8, ``\n`` line ends,
    as the csv module wants, or bytes with ``mode="wb"``), which is fsynced, then renamed over ``path``.
    On any error the temporary file is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sort_key(row: dict) -> tuple[str, float, int, int]:
    """Report order: by path; a video's rows by time and frame, its error row last; then face number (an error or
    no-face row, without one, first)."""
    time_s, frame = row.get("time_s"), row.get("frame")
    if time_s is None:
        time_s = math.inf if row["status"] == "error" and is_video(row["path"]) else -1.0
    return row["path"], time_s, -1 if frame is None else frame, -1 if row["face"] is None else row["face"]


class Summary:
    """Counts gathered while rows stream into the report."""

    def __init__(self) -> None:
        self.rows, self.status, self.labels, self.errors = 0, Counter(), Counter(), Counter()
        self.tracks = TrackShares()

    def add(self, row: dict) -> None:
        self.rows += 1
        self.status[row["status"]] += 1
        if row["status"] == "ok":
            self.labels[row["label"]] += 1
        elif row["status"] == "error":
            self.errors[row["error"].split(":")[0]] += 1  # reason = text before the first colon
        self.tracks.add(row)

    def as_dict(self, n_files: int, seconds: float, model_id: str, params: dict) -> dict:
        """JSON-native summary: counts per status and label, errors by reason, time, throughput, model, params, and
        per video and track the share of sampled frames in each emotion (``videos``, :class:`TrackShares`)."""
        return {"files": n_files, "rows": self.rows, "status": dict(self.status), "labels": dict(self.labels),
                "errors_by_reason": dict(self.errors), "seconds": round(seconds, 3),
                "images_per_second": round(n_files / seconds, 1) if seconds > 0 else None,
                "model_id": model_id, "params": params, "videos": self.tracks.as_dict()}


def write_report(rows: Iterable[dict], out: Path, labels: Sequence[str], faces: str, n_files: int, t0: float,
                 model_id: str, params: dict) -> dict:
    """Stream ``rows`` into ``out`` (CSV) and write its ``.summary.json`` (same stem), each atomically.

    Args:
        rows: row dicts from :mod:`fer_toolkit.worker.scoring`, already in :func:`sort_key` order
            (chunks are contiguous slices of the sorted file list, each sorted).
        t0: ``time.time()`` when the job started; the summary's ``seconds`` run to the end of writing.

    Returns:
        the summary dict.

    Raises:
        ValueError: rows out of order (the report is not written).
    """
    out, stats = Path(out), Summary()

    def write_csv(f):
        w, last = csv.writer(f), None
        w.writerow(columns(labels, faces))
        for r in rows:
            key = sort_key(r)
            if last is not None and key < last:
                raise ValueError(f"report rows out of order at {r['path']!r}")
            last = key
            stats.add(r)
            w.writerow(cells(r, labels, faces))

    atomic_write(out, write_csv)
    summary = stats.as_dict(n_files, time.time() - t0, model_id, params)
    atomic_write(out.with_suffix(".summary.json"), lambda f: json.dump(summary, f, indent=2, ensure_ascii=False))
    return summary
