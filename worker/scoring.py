"""Chunk scoring shared by the Celery task and the in-process scorer (no Celery, no Redis here).

A row is a JSON-native dict: ``path`` (relative, POSIX), ``status`` (``ok``, ``error`` or ``no_face``),
``error`` (one line or ""), and the fields of :func:`fer_toolkit.fercore.records.face_record` (``face``, the
1-based face number, ``box``, ``label``, ``confidence``, ``probs``, ``det_score``, ``landmarks``, ``crop``),
all None for an error or no-face row.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from fer_toolkit.fercore import IMAGE_EXTENSIONS, ImageDecodeError
from fer_toolkit.fercore.analyze import FaceResult, analyze
from fer_toolkit.fercore.faces import FaceDetector
from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import open_image
from fer_toolkit.fercore.records import FIRST_FACE, face_record, face_records
from fer_toolkit.worker.report import sort_key

_CACHE: dict[tuple[str, int, str | None], tuple[Predictor, FaceDetector | None]] = {}


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


def models(model_path: str | Path, ort_threads: int = 1, faces: bool = False,
           providers: str | None = None) -> tuple[Predictor, FaceDetector | None]:
    """The process's predictor (and detector), created on first use and reused.

    Called inside the task, so each worker process (after fork) makes its own session. ``providers``: see
    :func:`fer_toolkit.fercore.session.providers` (None: ``FER_PROVIDERS``, else the CPU).
    """
    key = (str(Path(model_path).resolve()), ort_threads, providers)
    if key not in _CACHE:
        _CACHE[key] = (Predictor(model_path, intra_op_threads=ort_threads, providers=providers), None)
    predictor, detector = _CACHE[key]
    if faces and detector is None:
        detector = FaceDetector(intra_op_threads=ort_threads, providers=providers)
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


def _row(path: str, status: str, error: str = "", record: dict | None = None) -> dict:
    empty = dict.fromkeys(("face", "box", "label", "confidence", "probs", "det_score", "landmarks", "crop"))
    return {"path": path, "status": status, "error": error, **(record or empty)}


def score_files(root: str | Path, paths: list[str], predictor: Predictor, detector: FaceDetector | None = None,
                options: FaceOptions | None = None, batch_size: int = 256) -> list[dict]:
    """Score ``paths`` (relative to ``root``): at least one row per path, never an exception per file.

    Returns rows sorted by path then face (:func:`fer_toolkit.worker.report.sort_key`).

    With the face mode ``none`` each image is classified whole (decoded, preprocessed, inferred in batches of
    ``batch_size``); otherwise :func:`fer_toolkit.fercore.analyze.analyze` runs with ``options`` (default
    :class:`~fer_toolkit.fercore.options.FaceOptions`) and each face gets a row, or the image one ``no_face`` row;
    ``auto`` classifies a face crop whole (``crop`` = ``whole``).
    """
    options = options or FaceOptions()
    root = Path(root).resolve()
    rows: list[dict] = []
    pending: list[tuple[str, np.ndarray]] = []

    def flush():
        if pending:
            probs = predictor.to_dicts(predictor.predict(np.stack([x for _, x in pending])))
            rows.extend(_row(p, "ok", record=face_record(FIRST_FACE, FaceResult(None, pr)))
                        for (p, _), pr in zip(pending, probs))
            pending.clear()

    for rel in paths:
        try:
            data = check_file(root, rel)
            if options.faces == "none":
                pending.append((rel, predictor.preprocess(data, options.max_pixels)))
                if len(pending) >= batch_size:
                    flush()
                continue
            found = analyze(open_image(data, options.max_pixels), predictor, detector, options)
        except ImageDecodeError as e:
            rows.append(_row(rel, "error", str(e)))
            continue
        if not found:
            rows.append(_row(rel, "no_face"))
        rows.extend(_row(rel, "ok", record=r) for r in face_records(found))
    flush()
    return sorted(rows, key=sort_key)
