"""CSV report cells: spreadsheet-safe, round-trips awkward file names."""

from __future__ import annotations

import csv
import json
import time

import pytest

from fer_toolkit.worker.report import neutralise, sort_key, write_report

LABELS = ("happy", "sad")


def row(path, status="ok", error="", probs=(0.75, 0.25), face=None, box=None):
    return {"path": path, "status": status, "error": error, "label": "happy" if probs else None,
            "confidence": max(probs) if probs else None, "probs": dict(zip(LABELS, probs)) if probs else None,
            "face": face, "box": box, "det_score": None, "landmarks": None, "crop": "whole" if probs else None}


def test_neutralise():
    for bad in ("=1+1", "+A1", "-2", "@SUM(A1)", "\tx"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("face.png") == "face.png"


def test_round_trip_and_summary(tmp_path):
    names = ['b, "quoted".png', "a\nnew line.png", "ümlaut_表情.png", "=HYPERLINK().png"]
    rows = sorted([row(n) for n in names] + [row("c.png", "error", "not a readable image: x", probs=())],
                  key=sort_key)
    out = tmp_path / "r.csv"
    summary = write_report(iter(rows), out, LABELS, "none", 5, time.time(), "m@1", {"faces": "none"})
    with out.open(newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert [g["path"] for g in got] == [("'" + r["path"]) if r["path"][0] == "=" else r["path"] for r in rows]
    assert {g["path"] for g in got} >= set(names[:3])
    err = next(g for g in got if g["path"] == "c.png")
    assert err["status"] == "error" and err["p_happy"] == "" and err["error"] == "not a readable image: x"
    saved = json.loads(out.with_suffix(".summary.json").read_text())
    assert saved == summary and saved["status"] == {"ok": 4, "error": 1} and saved["labels"] == {"happy": 4}
    assert saved["errors_by_reason"] == {"not a readable image": 1} and saved["files"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_out_of_order_rows_write_nothing(tmp_path):
    out = tmp_path / "r.csv"
    with pytest.raises(ValueError, match="out of order"):
        write_report(iter([row("b.png"), row("a.png")]), out, LABELS, "none", 2, time.time(), "m", {})
    assert list(tmp_path.iterdir()) == []
