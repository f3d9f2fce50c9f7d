"""Chunk scoring shared by the Celery task and the in-process scorer (no Celery, no Redis here).

A row is a JSON-native dict: ``path`` (relative, POSIX), ``status`` (``ok``, ``error`` or ``no_face``),
``error`` (one line or ""), the fields of :func:`fer_toolkit.fercore.records.face_record` (``face``, the
1-based face number, ``box``, ``label``, ``confidence``, ``probs``, ``det_score``, ``landmarks``, ``crop``),
all None for an error or no-face row, and :data:`~fer_toolkit.fercore.records.VIDEO_FIELDS` (``frame``,
``time_s``, ``track``), None for an image. A video's rows (one per sampled frame and face, or a ``no_face`` row
for a sampled frame without one) also have ``segment``, the start in seconds of the time range they were scored
in, which :mod:`fer_toolkit.worker.track_links` needs to join the ranges' tracks.
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
from fer_toolkit.fercore.records import FIRST_FACE, VIDEO_FIELDS, face_record, face_records, frame_record, track_record
from fer_toolkit.fercore.video import DEFAULT_FPS, VIDEO_EXTENSIONS
from fer_toolkit.fercore.video_analysis import analyze_video
from fer_toolkit.worker.report import sort_key

SCORED_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
_CACHE: dict[tuple[str, int, str | None], tuple[Predictor, FaceDetector | None]] = {}


def list_files(root: Path, recursive: bool = False) -> list[str]:
    """Sorted POSIX paths, relative to ``root``, of every entry with an image or video extension.

    Directories are not followed through symlinks; broken symlinks, FIFOs and
    other non-regular entries with an image extension are listed (they get an
    error row rather than disappearing from the report).
    """
    return list_files_counting_skipped(root, recursive)[0]


def list_files_counting_skipped(root: Path, recursive: bool = False) -> tuple[list[str], int]:
    """:func:`list_files`, and how many such entries in subfolders it left out (0 if ``recursive``)."""
    root = Path(root)
    found, skipped = [], 0
    for dirpath, _, filenames in os.walk(root, followlinks=False):
        top = dirpath == str(root)
        for name in filenames:
            if os.path.splitext(name)[1].lower() in SCORED_EXTENSIONS:
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


def check_path(root: Path, rel: str) -> Path:
    """``root/rel`` after refusing escapes and non-regular files.

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
    except (OSError, RuntimeError) as e:
        raise ImageDecodeError(f"unreadable: {getattr(e, 'strerror', None) or e}") from None
    return path


def check_file(root: Path, rel: str) -> bytes:
    """The bytes of :func:`check_path`'s ``root/rel``.

    Raises:
        ImageDecodeError: symlink out of ``root``, not a regular file, or unreadable.
    """
    path = check_path(root, rel)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ImageDecodeError(f"unreadable: {e.strerror or e}") from None


def _row(path: str, status: str, error: str = "", record: dict | None = None, **video) -> dict:
    empty = dict.fromkeys(("face", "box", "label", "confidence", "probs", "det_score", "landmarks", "crop",
                           *VIDEO_FIELDS))
    return {"path": path, "status": status, "error": error, **empty, **(record or {}), **video}


def score_range(root: Path, item: list, predictor: Predictor, detector: FaceDetector | None, options: FaceOptions,
                fps: float = DEFAULT_FPS) -> list[dict]:
    """The rows of one video range ``[path, start, end, frames]`` (:mod:`fer_toolkit.worker.video_plan`): a row
    per sampled frame and face, through :func:`fer_toolkit.fercore.video_analysis.analyze_video` with ``options``.

    A video that cannot be read gives one error row; one that breaks off (truncated or corrupt) keeps the rows
    decoded before the break and adds an error row; a first range without any frame is an error row too.
    """
    rel, start, end = item[0], item[1], item[2]
    rows, at = [], {"segment": float(start or 0.0)}
    try:
        for frame in analyze_video(check_path(root, rel), predictor, detector, fps=fps, start=start, end=end,
                                   max_pixels=options.max_pixels, options=options):
            place = frame_record(frame.index, frame.time_s)
            if not frame.faces:
                rows.append(_row(rel, "no_face", record=place, **at))
            rows.extend(_row(rel, "ok", record={**track_record(n, f), **place}, **at)
                        for n, f in enumerate(frame.faces, start=FIRST_FACE))
    except ImageDecodeError as e:  # VideoDecodeError too
        return rows + [_row(rel, "error", str(e), **at)]
    except ImportError:  # scipy, for the tracks
        return rows + [_row(rel, "error", 'reading videos needs scipy: pip install "fer-toolkit[video]"', **at)]
    if not rows and not start:
        rows.append(_row(rel, "error", "no video frames decoded", **at))
    return rows


def score_files(root: str | Path, paths: list, predictor: Predictor, detector: FaceDetector | None = None,
                options: FaceOptions | None = None, batch_size: int = 256, fps: float = DEFAULT_FPS) -> list[dict]:
    """Score a chunk's items (:func:`fer_toolkit.worker.plan.plan_chunks`): image paths relative to ``root``, and
    video ranges sampled at ``fps`` (:func:`score_range`); never an exception per file.

    Returns rows sorted by path, a video's by time, then face (:func:`fer_toolkit.worker.report.sort_key`).

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
        if not isinstance(rel, str):
            rows.extend(score_range(root, rel, predictor, detector, options, fps))
            continue
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
