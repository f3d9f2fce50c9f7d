"""Per-epoch checkpoints of a training run, the progress line with the ETA, and the history a resume reads.

Files in the run folder: ``last.keras`` (trainer + optimizer state) and ``state.json`` every epoch, ``best.keras``
(the bare float32 network, or the SWA average) when val top-1 improves, ``history.csv`` from Keras' ``CSVLogger``.
The two .keras files are written under a temporary name and renamed, so an interrupted save keeps the previous one.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import keras
import numpy as np

from fer_toolkit.training.model import build_model
from fer_toolkit.training.swa import WeightAverage


def float32_copy(net: keras.Model, kwargs: dict) -> keras.Model:
    """The same network rebuilt with float32 layers (whatever the global policy) and ``net``'s weights."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = build_model(**kwargs)
    finally:
        keras.config.set_dtype_policy(policy)
    copy.set_weights(net.get_weights())
    return copy


class Checkpoints(keras.callbacks.Callback):
    """Per epoch: ``last.keras`` (trainer + optimizer state) and ``state.json``; ``best.keras`` (the bare
    network, float32, or with SWA the weight average) when ``monitor`` (val top-1) improves; one progress line
    with the epoch's time and the ETA."""

    def __init__(self, out: Path, net: keras.Model, kwargs: dict, epochs: int, seconds: float, best: float | None,
                 swa: WeightAverage | None = None):
        super().__init__()
        self.out, self.net, self.kwargs, self.epochs, self.swa = out, net, kwargs, epochs, swa
        self.seconds, self.best, self.t0, self.run_epochs, self.run_seconds = seconds, best, 0.0, 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        dt = time.time() - self.t0
        self.seconds += dt
        self.run_epochs, self.run_seconds = self.run_epochs + 1, self.run_seconds + dt
        acc = float(logs.get(monitor_key(self.swa is not None), 0.0))
        if not np.isnan(acc) and (self.best is None or acc > self.best):
            self.best = acc
            best = self.swa.averaged if self.swa is not None else float32_copy(self.net, self.kwargs)
            best.save(self.out / "best.tmp.keras")
            (self.out / "best.tmp.keras").replace(self.out / "best.keras")
        self.model.save(self.out / "last.tmp.keras")
        (self.out / "last.tmp.keras").replace(self.out / "last.keras")
        state = {"epochs_done": epoch + 1, "train_seconds": round(self.seconds, 1)}
        (self.out / "state.json").write_text(json.dumps(state))
        eta = (self.epochs - epoch - 1) * self.run_seconds / self.run_epochs
        swa = f"  SWA val top-1 {acc:.4f}" if self.swa is not None else ""
        print(f"epoch {epoch + 1}/{self.epochs}  {dt:.1f} s  ETA {eta / 60:.1f} min  "
              f"loss {logs.get('loss', float('nan')):.4f}  top-1 {logs.get('accuracy', float('nan')):.4f}  "
              f"val loss {logs.get('val_loss', float('nan')):.4f}  val top-1 {logs.get('val_accuracy', 0.0):.4f}"
              f"{swa}  (best {self.best if self.best is not None else float('nan'):.4f})", flush=True)


def monitor_key(swa: bool) -> str:
    """The log that selects ``best.keras``: the SWA average's val top-1 with SWA, else the network's."""
    return "swa_val_accuracy" if swa else "val_accuracy"


def read_history(out: Path) -> list[dict]:
    """The rows of ``out/history.csv`` (Keras ``CSVLogger``: epoch, loss, accuracy, val_*, ...) as strings;
    ``[]`` when there is none."""
    path = out / "history.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))
