"""Folder-tree and CSV loading on real FER2013 images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fer_toolkit.fercore.config import FER2013_CSV_TO_ALPHABETICAL, FER2013_LABELS
from fer_toolkit.training.data import DataError, load_tree, stratified_split
from fer_toolkit.training.prepare import csv_to_tree
from tests.conftest import write_tree


def test_tree_loads_real_images_with_sorted_classes(small_tree, fer):
    config, splits = load_tree(small_tree)
    assert config.labels == FER2013_LABELS
    assert {k: len(v) for k, v in splits.items()} == {"train": 3000, "val": 600, "test": 600}
    s = splits["test"]
    assert s.x.shape == (600, 48, 48, 1) and s.x.dtype == np.uint8
    # every loaded image equals its npz row, and its label is its folder
    index = {Path(str(i)).stem: n for n, i in enumerate(fer["ids_test"])}
    for x, y, path in zip(s.x[:50], s.y[:50], s.paths[:50]):
        n = index[Path(path).stem]
        np.testing.assert_array_equal(x[..., 0], fer["x_test"][n])
        assert fer["y_test"][n] == y and Path(path).parent.name == FER2013_LABELS[y]


def test_no_val_folder_takes_stratified_seeded_split(fer, tmp_path):
    root = write_tree(tmp_path, fer, {"train": 700})
    config, splits = load_tree(root, val_fraction=0.2, seed=3)
    assert set(splits) == {"train", "val"} and len(splits["train"]) + len(splits["val"]) == 700
    counts = np.bincount(splits["val"].y, minlength=7) / np.bincount(
        np.concatenate([splits["train"].y, splits["val"].y]), minlength=7)
    assert np.all(np.abs(counts[counts > 0] - 0.2) < 0.1)
    _, again = load_tree(root, val_fraction=0.2, seed=3)
    assert again["val"].paths == splits["val"].paths
    a, b = stratified_split(splits["train"], 0.5, 0)
    assert not set(a.paths) & set(b.paths)


def test_rgb_and_other_sizes_and_class_sets(fer, tmp_path):
    root = write_tree(tmp_path, fer, {"train": 400, "test": 100})
    for name in ("angry", "disgust", "fear", "neutral", "surprise"):  # binary happy/sad variant
        for split in ("train", "test"):
            for f in (root / split / name).glob("*"):
                f.unlink()
            (root / split / name).rmdir()
    config, splits = load_tree(root, input_size=(64, 64), channels=3)
    assert config.labels == ("happy", "sad")
    assert splits["train"].x.shape[1:] == (64, 64, 3)


def test_csv_prepare_maps_labels_and_usage(fer, tmp_path):
    """Write a real fer2013.csv slice in the original label order and convert it back."""
    alpha_to_csv = {a: c for c, a in enumerate(FER2013_CSV_TO_ALPHABETICAL)}
    rows = []
    for split, usage in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")):
        for i in range(0, len(fer[f"y_{split}"]), 400):
            rows.append((alpha_to_csv[int(fer[f"y_{split}"][i])], fer[f"x_{split}"][i], usage))
    path = tmp_path / "fer2013.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for label, x, usage in rows:
            w.writerow([label, " ".join(map(str, x.ravel())), usage])
    counts = csv_to_tree(path, tmp_path / "tree")
    assert sum(counts.values()) == len(rows)
    config, splits = load_tree(tmp_path / "tree")
    got = {tuple(x.ravel()[:64]): config.labels[y] for s in splits.values() for x, y in zip(s.x, s.y)}
    for label, x, _ in rows:
        assert got[tuple(x.ravel()[:64])] == FER2013_LABELS[FER2013_CSV_TO_ALPHABETICAL[label]]


def test_bad_csv_row_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DataError, match="line 2"):
        csv_to_tree(path, tmp_path / "out")


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        load_tree(tmp_path / "nope")
    (tmp_path / "train" / "happy").mkdir(parents=True)
    (tmp_path / "train" / "sad").mkdir(parents=True)
    with pytest.raises(DataError, match="has no images"):
        load_tree(tmp_path)
