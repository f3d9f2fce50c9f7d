"""CSV report cells: spreadsheet-safe, round-trips awkward file names."""

from __future__ import annotations

import csv
import json

from worker.report import neutralise, write_report

LABELS = ("happy", "sad")


def row(path, status="ok", error="", probs=(0.75, 0.25), face=None, box=""):
    return {"path": path, "status": status, "error": error, "label": "happy" if probs else "",
            "confidence": max(probs) if probs else None, "probs": list(probs) if probs else None,
            "face": face, "box": box}


def test_neutralise():
    for bad in ("=1+1", "+A1", "-2", "@SUM(A1)", "\tx"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("face.png") == "face.png"


def test_round_trip_and_order(tmp_path):
    names = ['b, "quoted".png', "a\nnew line.png", "ümlaut_表情.png", "=HYPERLINK().png"]
    rows = [row(n) for n in names] + [row("c.png", "error", "not a readable image: x", probs=())]
    out = tmp_path / "r.csv"
    summary = write_report(rows, out, LABELS, "none", {"files": 5})
    with out.open(newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert [g["path"] for g in got] == sorted(["'=HYPERLINK().png", *names[:3], "c.png"],
                                              key=lambda p: p if not p.startswith("'") else p[1:])
    assert {g["path"] for g in got} >= set(names[:3])
    err = next(g for g in got if g["path"] == "c.png")
    assert err["status"] == "error" and err["p_happy"] == "" and err["error"] == "not a readable image: x"
    assert json.loads(summary.read_text()) == {"files": 5}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
