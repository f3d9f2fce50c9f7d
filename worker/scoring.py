"""Chunk scoring shared by the Celery task and the in-process scorer (no Celery, no Redis here).

A row is a JSON-native dict: ``path`` (relative, POSIX), ``status`` (``ok``,
``error`` or ``no_face``), ``error`` (one line or ""), ``label``, ``confidence``,
``probs`` (list in the model's label order, or None), ``face`` (index or None),
``box`` (``"x,y,w,h"`` or ""), ``det_score`` (detector score or None), ``landmarks``
(``"x1,y1,...,x5,y5"`` or "") and ``crop`` (``aligned``, ``box``, ``whole`` or "").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from fer_toolkit.fercore import IMAGE_EXTENSIONS, ImageDecodeError
from fer_toolkit.fercore.analyze import FACE_MODES, analyze
from fer_toolkit.fercore.faces import FaceDetector
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS, open_image
from fer_toolkit.worker.report import sort_key

_CACHE: dict[tuple[str, int], tuple[Predictor, FaceDetector | None]] = {}


def list_files(root: Path, recursive: bool = False) -> list[str]:
    """Sorted POSIX paths, relative to ``root``, of every entry with an image extension.

    Directories are not followed through symlinks; broken symlinks, FIFOs and
    other non-regular entries with an image extension are listed (they get an
    error row rather than disappearing from the report).
    """
    return list_files_counting_skipped(root, recursive)[0]


def list_files_counting_skipped(root: Path, recursive: bool = False) -> tuple[list[str], int]:
    """:func:`list_files`, and how many image-extension entries in subfolders it left out (0 if ``recursive``)."""
    root = Path(root)
    found, skipped = [], 0
    for dirpath, _, filenames in os.walk(root, followlinks=False):
        top = dirpath == str(root)
        for name in filenames:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                if recursive or top:
                    found.append(Path(dirpath, name).relative_to(root).as_posix())
                else:
                    skipped += 1
    return sorted(found), skipped


def models(model_path: str | Path, ort_threads: int = 1, faces: bool = False) -> tuple[Predictor, FaceDetector | None]:
    """The process's predictor (and detector), created on first use and reused.

    Called inside the task, so each worker process (after fork) makes its own session.
    """
    key = (str(Path(model_path).resolve()), ort_threads)
    if key not in _CACHE:
        _CACHE[key] = (Predictor(model_path, intra_op_threads=ort_threads), None)
    predictor, detector = _CACHE[key]
    if faces and detector is None:
        detector = FaceDetector(intra_op_threads=ort_threads)
        _CACHE[key] = (predictor, detector)
    return predictor, detector


def check_file(root: Path, rel: str) -> bytes:
    """The bytes of ``root/rel`` after refusing escapes and non-regular files.

    Args:
        root: the input folder, already resolved (``Path.resolve``).

    Raises:
        ImageDecodeError: symlink out of ``root``, not a regular file, or unreadable.
    """
    path = root / rel
    try:
        if path.is_symlink() and not path.resolve(strict=True).is_relative_to(root):
            raise ImageDecodeError("symlink points outside the input folder")
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ImageDecodeError("not a regular file")
        with open(path, "rb") as f:
            return f.read()
    except (OSError, RuntimeError) as e:
        raise ImageDecodeError(f"unreadable: {getattr(e, 'strerror', None) or e}") from None


def _row(path: str, status: str, error: str = "", probs: np.ndarray | None = None, labels=(), face=None, box="",
         det_score=None, landmarks="", crop=""):
    row = {"path": path, "status": status, "error": error, "label": "", "confidence": None, "probs": None,
           "face": face, "box": box, "det_score": det_score, "landmarks": landmarks, "crop": crop}
    if probs is not None:
        i = int(np.argmax(probs))
        row.update(label=labels[i], confidence=float(probs[i]), probs=[float(p) for p in probs])
    return row


def score_files(root: str | Path, paths: list[str], predictor: Predictor, detector: FaceDetector | None = None,
                faces: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS, batch_size: int = 256,
                align: bool = True, face_threshold: float | None = None) -> list[dict]:
    """Score ``paths`` (relative to ``root``): at least one row per path, never an exception per file.

    Returns rows sorted by path then face (:func:`fer_toolkit.worker.report.sort_key`).

    With ``faces="none"`` each image is classified whole (decoded, preprocessed,
    inferred in batches of ``batch_size``); with ``auto``/``largest``/``all`` faces are
    detected (:func:`fer_toolkit.fercore.analyze.analyze`, aligned unless ``align`` is False, detector
    threshold ``face_threshold``) and each gets a row (``face`` index, ``box``, ``det_score``,
    ``landmarks``, ``crop``), or one ``no_face`` row; ``auto`` classifies a face crop whole
    (``crop`` = ``whole``).

    Raises:
        ValueError: unknown ``faces`` mode.
    """
    if faces not in FACE_MODES:
        raise ValueError(f"faces must be one of {', '.join(FACE_MODES)}, got {faces!r}")
    root, labels = Path(root).resolve(), predictor.labels
    rows: list[dict] = []
    pending: list[tuple[str, np.ndarray]] = []

    def flush():
        if pending:
            probs = predictor.predict(np.stack([x for _, x in pending]))
            rows.extend(_row(p, "ok", probs=pr, labels=labels) for (p, _), pr in zip(pending, probs))
            pending.clear()

    for rel in paths:
        try:
            data = check_file(root, rel)
            if faces == "none":
                pending.append((rel, predictor.preprocess(data, max_pixels)))
                if len(pending) >= batch_size:
                    flush()
                continue
            found = analyze(open_image(data, max_pixels), predictor, detector, faces, align=align,
                            score_threshold=face_threshold)
        except ImageDecodeError as e:
            rows.append(_row(rel, "error", str(e)))
            continue
        if not found:
            rows.append(_row(rel, "no_face"))
        for i, f in enumerate(found):
            probs = np.array([f.probs[k] for k in labels])
            if f.box is None:
                rows.append(_row(rel, "ok", probs=probs, labels=labels, crop=f.crop))
                continue
            box = f"{f.box.x},{f.box.y},{f.box.w},{f.box.h}"
            marks = "" if f.landmarks is None else ",".join(f"{v:.1f}" for v in f.landmarks.ravel())
            rows.append(_row(rel, "ok", probs=probs, labels=labels, face=i, box=box, det_score=round(f.score, 4),
                             landmarks=marks, crop=f.crop))
    flush()
    return sorted(rows, key=sort_key)
