"""Shared fixtures: real FER2013 slices from ../shared/data/fer2013.npz (skipped where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NPZ = Path(os.environ.get("FER2013_NPZ", ROOT.parent / "shared" / "data" / "fer2013.npz"))
SAMPLES = NPZ.parent / "samples"
SHIPPED_MODEL = ROOT / "models" / "fer2013_cnn.onnx"
NO_DATA = f"FER2013 not found at {NPZ} (set FER2013_NPZ to the shared fer2013.npz)"


@pytest.fixture(scope="session")
def fer():
    """All FER2013 arrays as a dict (loaded once)."""
    if not NPZ.is_file():
        pytest.skip(NO_DATA)
    with np.load(NPZ) as d:
        return {k: d[k] for k in d.files}


def write_tree(root: Path, fer: dict, counts: dict[str, int], seed: int = 0) -> Path:
    """Write a seeded random slice of each split (natural class balance) as PNGs under ``root``."""
    rng = np.random.default_rng(seed)
    classes = [str(c) for c in fer["classes"]]
    for split, n in counts.items():
        x, y, ids = fer[f"x_{split}"], fer[f"y_{split}"], fer[f"ids_{split}"]
        for i in np.sort(rng.choice(len(y), size=n, replace=False)):
            folder = root / split / classes[int(y[i])]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[i]).save(folder / Path(str(ids[i])).with_suffix(".png").name)
    return root


@pytest.fixture(scope="session")
def small_tree(fer, tmp_path_factory) -> Path:
    """3,000 train / 600 val / 600 test real FER2013 images as a folder tree."""
    return write_tree(tmp_path_factory.mktemp("fer_small"), fer, {"train": 3000, "val": 600, "test": 600})


@pytest.fixture(scope="session")
def tiny_run(small_tree, tmp_path_factory) -> Path:
    """A small CNN (no augmentation), 10 epochs in-process on ``small_tree``, evaluated on its test split."""
    from fer_toolkit.training.config import TrainConfig
    from fer_toolkit.training.evaluate import evaluate_run
    from fer_toolkit.training.train import train

    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(data=str(small_tree), out=str(out), epochs=10, batch_size=32, lr=1e-3, warmup_steps=50,
                      widths=(16, 32, 64), head_units=64, block_dropout=0.0, head_dropout=0.2, augment=False)
    train(cfg)
    evaluate_run(out, split="test")
    return out


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run) -> Path:
    """``tiny_run`` exported to ONNX (parity-checked by the exporter)."""
    from fer_toolkit.export.onnx_export import export_run

    path = tiny_run / "tiny.onnx"
    export_run(tiny_run, path, version="test")
    return path
