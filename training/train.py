"""The fit loop: callbacks, best checkpoint on val accuracy, resumable runs."""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from training.config import TrainConfig
from training.data import load_tree
from training.model import build_model
from training.pipeline import build_augmenter, class_weights, make_dataset

log = logging.getLogger(__name__)


def hardware() -> str:
    """CPU model and logical core count of this machine, e.g. ``"Intel Xeon ... (2 cores)"``."""
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores, no GPU used)" if not tf.config.list_physical_devices("GPU") else name


def _optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    if cfg.schedule == "cosine":
        total = cfg.epochs * steps_per_epoch
        warm = min(cfg.warmup_steps, total // 2)
        lr = keras.optimizers.schedules.CosineDecay(
            cfg.lr / 10, decay_steps=max(total - warm, 1), warmup_target=cfg.lr, warmup_steps=warm
        )
    elif cfg.schedule == "plateau":
        lr = cfg.lr
    else:
        raise ValueError(f"schedule must be cosine or plateau, got {cfg.schedule!r}")
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
    raise ValueError(f"optimizer must be adamw, adam or sgd, got {cfg.optimizer!r}")


class _SaveLast(keras.callbacks.Callback):
    """Saves ``last.keras`` (weights + optimizer state) and ``state.json`` after every epoch.

    ``state.json`` holds ``epochs_done`` and the accumulated ``train_seconds`` (wall clock).
    """

    def __init__(self, out: Path, train_seconds: float = 0.0):
        super().__init__()
        self.out, self.train_seconds, self.t0 = out, train_seconds, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.time() - self.t0
        tmp = self.out / "last.tmp.keras"
        self.model.save(tmp)
        tmp.replace(self.out / "last.keras")
        state = {"epochs_done": epoch + 1, "train_seconds": round(self.train_seconds, 1)}
        (self.out / "state.json").write_text(json.dumps(state))


def _history(out: Path) -> list[dict]:
    path = out / "history.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Fit a model on ``cfg.data``; select the best epoch on val top-1 accuracy.

    Writes to ``cfg.out``: ``config.json``, ``best.keras``, ``last.keras``,
    ``state.json``, ``history.csv`` (per-epoch loss/accuracy/lr) and
    ``train_summary.json`` (epochs, wall seconds, best epoch). With ``resume``,
    continues from ``last.keras`` at the next epoch with the optimizer state and
    LR schedule position restored.

    Returns:
        Path to ``best.keras``.

    Raises:
        training.data.DataError: bad data folder.
        FileNotFoundError: ``resume`` without a previous run in ``cfg.out``.
    """
    out = Path(cfg.out)
    keras.utils.set_random_seed(cfg.seed)
    data_cfg, splits = load_tree(Path(cfg.data), cfg.input_size, cfg.channels, cfg.val_fraction, cfg.seed)
    train_s, val_s = splits["train"], splits["val"]
    log.info("train %d, val %d images; classes %s", len(train_s), len(val_s), ", ".join(data_cfg.labels))
    steps = int(np.ceil(len(train_s) / cfg.batch_size))

    initial_epoch, history, seconds = 0, [], 0.0
    if resume:
        if not (out / "last.keras").exists():
            raise FileNotFoundError(f"nothing to resume: {out / 'last.keras'} does not exist")
        saved = json.loads((out / "config.json").read_text())
        if saved["data_config"]["labels"] != list(data_cfg.labels):
            raise ValueError("resume: the data's classes differ from the saved run's")
        model = keras.models.load_model(out / "last.keras")
        state = json.loads((out / "state.json").read_text())
        initial_epoch, seconds = state["epochs_done"], state.get("train_seconds", 0.0)
        history = _history(out)[:initial_epoch]
        log.info("resuming %s at epoch %d of %d", out, initial_epoch + 1, cfg.epochs)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("history.csv", "state.json", "last.keras", "best.keras"):
            (out / stale).unlink(missing_ok=True)
        model = build_model(
            data_cfg.input_shape, data_cfg.num_classes, cfg.widths, cfg.block_dropout, cfg.head_units, cfg.head_dropout
        )
        model.compile(optimizer=_optimizer(cfg, steps), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    counts = {s: len(v) for s, v in splits.items()}
    (out / "config.json").write_text(
        json.dumps({"train": asdict(cfg), "data_config": data_cfg.to_json(), "counts": counts,
                    "tensorflow": tf.__version__, "keras": keras.__version__, "hardware": hardware()}, indent=2)
    )

    best_so_far = max((float(h["val_accuracy"]) for h in history), default=None)
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            out / "best.keras", monitor="val_accuracy", mode="max", save_best_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=resume),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=cfg.patience),
        _SaveLast(out, seconds),
    ]
    if cfg.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-6))
    augmenter = build_augmenter(cfg.seed) if cfg.augment else None
    train_ds = make_dataset(train_s.x, train_s.y, cfg.batch_size, True, cfg.seed, augmenter)
    val_ds = make_dataset(val_s.x, val_s.y, 256)
    model.fit(
        train_ds, validation_data=val_ds, epochs=cfg.epochs, initial_epoch=initial_epoch, callbacks=callbacks,
        class_weight=class_weights(train_s.y, data_cfg.num_classes, cfg.class_weight), verbose=2, shuffle=False,
    )
    hist = _history(out)
    best = max(range(len(hist)), key=lambda i: float(hist[i]["val_accuracy"]))
    seconds = json.loads((out / "state.json").read_text())["train_seconds"]
    summary = {
        "epochs_run": len(hist), "best_epoch": best + 1, "best_val_accuracy": float(hist[best]["val_accuracy"]),
        "train_seconds": seconds, "seconds_per_epoch": round(seconds / max(len(hist), 1), 1),
        "parameters": int(model.count_params()),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    log.info("done: best val top-1 %.4f at epoch %d, %.0f s", summary["best_val_accuracy"], best + 1, seconds)
    return out / "best.keras"
