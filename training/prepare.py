"""Build the standard folder tree ``OUT/{train,val,test}/<class>/*.png`` from FER2013.

Two sources: the original Kaggle ``fer2013.csv`` (``emotion,pixels,Usage``) and the
project's shared ``fer2013.npz``. Usage/split mapping: Training -> train,
PublicTest -> val, PrivateTest -> test. Images are written as lossless PNG.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from fer_toolkit.fercore.config import FER2013_CSV_TO_ALPHABETICAL, FER2013_LABELS
from fer_toolkit.training.data import DataError

USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
NPZ_SPLITS = {"train": "train", "val": "val", "test": "test"}


def _write(out: Path, split: str, label: str, name: str, pixels: np.ndarray) -> None:
    folder = out / split / label
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8), "L").save(folder / name)


def csv_to_tree(csv_path: Path, out: Path) -> dict[str, int]:
    """Convert ``fer2013.csv`` to a folder tree; returns image counts per split.

    Labels are mapped from the CSV order to the alphabetical one
    (:data:`fer_toolkit.fercore.config.FER2013_CSV_TO_ALPHABETICAL`). Files are named
    ``<Usage>_<row>.png`` (row = 0-based data row in the CSV).

    Raises:
        DataError: missing file, wrong header, or a malformed row (with its line number).
    """
    csv_path, out = Path(csv_path), Path(out)
    if not csv_path.is_file():
        raise DataError(f"CSV not found: {csv_path}")
    counts: dict[str, int] = {}
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"emotion", "pixels", "Usage"} <= set(reader.fieldnames):
            raise DataError(f"{csv_path}: expected columns emotion,pixels,Usage, got {reader.fieldnames}")
        for row_no, row in enumerate(reader):
            try:
                label = FER2013_LABELS[FER2013_CSV_TO_ALPHABETICAL[int(row["emotion"])]]
                pixels = np.array(row["pixels"].split(), dtype=np.int64).reshape(48, 48)
                split = USAGE_TO_SPLIT[row["Usage"]]
            except (ValueError, IndexError, KeyError) as e:
                raise DataError(f"{csv_path}: bad row at line {row_no + 2}: {type(e).__name__}: {e}") from None
            _write(out, split, label, f"{row['Usage']}_{row_no}.png", np.clip(pixels, 0, 255))
            counts[split] = counts.get(split, 0) + 1
    return counts


def npz_to_tree(npz_path: Path, out: Path, votes: Path | None = None) -> dict[str, int]:
    """Write ``fer2013.npz`` (see ``../shared/data/README.md``) as a folder tree.

    File names keep the source ids with a ``.png`` suffix, e.g.
    ``test/angry/PrivateTest_10131363.png``; pixels are identical to the arrays. With ``votes`` (crowd votes
    whose ``votes_train`` rows follow the archive's training split, such as FER+'s; :mod:`fer_toolkit.training.votes`)
    it also writes ``OUT/votes.csv``: a ``file`` column (``train/<class>/<image>``) and one column of counts per
    rater class, for ``train --data OUT --soft-labels OUT/votes.csv``.

    Returns:
        image counts per split.

    Raises:
        DataError: missing file.
    """
    npz_path, out = Path(npz_path), Path(out)
    if not npz_path.is_file():
        raise DataError(f"FER2013 archive not found: {npz_path}")
    counts = {}
    with np.load(npz_path) as d:
        classes = [str(c) for c in d["classes"]]
        for key, split in NPZ_SPLITS.items():
            x, y, ids = d[f"x_{key}"], d[f"y_{key}"], d[f"ids_{key}"]
            for img, label, ident in zip(x, y, ids):
                name = Path(str(ident)).with_suffix(".png").name
                _write(out, split, classes[int(label)], name, img)
            counts[split] = len(y)
        if votes is not None:
            _write_votes(Path(votes), out, [f"train/{classes[int(c)]}/{Path(str(i)).with_suffix('.png').name}"
                                            for c, i in zip(d["y_train"], d["ids_train"])])
    return counts


def _write_votes(votes: Path, out: Path, files: list[str]) -> None:
    from fer_toolkit.training.votes import read_votes

    counts, columns, _ = read_votes(votes)
    if len(counts) != len(files):
        raise DataError(f"{votes} has {len(counts)} training vote rows, the archive {len(files)} training images")
    with (out / "votes.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", *columns])
        w.writerows([name, *(int(v) for v in row)] for name, row in zip(files, counts))
