"""The CSV report and its ``.summary.json``: sorted rows, spreadsheet-safe cells, atomic writes."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def columns(labels: Sequence[str], faces: str) -> list[str]:
    """Header: path, status, error, label, confidence, p_<label>..., then face, box with face detection."""
    cols = ["path", "status", "error", "label", "confidence", *(f"p_{name}" for name in labels)]
    return cols + (["face", "box"] if faces != "none" else [])


def neutralise(cell: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def cells(row: dict, labels: Sequence[str], faces: str) -> list[str]:
    """One CSV record for a row dict from :mod:`worker.scoring`."""
    probs = row["probs"] or [None] * len(labels)
    out = [neutralise(row["path"]), row["status"], neutralise(row["error"]), row["label"],
           "" if row["confidence"] is None else f"{row['confidence']:.6f}",
           *("" if p is None else f"{p:.6f}" for p in probs)]
    if faces != "none":
        out += ["" if row["face"] is None else str(row["face"]), row["box"]]
    return out


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summarize(rows: list[dict], n_files: int, seconds: float, model_id: str, params: dict) -> dict:
    """Counts per label and status, errors by reason (text before the first colon), time and throughput."""
    return {
        "files": n_files,
        "rows": len(rows),
        "status": dict(Counter(r["status"] for r in rows)),
        "labels": dict(Counter(r["label"] for r in rows if r["status"] == "ok")),
        "errors_by_reason": dict(Counter(r["error"].split(":")[0] for r in rows if r["status"] == "error")),
        "seconds": round(seconds, 3),
        "images_per_second": round(n_files / seconds, 1) if seconds > 0 else None,
        "model_id": model_id,
        "params": params,
    }


def write_report(rows: list[dict], out: Path, labels: Sequence[str], faces: str, summary: dict) -> Path:
    """Write ``out`` (CSV, rows sorted by path then face) and its ``.summary.json`` (same stem), each atomically.

    Returns:
        the summary file's path.
    """
    out = Path(out)
    ordered = sorted(rows, key=lambda r: (r["path"], -1 if r["face"] is None else r["face"]))

    def write_csv(f):
        w = csv.writer(f)
        w.writerow(columns(labels, faces))
        w.writerows(cells(r, labels, faces) for r in ordered)

    _atomic_write(out, write_csv)
    summary_path = out.with_suffix(".summary.json")
    _atomic_write(summary_path, lambda f: json.dump(summary, f, indent=2, ensure_ascii=False))
    return summary_path
