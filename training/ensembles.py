"""PublicTest top-1 of every probability-mean ensemble of some runs, per set of test-time views, to choose candidates.

The exported graph (:func:`fer_toolkit.training.inference.build_inference_model`) averages each member's
probabilities over its views, then the members; temperature scaling afterwards keeps the argmax, so the top-1
figures here are those `fer-toolkit export --no-test` would print. Each member's views are computed by that same
builder. Only the val split (FER2013 PublicTest) is read.

Usage: ``python -m fer_toolkit.training.ensembles --data ../shared/data/fer2013.npz [--tta none,flip,multiscale]
runs/base runs/base_swa ...``
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from fer_toolkit.fercore.cli import OneLineParser, run_cli
from fer_toolkit.training.config import TTA_MODES

DEFAULT_MODES = ("none", "flip")


def member_probs(run: Path, x: np.ndarray, modes: Sequence[str] = DEFAULT_MODES) -> dict[str, np.ndarray]:
    """Probabilities ``(N, K)`` float64 of ``run/best.keras`` on float32 NHWC pixels ``x`` (the exported input),
    averaged over the views of each test-time mode in ``modes``, keyed by mode.

    Raises:
        FileNotFoundError: no ``best.keras`` in ``run``.
        ValueError: an unknown mode (:func:`fer_toolkit.training.views.view_crops`).
    """
    import keras

    from fer_toolkit.training.inference import build_inference_model

    path = Path(run) / "best.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    net = keras.models.load_model(path, compile=False)
    side = net.input_shape[1]
    crop = side if side != x.shape[1] else 0
    return {m: build_inference_model([net], x.shape[1:], crop, m).predict(x, batch_size=256, verbose=0)
            .astype(np.float64) for m in modes}


def ensemble_table(probs: dict[str, dict[str, np.ndarray]], y: np.ndarray) -> list[tuple[str, dict[str, float]]]:
    """``(names, {mode: top-1})`` for every non-empty combination, best in the last mode first.

    Args:
        probs: per run name, its probabilities ``(N, K)`` per test-time mode (:func:`member_probs`); every run
            has the same modes.
        y: int labels ``(N,)``.
    """
    modes = list(next(iter(probs.values())))
    rows = []
    for k in range(1, len(probs) + 1):
        for combo in itertools.combinations(probs, k):
            rows.append((" + ".join(combo), {m: float((np.mean([probs[n][m] for n in combo], axis=0).argmax(1) == y)
                                                      .mean()) for m in modes}))
    return sorted(rows, key=lambda r: [-r[1][m] for m in reversed(modes)])


def _modes(text: str) -> list[str]:
    """``--tta``'s value: comma-separated modes of :data:`TTA_MODES`."""
    import argparse

    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in TTA_MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(f"unknown mode {', '.join(bad) or repr(text)}: use {', '.join(TTA_MODES)}")
    return modes


def main(argv: list[str] | None = None) -> int:
    from fer_toolkit.training.data import load_data

    ap = OneLineParser(prog="python -m fer_toolkit.training.ensembles", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the runs' data (folder tree or .npz); its val split is read")
    ap.add_argument("--tta", type=_modes, default=list(DEFAULT_MODES),
                    help=f"comma-separated test-time view modes to score, one column each, sorted by the last "
                         f"(of {', '.join(TTA_MODES)}; default: none,flip)")
    ap.add_argument("runs", nargs="+", help="run folders with best.keras")
    a = ap.parse_args(argv)
    _, splits = load_data(Path(a.data))
    val = splits["val"]
    probs = {Path(r).name: member_probs(Path(r), val.x.astype(np.float32), a.tta) for r in a.runs}
    for names, top1 in ensemble_table(probs, val.y):
        print(f"{names:60s} " + "  ".join(f"{m} {v:.2%}" for m, v in top1.items()))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
