"""Chunk scoring shared by the Celery task and the in-process scorer (no Celery, no Redis here).

A row is a JSON-native dict: ``path`` (relative, POSIX), ``status`` (``ok``,
``error`` or ``no_face``), ``error`` (one line or ""), ``label``, ``confidence``,
``probs`` (list in the model's label order, or None), ``face`` (index or None)
and ``box`` (``"x,y,w,h"`` or "").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from fercore import IMAGE_EXTENSIONS, ImageDecodeError
from fercore.analyze import analyze
from fercore.faces import FaceDetector
from fercore.predictor import Predictor
from fercore.preprocess import DEFAULT_MAX_PIXELS, open_image
from worker.report import sort_key

FACE_MODES = ("none", "largest", "all")
_CACHE: dict[tuple[str, int], tuple[Predictor, FaceDetector | None]] = {}


def list_files(root: Path, recursive: bool = False) -> list[str]:
    """Sorted POSIX paths, relative to ``root``, of every entry with an image extension.

    Directories are not followed through symlinks; broken symlinks, FIFOs and
    other non-regular entries with an image extension are listed (they get an
    error row rather than disappearing from the report).
    """
    root = Path(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if not recursive:
            dirnames.clear()
        for name in filenames:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(found)


def models(model_path: str | Path, ort_threads: int = 1, faces: bool = False) -> tuple[Predictor, FaceDetector | None]:
    """The process's predictor (and detector), created on first use and reused.

    Called inside the task, so each worker process (after fork) makes its own session.
    """
    key = (str(Path(model_path).resolve()), ort_threads)
    if key not in _CACHE:
        _CACHE[key] = (Predictor(model_path, intra_op_threads=ort_threads), None)
    predictor, detector = _CACHE[key]
    if faces and detector is None:
        detector = FaceDetector()
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


def _row(path: str, status: str, error: str = "", probs: np.ndarray | None = None, labels=(), face=None, box=""):
    row = {"path": path, "status": status, "error": error, "label": "", "confidence": None, "probs": None,
           "face": face, "box": box}
    if probs is not None:
        i = int(np.argmax(probs))
        row.update(label=labels[i], confidence=float(probs[i]), probs=[float(p) for p in probs])
    return row


def score_files(root: str | Path, paths: list[str], predictor: Predictor, detector: FaceDetector | None = None,
                faces: str = "none", max_pixels: int = DEFAULT_MAX_PIXELS, batch_size: int = 256) -> list[dict]:
    """Score ``paths`` (relative to ``root``): at least one row per path, never an exception per file.

    Returns rows sorted by path then face (:func:`worker.report.sort_key`).

    With ``faces="none"`` each image is classified whole (decoded, preprocessed,
    inferred in batches of ``batch_size``); with ``largest``/``all`` faces are
    detected and each gets a row (``face`` index, ``box``), or one ``no_face`` row.

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
            found = analyze(open_image(data, max_pixels), predictor, detector, faces)
        except ImageDecodeError as e:
            rows.append(_row(rel, "error", str(e)))
            continue
        if not found:
            rows.append(_row(rel, "no_face"))
        for i, f in enumerate(found):
            probs = np.array([f.probs[k] for k in labels])
            box = f"{f.box.x},{f.box.y},{f.box.w},{f.box.h}"
            rows.append(_row(rel, "ok", probs=probs, labels=labels, face=i, box=box))
    flush()
    return sorted(rows, key=sort_key)
