"""``fer-toolkit evaluate-photos DIR``: accuracy of the whole serving path on a labelled tree of photos.

``DIR/<class>/<image>`` (class folder names matched to the model's labels, case-insensitively) goes through the
analysis path of ``predict`` and ``score`` (:class:`fer_toolkit.api.EmotionModel`: detection, alignment, face
mode, model) with the same options. A photo's prediction is its first face (the largest, or the whole image);
a photo with no face found, or that cannot be read, counts as wrong. Reported: top-1 accuracy, macro-F1,
per-class recall, the no-face and error rates, the same per source where ``DIR/MANIFEST.json`` lists
``{"files": [{"file": "<class>/<image>", "source": ...}]}``; written to ``--out``: ``metrics.json``,
``confusion.png`` (rows the true class; a last column for photos without a prediction) and ``predictions.csv``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from fer_toolkit.fercore import IMAGE_EXTENSIONS

NONE = "no prediction"  # the confusion matrix's last column: no face found, or an unreadable file


class LabelError(ValueError):
    """A class folder that is not one of the model's labels, or a tree with no labelled image (one line)."""


def labelled_photos(root: Path, labels: tuple[str, ...]) -> list[tuple[Path, int, str]]:
    """``(path, class index, source)`` for every image under ``root/<class>/`` (sub-folders included), sorted.

    Raises:
        LabelError: ``root`` is not a folder, a class folder is not one of ``labels``, or no image is found.
    """
    if not root.is_dir():
        raise LabelError(f"{root} is not a folder of <class>/<image> photos")
    index = {lab.lower(): i for i, lab in enumerate(labels)}
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name.lower() not in index]
    if unknown:
        raise LabelError(f"class folder {unknown[0]!r} of {root} is not one of the model's labels: "
                         f"{', '.join(labels)}")
    sources: dict[str, str] = {}
    manifest = root / "MANIFEST.json"
    if manifest.is_file():
        sources = {f["file"]: str(f.get("source", "")) for f in json.loads(manifest.read_text()).get("files", [])}
    out = []
    for d in folders:
        for f in sorted(d.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                out.append((f, index[d.name.lower()], sources.get(f.relative_to(root).as_posix(), "") or "all"))
    if not out:
        raise LabelError(f"no images under {root}/<class>/ (classes: {', '.join(labels)})")
    return out


def predict_photos(model, photos: list[tuple[Path, int, str]]) -> list[dict]:
    """One record per photo: ``file``, ``true``, ``pred`` (class index, -1 for none), ``confidence``, ``status``
    (``ok``, ``no_face`` or ``error``), ``crop``, ``error`` and ``source``. ``model`` is an
    :class:`~fer_toolkit.api.EmotionModel`."""
    from fer_toolkit.fercore.preprocess import ImageDecodeError

    labels = list(model.labels)
    rows = []
    for path, y, source in photos:
        rec = {"file": str(path), "true": y, "pred": -1, "confidence": None, "status": "ok", "crop": "",
               "error": "", "source": source}
        try:
            faces = model.analyze(path)
        except ImageDecodeError as e:
            rec.update(status="error", error=str(e))
        else:
            if not faces:
                rec["status"] = "no_face"
            else:
                rec.update(pred=labels.index(faces[0].label), confidence=round(faces[0].confidence, 4),
                           crop=faces[0].crop)
        rows.append(rec)
    return rows


def photo_metrics(rows: list[dict], labels: tuple[str, ...]) -> dict:
    """Top-1, macro-F1, per-class recall, no-face and error rates over ``rows`` (:func:`predict_photos`)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    k = len(labels)
    y = np.array([r["true"] for r in rows])
    p = np.array([r["pred"] for r in rows])
    _, recall, f1, support = precision_recall_fscore_support(y, p, labels=range(k), zero_division=0)
    present = support > 0
    cm = confusion_matrix(y, np.where(p < 0, k, p), labels=range(k + 1))[:k]
    return {"n": len(rows), "top1_accuracy": float((y == p).mean()), "macro_f1": float(f1[present].mean()),
            "no_face_rate": float(np.mean([r["status"] == "no_face" for r in rows])),
            "error_rate": float(np.mean([r["status"] == "error" for r in rows])),
            "per_class_recall": {lab: float(recall[i]) for i, lab in enumerate(labels) if present[i]},
            "support": {lab: int(support[i]) for i, lab in enumerate(labels)},
            "confusion_matrix": cm.tolist(), "confusion_columns": [*labels, NONE]}


def evaluate(model, root: Path, out: Path | None = None, options: dict | None = None) -> dict:
    """Evaluate ``model`` (:class:`~fer_toolkit.api.EmotionModel`) on the tree ``root``; with ``out``, write
    ``metrics.json``, ``confusion.png`` and ``predictions.csv`` there.

    Returns:
        :func:`photo_metrics` of all photos plus ``per_source`` (the same per source), ``model`` and ``options``
        (as given: the face options used, for the record).

    Raises:
        LabelError: see :func:`labelled_photos`.
    """
    labels = tuple(model.labels)
    rows = predict_photos(model, labelled_photos(Path(root), labels))
    result = {"root": str(root), "model": str(model.predictor.path), "options": options or {},
              **photo_metrics(rows, labels)}
    sources = sorted({r["source"] for r in rows})
    result["per_source"] = {s: photo_metrics([r for r in rows if r["source"] == s], labels) for s in sources}
    if out is not None:
        _write(Path(out), result, rows, labels)
    return result


def _write(out: Path, result: dict, rows: list[dict], labels: tuple[str, ...]) -> None:
    from fer_toolkit.training.plots import plot_confusion_matrix

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    plot_confusion_matrix(np.array(result["confusion_matrix"]), labels, out / "confusion.png",
                          f"{Path(result['model']).name}: top-1 {result['top1_accuracy']:.1%}",
                          columns=result["confusion_columns"])
    with (out / "predictions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "source", "true", "predicted", "confidence", "status", "crop", "error"])
        for r in rows:
            w.writerow([r["file"], r["source"], labels[r["true"]], labels[r["pred"]] if r["pred"] >= 0 else "",
                        r["confidence"] if r["confidence"] is not None else "", r["status"], r["crop"], r["error"]])


def summary_lines(result: dict) -> list[str]:
    """The printed summary: overall and per-source figures, then per-class recall."""
    def line(name: str, m: dict) -> str:
        return (f"{name:<16} n={m['n']:<6} top-1 {m['top1_accuracy']:.2%}  macro-F1 {m['macro_f1']:.3f}  "
                f"no face {m['no_face_rate']:.1%}  errors {m['error_rate']:.1%}")
    lines = [line("all", result)]
    if len(result["per_source"]) > 1:
        lines += [line(s, m) for s, m in result["per_source"].items()]
    lines.append("recall: " + ", ".join(f"{k} {v:.1%}" for k, v in result["per_class_recall"].items()))
    return lines


def parser(prog: str = "fer-toolkit evaluate-photos"):
    """The argument parser (errors exit 2 with one line): the model and face options of ``predict`` and ``score``."""
    from fer_toolkit.fercore.cli import OneLineParser
    from fer_toolkit.fercore.options import add_face_arguments
    from fer_toolkit.fercore.session import add_providers_argument
    from fer_toolkit.models import default_text

    p = OneLineParser(prog=prog, description="Top-1, macro-F1 and per-class recall of the serving path on a "
                      "labelled folder tree DIR/<class>/<image>.")
    p.add_argument("root", type=Path, metavar="DIR", help="labelled photos: DIR/<class>/<image>")
    p.add_argument("--out", type=Path, default=Path("photos-eval"),
                   help="folder for metrics.json, confusion.png and predictions.csv (default: photos-eval)")
    p.add_argument("--model", help="ONNX model exported by this project, or a shipped role: fast, balanced, "
                   f"accurate (default: {default_text('workers')}, as score's)")
    p.add_argument("--int8", action="store_true", default=None, help="the shipped role's static INT8 twin")
    add_face_arguments(p)
    add_providers_argument(p)
    return p


def main(argv: list[str] | None = None, prog: str = "fer-toolkit evaluate-photos") -> int:
    """Entry point; 0 on success, 1 on a bad tree or model (one line on stderr)."""
    from fer_toolkit.fercore.cli import run_cli

    args = parser(prog).parse_args(argv)
    return run_cli(lambda: _run(args), expected=(LabelError,))


def _run(args) -> int:
    from fer_toolkit.api import EmotionModel
    from fer_toolkit.fercore.options import FaceOptions

    options = FaceOptions.from_args(args)
    model = EmotionModel(args.model, args.int8, options, entry="workers", providers=args.providers)
    result = evaluate(model, args.root, args.out, options.to_json())
    print("\n".join(summary_lines(result)))
    print(f"wrote {args.out}/metrics.json, confusion.png, predictions.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
