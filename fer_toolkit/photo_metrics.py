"""Labelled photos through the serving path: the reader of a ``<class>/<image>`` tree, each photo's model input,
per-model predictions and the metrics of ``fer-toolkit evaluate-photos`` and of the model cards' real-photo section.

A photo's model input is that of its first face as :func:`fer_toolkit.fercore.analyze.analyze` gives it (the
largest face, aligned, or the whole image), so one detection pass serves every model of the same data config
(:func:`evaluate_files`): the figures equal those of each model's own analysis path.
"""

from __future__ import annotations

import json
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


def photo_inputs(model, photos: list[tuple[Path, int, str]]) -> list[dict]:
    """One record per photo: ``file``, ``true``, ``source``, ``status`` (``ok``, ``no_face`` or ``error``),
    ``crop``, ``error`` and ``x``, the first face's model input (uint8 ``(H, W, C)``, None without one).
    ``model`` is an :class:`~fer_toolkit.api.EmotionModel`: its detector and face options apply."""
    from fer_toolkit.fercore.preprocess import ImageDecodeError

    recs = []
    for path, y, source in photos:
        rec = {"file": str(path), "true": y, "source": source, "status": "ok", "crop": "", "error": "", "x": None}
        try:
            faces = model.analyze(path)
        except ImageDecodeError as e:
            rec.update(status="error", error=str(e))
        else:
            if faces:
                rec.update(crop=faces[0].crop, x=faces[0].pixels)
            else:
                rec["status"] = "no_face"
        recs.append(rec)
    return recs


def predict_rows(predictor, recs: list[dict], batch: int = 256) -> list[dict]:
    """``recs`` (:func:`photo_inputs`) with ``pred`` (class index, -1 without an input) and ``confidence`` of
    ``predictor`` (a :class:`~fer_toolkit.fercore.predictor.Predictor`)."""
    idx = [i for i, r in enumerate(recs) if r["x"] is not None]
    x = np.stack([recs[i]["x"] for i in idx]) if idx else np.zeros((0, *predictor.config.input_shape), np.uint8)
    probs = np.concatenate([predictor.predict(x[i:i + batch]) for i in range(0, len(x), batch)]) if idx else x
    rows = [{**r, "pred": -1, "confidence": None} for r in recs]
    for i, p in zip(idx, probs):
        rows[i].update(pred=int(np.argmax(p)), confidence=round(float(np.max(p)), 4))
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


def evaluate_files(paths: list[Path], root: Path, options=None) -> dict[str, dict]:
    """:func:`photo_metrics` (with ``per_source``) of each ONNX file of ``paths`` on the tree ``root``, from one
    detection pass.

    Raises:
        LabelError: see :func:`labelled_photos`. ValueError: files whose labels or input shapes differ.
    """
    from fer_toolkit.api import EmotionModel
    from fer_toolkit.fercore.predictor import Predictor

    model = EmotionModel(Path(paths[0]), None, options)
    predictors = [model.predictor, *(Predictor(p) for p in paths[1:])]
    for p in predictors[1:]:
        if p.labels != model.labels or p.config.input_shape != model.predictor.config.input_shape:
            raise ValueError(f"{p.path} takes other inputs or labels than {paths[0]}: evaluate it on its own")
    recs = photo_inputs(model, labelled_photos(Path(root), model.labels))
    return {str(p.path): with_sources(predict_rows(p, recs), model.labels) for p in predictors}


def with_sources(rows: list[dict], labels: tuple[str, ...]) -> dict:
    """:func:`photo_metrics` of ``rows`` plus ``per_source``: the same for each source's rows."""
    sources = sorted({r["source"] for r in rows})
    return {**photo_metrics(rows, labels),
            "per_source": {s: photo_metrics([r for r in rows if r["source"] == s], labels) for s in sources}}
