"""Each shipped file's real-photo figures (its card's "Real photos" section) re-measured through the default
serving path on the labelled development photos (skipped where they are absent)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

PHOTOS = ROOT.parent / "shared" / "data" / "photos-dev"


@pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"labelled development photos not found at {PHOTOS}")
def test_shipped_files_real_photo_figures_match_their_cards():
    from fer_toolkit.models import NAMES, resolve
    from fer_toolkit.photo_metrics import evaluate_files

    paths, recorded = [], {}
    for role, stem in NAMES.items():
        report = json.loads((ROOT / "models" / f"{stem}.export.json").read_text())
        assert "photos" in report, f"{stem}: no real-photo figures (export --photos-only --photos DIR)"
        for int8 in (False, True):
            path = resolve(role, int8)
            paths.append(path)
            recorded[str(path)] = report["photos"]["files"][path.name]
    measured = evaluate_files(paths, PHOTOS)
    for path, m in measured.items():  # equal up to one photo whose top two classes tie within float rounding
        want, n = recorded[path], m["n"]
        assert m["top1_accuracy"] == pytest.approx(want["top1_accuracy"], abs=1.01 / n), path
        assert m["macro_f1"] == pytest.approx(want["macro_f1"], abs=0.005), path
        for label, recall in want["per_class_recall"].items():
            assert m["per_class_recall"][label] == pytest.approx(recall, abs=1.01 / m["support"][label]), path
