"""Crowd votes as training targets: per-image vote counts turned into a label distribution.

Training on the raters' label distribution is the best of the four schemes of Barsoum, Zhang, Canton Ferrer &
Zhang, "Training Deep Networks for Facial Expression Recognition with Crowd-Sourced Label Distribution" (ICMI 2016,
FER+, github.com/microsoft/FERPlus). ``train --soft-labels VOTES`` reads such a file directly; the distribution
enters the loss where a teacher's probabilities would (:class:`fer_toolkit.training.losses.DistillationLoss`, with
``--kd-temperature 1`` a plain KL term), so ``--kd-alpha`` mixes it with the folder's own labels.

Vote files:

- ``.npz`` in the FER+ layout of ``fer2013_ferplus.npz``: ``votes_train`` int ``(N, C)`` counts and ``columns``
  ``(C,)`` names; rows follow the training split's order.
- ``.csv`` with a header of class names and one row of counts per training image: with a ``file`` column, rows
  are matched to the training images by their path relative to the data folder (``train/<class>/<image>``, as
  ``prepare --votes`` writes them for a folder tree; images without a row keep their folder label); without
  one, rows follow the training split's order.

Columns are matched to the model's labels by name (``anger`` -> ``angry``, ``happiness`` -> ``happy``, ``sadness``
-> ``sad``); other columns (FER+'s contempt, unknown, not-a-face) are dropped. As in FER+'s own code a single vote
for a class is treated as an outlier and removed. A row left with no votes keeps its folder label (one-hot).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

#: names raters' files use for our classes
ALIASES = {"anger": "angry", "happiness": "happy", "sadness": "sad", "surprised": "surprise", "fearful": "fear",
           "disgusted": "disgust", "happy": "happy"}


def is_vote_file(path: str | Path) -> bool:
    """True for a ``.csv`` file or a ``.npz`` with ``columns`` and ``votes_train`` (a votes file, not a ``.npy``)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return True
    if path.suffix.lower() == ".npz" and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return "columns" in z.files and "votes_train" in z.files
    return False


def read_votes(path: Path) -> tuple[np.ndarray, list[str], list[str] | None]:
    """``(votes float64 (N, C), column names, files or None)`` of a vote file (see the module docstring).

    Raises:
        ValueError: an empty file or a count that is not a number.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z["votes_train"], np.float64), [str(c) for c in z["columns"]], None
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows:
        raise ValueError(f"{path}: empty vote file")
    header = [c.strip() for c in rows[0]]
    col = header.index("file") if "file" in header else None
    files = None if col is None else [r[col] for r in rows[1:]]
    keep = [i for i in range(len(header)) if i != col]
    try:
        votes = np.array([[float(r[i]) for i in keep] for r in rows[1:]], np.float64)
    except (ValueError, IndexError) as e:
        raise ValueError(f"{path}: vote counts must be numbers, one per column ({e})") from None
    return votes.reshape(-1, len(keep)), [header[i] for i in keep], files


def vote_distribution(votes: np.ndarray, columns: list[str], labels: tuple[str, ...] | list[str],
                      min_votes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Label distributions from vote counts.

    Args:
        votes: ``(N, C)`` non-negative counts, one column per name in ``columns``.
        columns: the ``C`` column names; matched to ``labels`` by name or :data:`ALIASES`, others dropped.
        labels: the model's ``K`` class names.
        min_votes: counts below this are outliers and set to 0 (FER+: a single vote).

    Returns:
        ``(probs, valid)``: float32 ``(N, K)`` rows summing to 1 where ``valid`` (bool ``(N,)``), zeros elsewhere.

    Raises:
        ValueError: a label has no column, or ``votes`` does not have ``C`` columns.
    """
    names = [ALIASES.get(c.lower(), c.lower()) for c in columns]
    if votes.ndim != 2 or votes.shape[1] != len(columns):
        raise ValueError(f"votes have shape {votes.shape}, expected (N, {len(columns)}) for columns {columns}")
    missing = [lab for lab in labels if lab.lower() not in names]
    if missing:
        raise ValueError(f"vote columns {columns} have no column for the labels {missing}")
    counts = np.stack([votes[:, names.index(lab.lower())] for lab in labels], axis=1)
    counts = np.where(counts >= min_votes, counts, 0.0)
    total = counts.sum(axis=1)
    valid = total > 0
    probs = np.zeros_like(counts, dtype=np.float32)
    probs[valid] = counts[valid] / total[valid, None]
    return probs, valid


def vote_targets(path: str | Path, labels: tuple[str, ...] | list[str], y: np.ndarray,
                 paths: list[str] | None = None, min_votes: int = 2) -> np.ndarray:
    """float32 ``(N, K)`` training targets from a vote file: the vote distribution, or the one-hot label ``y``
    where an image has no usable vote.

    Args:
        paths: the training images' paths relative to the data folder, matched to a ``file`` column.

    Raises:
        ValueError: a file without a ``file`` column whose rows differ from ``len(y)``, one whose ``file`` column
            names none of ``paths``, or :func:`vote_distribution`'s errors.
    """
    votes, columns, files = read_votes(Path(path))
    if files is not None:
        row = {f: i for i, f in enumerate(files)}
        at = np.array([row.get(p, -1) for p in (paths or [])])
        if not (at >= 0).any():
            raise ValueError(f"{path}: its file column names none of the {len(y)} training images "
                             f"(e.g. {paths[0] if paths else '?'})")
        votes = np.where((at >= 0)[:, None], votes[np.maximum(at, 0)], 0.0)
    elif len(votes) != len(y):
        raise ValueError(f"{path} has {len(votes)} vote rows, the training split has {len(y)} images")
    probs, valid = vote_distribution(votes, columns, labels, min_votes)
    onehot = np.eye(len(labels), dtype=np.float32)[y]
    return np.where(valid[:, None], probs, onehot)
