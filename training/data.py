"""Load labelled image folder trees ``DIR/{train,val,test}/<class>/*`` into arrays.

Classes are the sorted sub-folder names of ``train/``. Every image goes through
:func:`fer_toolkit.fercore.load_image`, the same preprocessing the demo and the workers use.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_toolkit.fercore import IMAGE_EXTENSIONS, DataConfig, ImageDecodeError, load_image
from fer_toolkit.fercore.cli import UserError

log = logging.getLogger(__name__)


class DataError(UserError):
    """A data folder is missing or malformed; ``str(err)`` is one readable line."""


@dataclass
class Split:
    """One split held in memory.

    Attributes:
        x: uint8 array ``(N, H, W, C)``, pixel values 0..255.
        y: int64 array ``(N,)`` of class indexes into the labels.
        paths: ``N`` file paths relative to the data root (or ids).
    """

    x: np.ndarray
    y: np.ndarray
    paths: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> "Split":
        """Rows ``idx`` of this split."""
        return Split(self.x[idx], self.y[idx], [self.paths[i] for i in idx])


def discover_classes(train_dir: Path) -> tuple[str, ...]:
    """Sorted class folder names under ``train_dir``.

    Raises:
        DataError: folder missing, fewer than two classes, or an empty class folder.
    """
    if not train_dir.is_dir():
        raise DataError(f"data folder not found: {train_dir} (expected DIR/train/<class>/*; run `make data`?)")
    classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"{train_dir} needs at least two class folders, found {len(classes)}")
    for c in classes:
        if not any(_image_files(train_dir / c)):
            raise DataError(f"class folder {train_dir / c} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return tuple(classes)


def _image_files(folder: Path):
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
            yield Path(entry.path)


def load_split(split_dir: Path, config: DataConfig, root: Path | None = None) -> Split:
    """Read every image of ``split_dir/<label>/*`` for the labels of ``config``.

    Unreadable images are skipped with a warning naming the file. A class folder
    missing from ``split_dir`` contributes no rows; a folder whose name is not
    one of ``config.labels`` raises.

    Raises:
        DataError: unknown class folder, or no readable image at all.
    """
    root = root or split_dir.parent
    unknown = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name not in config.labels)
    if unknown:
        raise DataError(f"{split_dir} has class folders not in train/: {', '.join(unknown)}")
    xs, ys, paths = [], [], []
    for idx, label in enumerate(config.labels):
        folder = split_dir / label
        if not folder.is_dir():
            continue
        for f in _image_files(folder):
            try:
                xs.append(load_image(f, config))
            except ImageDecodeError as e:
                log.warning("skipping %s: %s", f, e)
                continue
            ys.append(idx)
            paths.append(str(f.relative_to(root)))
    if not xs:
        raise DataError(f"no readable images in {split_dir}")
    return Split(np.stack(xs), np.asarray(ys, dtype=np.int64), paths)


def stratified_split(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Seeded stratified split: returns ``(rest, held_out)`` with ``fraction`` of each class held out."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(split.y):
        idx = np.flatnonzero(split.y == c)
        rng.shuffle(idx)
        held.extend(idx[: max(1, round(fraction * len(idx)))].tolist())
    mask = np.zeros(len(split), bool)
    mask[held] = True
    return split.subset(np.flatnonzero(~mask)), split.subset(np.flatnonzero(mask))


def load_tree(
    root: Path, input_size: tuple[int, int] = (48, 48), channels: int = 1, val_fraction: float = 0.1, seed: int = 0
) -> tuple[DataConfig, dict[str, Split]]:
    """Load ``root/train`` and, where present, ``root/val`` and ``root/test``.

    Without ``val/``, a stratified ``val_fraction`` of ``train/`` (seeded) becomes val.

    Returns:
        ``(config, splits)`` where ``splits`` has keys ``train``, ``val`` and maybe ``test``.

    Raises:
        DataError: see :func:`discover_classes` and :func:`load_split`.
    """
    root = Path(root)
    config = DataConfig(input_size=tuple(input_size), channels=channels, labels=discover_classes(root / "train"))
    splits = {"train": load_split(root / "train", config, root)}
    if (root / "val").is_dir():
        splits["val"] = load_split(root / "val", config, root)
    else:
        splits["train"], splits["val"] = stratified_split(splits["train"], val_fraction, seed)
        log.info("no val/ folder: held out %d train images (%.0f%%, seed %d)",
                 len(splits["val"]), 100 * val_fraction, seed)
    if (root / "test").is_dir():
        splits["test"] = load_split(root / "test", config, root)
    return config, splits


def load_npz(
    path: Path, input_size: tuple[int, int] = (48, 48), channels: int = 1
) -> tuple[DataConfig, dict[str, Split]]:
    """Load the FER2013 archive layout: ``x_<split>`` uint8 ``(N, H, W)``, ``y_<split>``, ``ids_<split>``, ``classes``.

    Splits ``train``, ``val`` (PublicTest) and ``test`` (PrivateTest) are read
    where present (``train`` and ``val`` are required), in the archive's order.

    Raises:
        DataError: unreadable archive, missing keys, or images that do not match
            ``input_size`` / ``channels`` (the archive is not resized).
    """
    try:
        with np.load(path) as d:
            arrays = {k: d[k] for k in d.files}
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    missing = {"classes", "x_train", "y_train", "x_val", "y_val"} - set(arrays)
    if missing:
        raise DataError(f"{path} lacks {', '.join(sorted(missing))}")
    labels = tuple(str(c) for c in arrays["classes"])
    config = DataConfig(input_size=tuple(input_size), channels=channels, labels=labels)
    splits = {}
    for name in ("train", "val", "test"):
        if f"x_{name}" not in arrays:
            continue
        x = arrays[f"x_{name}"]
        x = x[..., None] if x.ndim == 3 else x
        if x.shape[1:] != config.input_shape:
            raise DataError(f"{path}: x_{name} images are {x.shape[1:]}, the run needs {config.input_shape}")
        ids = arrays.get(f"ids_{name}", np.arange(len(x)).astype(str))
        splits[name] = Split(x, arrays[f"y_{name}"].astype(np.int64), [str(i) for i in ids])
    return config, splits


def load_data(
    source: Path, input_size: tuple[int, int] = (48, 48), channels: int = 1, val_fraction: float = 0.1, seed: int = 0
) -> tuple[DataConfig, dict[str, Split]]:
    """A folder tree (:func:`load_tree`) or, for a ``.npz`` path, an archive (:func:`load_npz`)."""
    source = Path(source)
    if source.suffix == ".npz":
        if not source.is_file():
            raise DataError(f"data archive not found: {source}")
        return load_npz(source, input_size, channels)
    return load_tree(source, input_size, channels, val_fraction, seed)
