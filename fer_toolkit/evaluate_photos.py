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

from fer_toolkit.photo_metrics import LabelError, labelled_photos, photo_inputs, predict_rows, with_sources


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
    rows = predict_rows(model.predictor, photo_inputs(model, labelled_photos(Path(root), labels)))
    result = {"root": str(root), "model": str(model.predictor.path), "options": options or {},
              **with_sources(rows, labels)}
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
    from fer_toolkit.models import add_model_arguments

    p = OneLineParser(prog=prog, description="Top-1, macro-F1 and per-class recall of the serving path on a "
                      "labelled folder tree DIR/<class>/<image>.")
    p.add_argument("root", type=Path, metavar="DIR", help="labelled photos: DIR/<class>/<image>")
    p.add_argument("--out", type=Path, default=Path("photos-eval"),
                   help="folder for metrics.json, confusion.png and predictions.csv (default: photos-eval)")
    add_model_arguments(p, "workers")
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
