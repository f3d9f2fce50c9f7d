"""The fit loop on any Keras backend: trainer model, optimizer, resume (checkpoints and progress:
:mod:`fer_toolkit.training.checkpoints`)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from fer_toolkit.training.augment import build_augmenter
from fer_toolkit.training.checkpoints import Checkpoints, float32_copy, monitor_key, read_history
from fer_toolkit.training.config import TrainConfig
from fer_toolkit.training.data import Split, load_data
from fer_toolkit.training.hardware import hardware, resolve_precision
from fer_toolkit.training.inference import centre_crop
from fer_toolkit.training.losses import DistillationLoss, label_accuracy
from fer_toolkit.training.model import build_model
from fer_toolkit.training.pipeline import class_weights
from fer_toolkit.training.served_crops import cached_served_crops, mix_served
from fer_toolkit.training.swa import WeightAverage
from fer_toolkit.training.votes import is_vote_file, vote_targets
from fer_toolkit.training.warm_start import adopt_architecture, init_weights, saved_network

log = logging.getLogger(__name__)


def network_kwargs(cfg: TrainConfig, input_shape: tuple[int, int, int], num_classes: int) -> dict:
    """``build_model`` keyword arguments of a run; the network's input is the crop where one is set."""
    if cfg.crop:
        input_shape = (cfg.crop, cfg.crop, input_shape[2])
    return {"input_shape": tuple(input_shape), "num_classes": num_classes, "widths": tuple(cfg.widths),
            "block_dropout": cfg.block_dropout, "head_units": cfg.head_units, "head_dropout": cfg.head_dropout}


def build_trainer(net: keras.Model, cfg: TrainConfig, input_shape: tuple[int, int, int]) -> keras.Model:
    """``net`` behind the training-only augmentation and the crop: what ``fit`` trains.

    Input: float32 ``(B, *input_shape)`` pixels 0..255. Augmentation layers are
    identity outside training; the crop is random in training (shift + centre
    crop) and central otherwise.
    """
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = inputs
    if cfg.augment:
        x = build_augmenter(cfg.seed, cfg.rotation, cfg.shift, cfg.zoom, cfg.erasing, cfg.photometric)(x)
    if cfg.crop:
        x = keras.layers.CenterCrop(cfg.crop, cfg.crop, name="crop")(x)
    return keras.Model(inputs, net(x), name="trainer")


def targets(split: Split, num_classes: int, soft: np.ndarray | None = None) -> np.ndarray:
    """float32 one-hot labels ``(N, K)``, or ``(N, 2K)`` with teacher probabilities appended."""
    onehot = np.eye(num_classes, dtype=np.float32)[split.y]
    return onehot if soft is None else np.concatenate([onehot, soft.astype(np.float32)], axis=1)


def _optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    if cfg.schedule == "cosine":
        total = cfg.epochs * steps_per_epoch
        warm = min(cfg.warmup_steps, total // 2)
        lr = keras.optimizers.schedules.CosineDecay(
            cfg.lr / 10, decay_steps=max(total - warm, 1), warmup_target=cfg.lr, warmup_steps=warm
        )
    elif cfg.schedule in ("plateau", "constant"):
        lr = cfg.lr
    else:
        raise ValueError(f"schedule must be cosine, plateau or constant, got {cfg.schedule!r}")
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be adamw, adam or sgd, got {cfg.optimizer!r}")


def _soft_labels(cfg: TrainConfig, split: Split, labels: tuple[str, ...]) -> np.ndarray | None:
    """Teacher probabilities (``.npy``) or crowd votes (:mod:`fer_toolkit.training.votes`) as ``(N, K)``."""
    if not cfg.soft_labels:
        return None
    n, k = len(split), len(labels)
    if is_vote_file(cfg.soft_labels):
        return vote_targets(cfg.soft_labels, labels, split.y, split.paths)
    soft = np.load(cfg.soft_labels)
    if soft.shape != (n, k):
        raise ValueError(f"soft labels {cfg.soft_labels} have shape {soft.shape}, the training split needs {(n, k)}")
    return soft


def weight_average(cfg: TrainConfig, out: Path, net: keras.Model, kwargs: dict, train_s: Split,
                   val_s: Split, stats_images: int = 4096) -> WeightAverage:
    """The SWA callback of a run: BatchNorm statistics from ``stats_images`` seeded-random training images (the
    split may be sorted by class), centre-cropped like the validation images where the run has a crop."""
    pick = np.sort(np.random.default_rng(cfg.seed).permutation(len(train_s))[:stats_images])
    def copy(weights: list[np.ndarray]) -> keras.Model:
        averaged = float32_copy(net, kwargs)
        averaged.set_weights(weights)
        return averaged

    return WeightAverage(out, net, copy, cfg.swa_start, centre_crop(train_s.x[pick], cfg.crop),
                         (centre_crop(val_s.x, cfg.crop), val_s.y))


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Fit a network on ``cfg.data``; select the best epoch on val top-1 accuracy.

    Runs on any Keras 3 backend (``KERAS_BACKEND``: tensorflow on CPU, torch or
    JAX on a GPU). Writes to ``cfg.out``: ``config.json``, ``best.keras`` (the
    bare network, float32, no augmentation), ``last.keras`` (the trainer with
    its optimizer state), ``state.json``, ``history.csv`` (per-epoch
    loss/accuracy/lr) and ``train_summary.json``. With ``cfg.swa_start``, ``best.keras`` is the best (on
    val) of the weight averages (:mod:`fer_toolkit.training.swa`), kept in ``swa.npz``. With ``resume``, continues
    from ``last.keras`` at the next epoch with the optimizer state and LR
    schedule position restored (or starts a new run where there is none, so
    ``make train RESUME=1`` continues every stage of the recipe).

    Returns:
        Path to ``best.keras``.

    Raises:
        fer_toolkit.training.data.DataError: bad data folder or archive.
        ValueError: bad option, soft labels that do not match the training split, or an ``init`` network
            that does not fit. FileNotFoundError: no ``init`` file.
    """
    out = Path(cfg.out)
    if not 0 <= cfg.swa_start <= cfg.epochs:
        raise ValueError(f"--swa-start must be 0 (off) or an epoch 1..{cfg.epochs}, got {cfg.swa_start}")
    init = saved_network(cfg.init) if cfg.init else None  # before the data loads: a bad path fails at once
    data_cfg, splits = load_data(Path(cfg.data), cfg.input_size, cfg.channels, cfg.val_fraction, cfg.seed)
    train_s, val_s = splits["train"], splits["val"]
    if cfg.served_crops > 0:
        cache = Path(cfg.out).parent / ".cache" / f"served_crops_{Path(cfg.data).stem}_{len(train_s)}.npz"
        crops, found = cached_served_crops(train_s.x, data_cfg, cache)
        train_s = Split(mix_served(train_s.x, crops, found, cfg.served_crops, cfg.seed), train_s.y, train_s.paths)
        log.info("served crops: %.0f%% of %d faces found and aligned (cache %s)", 100 * found.mean(), len(found), cache)
    k = data_cfg.num_classes
    log.info("train %d, val %d images; classes %s", len(train_s), len(val_s), ", ".join(data_cfg.labels))
    soft = _soft_labels(cfg, train_s, tuple(data_cfg.labels))
    if init is not None:  # also when resuming: the run's network is the init's
        adopt_architecture(cfg, init, cfg.input_size)
        log.info("architecture of %s: widths %s, head %d, crop %d", cfg.init, cfg.widths, cfg.head_units, cfg.crop)
    kwargs = network_kwargs(cfg, data_cfg.input_shape, k)
    precision = resolve_precision(cfg.precision, kwargs)
    log.info("precision %s (asked: %s)", precision, cfg.precision)
    keras.config.set_dtype_policy(precision)
    keras.utils.set_random_seed(cfg.seed)  # after the precision probe, so that it never changes the run
    steps = int(np.ceil(len(train_s) / cfg.batch_size))

    initial_epoch, history, seconds = 0, [], 0.0
    if resume and not (out / "last.keras").exists():
        log.info("nothing to resume in %s (no last.keras): starting a new run", out)
        resume = False
    if resume:
        saved = json.loads((out / "config.json").read_text())
        if saved["data_config"]["labels"] != list(data_cfg.labels):
            raise ValueError("resume: the data's classes differ from the saved run's")
        trainer = keras.models.load_model(out / "last.keras")
        net = trainer.get_layer("fer_cnn")
        state = json.loads((out / "state.json").read_text())
        initial_epoch, seconds = state["epochs_done"], state.get("train_seconds", 0.0)
        history = read_history(out)[:initial_epoch]
        log.info("resuming %s at epoch %d of %d", out, initial_epoch + 1, cfg.epochs)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("history.csv", "state.json", "last.keras", "best.keras", "swa.npz", "swa.json"):
            (out / stale).unlink(missing_ok=True)
        net = build_model(**kwargs)
        if init is not None:
            init_weights(net, init)
            log.info("weights from %s", cfg.init)
        trainer = build_trainer(net, cfg, data_cfg.input_shape)
        loss = DistillationLoss(k, cfg.kd_alpha if soft is not None else 1.0, cfg.kd_temperature, cfg.label_smoothing)
        trainer.compile(optimizer=_optimizer(cfg, steps), loss=loss,
                        metrics=[keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy")])
    counts = {s: len(v) for s, v in splits.items()}
    (out / "config.json").write_text(
        json.dumps({"train": asdict(cfg), "data_config": data_cfg.to_json(), "counts": counts,
                    "network": {**kwargs, "input_shape": list(kwargs["input_shape"])},
                    "precision": precision, "keras": keras.__version__, "backend": keras.backend.backend(),
                    "hardware": hardware()},
                   indent=2)
    )

    key = monitor_key(cfg.swa_start > 0)
    best_so_far = max((float(h[key]) for h in history if not np.isnan(float(h[key]))), default=None)
    swa = weight_average(cfg, out, net, kwargs, train_s, val_s) if cfg.swa_start > 0 else None
    callbacks = [
        *([swa] if swa is not None else []),  # first: it adds swa_val_accuracy to the epoch's logs
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=resume),
        keras.callbacks.EarlyStopping(monitor=key, mode="max", patience=cfg.patience),
        Checkpoints(out, net, kwargs, cfg.epochs, seconds, best_so_far, swa),
    ]
    if cfg.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-6))
    weights = class_weights(train_s.y, k, cfg.class_weight)
    sample_weight = None if weights is None else np.array([weights[int(c)] for c in train_s.y], np.float32)
    trainer.fit(
        train_s.x.astype(np.float32), targets(train_s, k, soft), sample_weight=sample_weight,
        batch_size=cfg.batch_size, validation_data=(val_s.x.astype(np.float32), targets(val_s, k)),
        validation_batch_size=256, epochs=cfg.epochs, initial_epoch=initial_epoch, callbacks=callbacks,
        verbose=0, shuffle=True,
    )
    hist = read_history(out)
    best = max(range(len(hist)), key=lambda i: np.nan_to_num(float(hist[i][key]), nan=-1.0))
    seconds = json.loads((out / "state.json").read_text())["train_seconds"]
    summary = {
        "epochs_run": len(hist), "best_epoch": best + 1, "best_val_accuracy": float(hist[best][key]),
        "train_seconds": seconds, "seconds_per_epoch": round(seconds / max(len(hist), 1), 1),
        "parameters": int(net.count_params()),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    log.info("done: best val top-1 %.4f at epoch %d, %.0f s", summary["best_val_accuracy"], best + 1, seconds)
    return out / "best.keras"
