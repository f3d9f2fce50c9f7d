"""The model card's real-photo section: an exported file and its INT8 twin through the default serving path on a
labelled tree of photographs (``--photos DIR``: ``DIR/<class>/<image>``, e.g. the development set).

The figures are those of ``fer-toolkit evaluate-photos DIR --model FILE`` with the default face options
(:func:`fer_toolkit.photo_metrics.evaluate_files`, one detection pass for both files); they are kept in the
export report under ``photos`` and re-measured by ``tests/test_shipped_photos.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from fer_toolkit.export.metadata import report_path


def measure_photos(onnx_path: Path, photos: Path) -> dict:
    """Measure ``onnx_path`` (and its ``.int8.onnx`` twin where it exists) on the tree ``photos``; record the
    figures in the export report under ``photos`` and return that entry.

    Returns:
        ``{"root": str, "n": int, "files": {file name: {"top1_accuracy", "macro_f1", "per_class_recall",
        "no_face_rate", "error_rate", "per_source": {source: {"n", "top1_accuracy", "macro_f1"}}}}}``.

    Raises:
        FileNotFoundError: no export report beside ``onnx_path``. fer_toolkit.photo_metrics.LabelError: a bad tree.
    """
    from fer_toolkit.photo_metrics import evaluate_files

    onnx_path = Path(onnx_path)
    rp = report_path(onnx_path)
    if not rp.is_file():
        raise FileNotFoundError(f"{rp} not found: export the file first")
    twin = onnx_path.with_name(onnx_path.name.removesuffix(".onnx") + ".int8.onnx")
    paths = [onnx_path, *([twin] if twin.is_file() else [])]
    measured = evaluate_files(paths, Path(photos))
    keep = ("top1_accuracy", "macro_f1", "per_class_recall", "no_face_rate", "error_rate")
    files = {Path(p).name: {**{k: m[k] for k in keep},
                            "per_source": {s: {"n": v["n"], "top1_accuracy": v["top1_accuracy"],
                                               "macro_f1": v["macro_f1"]} for s, v in m["per_source"].items()}}
             for p, m in measured.items()}
    entry = {"root": Path(photos).name, "n": next(iter(measured.values()))["n"], "files": files}
    report = json.loads(rp.read_text())
    report["photos"] = entry
    rp.write_text(json.dumps(report, indent=2))
    return entry


def photos_section(report: dict) -> str:
    """The card's markdown section of ``report["photos"]`` (empty where the file was not measured on photos)."""
    p = report.get("photos")
    if not p:
        return ""
    names = list(p["files"])
    labels = list(p["files"][names[0]]["per_class_recall"])
    sources = list(p["files"][names[0]]["per_source"])
    head = "| file | top-1 | macro-F1 | " + " | ".join(f"{s} top-1" for s in sources) + " | " \
        + " | ".join(f"{lab} recall" for lab in labels) + " |"
    rows = [head, "| --- |" + " ---: |" * (2 + len(sources) + len(labels))]
    for name, m in p["files"].items():
        rows.append(f"| `{name}` | {m['top1_accuracy']:.2%} | {m['macro_f1']:.3f} | "
                    + " | ".join(f"{m['per_source'][s]['top1_accuracy']:.2%}" for s in sources) + " | "
                    + " | ".join(f"{m['per_class_recall'][lab]:.1%}" for lab in labels) + " |")
    return f"""
## Real photos

The whole serving path with its defaults (YuNet detection, alignment, `auto` face mode) on {p['n']} labelled
real photographs (`{p['root']}`: news photos cropped to the face, film stills, posed portraits; a photo with no
face found counts as wrong), next to FER2013 above: `fer-toolkit evaluate-photos DIR --model FILE`. This set
chose the serving pipeline and the models, so it is not a held-out test.

""" + "\n".join(rows) + "\n"
