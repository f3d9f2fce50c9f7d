"""PublicTest top-1 of every probability-mean ensemble of some runs, with and without flip, to choose candidates.

The exported graph (:func:`fer_toolkit.training.inference.build_inference_model`) averages each member's
probabilities over its views, then the members; temperature scaling afterwards keeps the argmax, so the top-1
figures here are those `fer-toolkit export --no-test` would print. Only the val split (FER2013 PublicTest) is read.

Usage: ``python -m fer_toolkit.training.ensembles --data ../shared/data/fer2013.npz runs/base runs/base_swa ...``
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

from fer_toolkit.training.cli_util import OneLineParser, run_cli


def member_probs(run: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(N, K)`` float64 of ``run/best.keras`` on float32 NHWC pixels ``x``, and on their mirror image.

    Raises:
        FileNotFoundError: no ``best.keras`` in ``run``.
    """
    import keras

    from fer_toolkit.training.inference import centre_crop

    path = Path(run) / "best.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    net = keras.models.load_model(path, compile=False)
    side = net.input_shape[1]
    xc = centre_crop(x, side if side != x.shape[1] else 0)
    return (net.predict(xc, batch_size=256, verbose=0).astype(np.float64),
            net.predict(xc[:, :, ::-1], batch_size=256, verbose=0).astype(np.float64))


def ensemble_table(probs: dict[str, tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> list[tuple[str, float, float]]:
    """``(names, top-1 one pass, top-1 with flip)`` for every non-empty combination, best with flip first.

    Args:
        probs: per run name, its ``(plain, mirrored)`` probabilities ``(N, K)``.
        y: int labels ``(N,)``.
    """
    rows = []
    for k in range(1, len(probs) + 1):
        for combo in itertools.combinations(probs, k):
            plain = np.mean([probs[n][0] for n in combo], axis=0)
            flip = np.mean([(probs[n][0] + probs[n][1]) / 2 for n in combo], axis=0)
            rows.append((" + ".join(combo), float((plain.argmax(1) == y).mean()), float((flip.argmax(1) == y).mean())))
    return sorted(rows, key=lambda r: (-r[2], -r[1]))


def main(argv: list[str] | None = None) -> int:
    from fer_toolkit.training.data import load_data

    ap = OneLineParser(prog="python -m fer_toolkit.training.ensembles", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the runs' data (folder tree or .npz); its val split is read")
    ap.add_argument("runs", nargs="+", help="run folders with best.keras")
    a = ap.parse_args(argv)
    _, splits = load_data(Path(a.data))
    val = splits["val"]
    probs = {Path(r).name: member_probs(Path(r), val.x.astype(np.float32)) for r in a.runs}
    for names, plain, flip in ensemble_table(probs, val.y):
        print(f"{names:60s} one pass {plain:.2%}  flip {flip:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
