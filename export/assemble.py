"""Assemble trained runs into one inference graph: members, test-time views, temperature fitted on PublicTest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from fer_toolkit.fercore import DataConfig


@dataclass
class Assembly:
    """Trained runs ready to export.

    Attributes:
        reference: the Keras graph with the trained (BatchNorm) members, views and temperature.
        folded: the same graph with BatchNorm folded into the convolutions (what tf2onnx converts).
        config: the data config of the exported input.
        crops: each member's input side (0: the full input); tta, temperature: the graph's settings
            (:func:`fer_toolkit.training.inference.build_inference_model`).
        runs: the member run folders; run_configs: their ``config.json`` contents.
        val_top1_uncalibrated: PublicTest top-1 of the graph (temperature does not change it).
        val_nll: PublicTest NLL (nats) before and after temperature scaling.
    """

    reference: object
    folded: object
    config: DataConfig
    crops: list[int]
    tta: str
    temperature: float
    runs: list[str]
    run_configs: list[dict]
    val_top1: float
    val_nll: dict


def network_kwargs(run_config: dict) -> dict:
    """``build_model`` keyword arguments recorded in a run's ``config.json`` (the network's own input shape)."""
    if "network" in run_config:
        return {**run_config["network"], "input_shape": tuple(run_config["network"]["input_shape"]),
                "widths": tuple(run_config["network"]["widths"])}
    t, d = run_config["train"], DataConfig.from_json(run_config["data_config"])  # runs from before crops existed
    return {"input_shape": d.input_shape, "num_classes": d.num_classes, "widths": tuple(t["widths"]),
            "block_dropout": t["block_dropout"], "head_units": t["head_units"], "head_dropout": t["head_dropout"]}


def load_runs(runs: Sequence[Path]) -> tuple[list[dict], DataConfig, list[int]]:
    """Read the runs' configs and check they can be averaged: they must take the same input (data config);
    their crops may differ (each member sees its own views of that input).

    Returns:
        ``(configs, data config, crops)``: one crop per run (0: the full input).

    Raises:
        FileNotFoundError: a run lacks ``best.keras`` or ``config.json``.
        ValueError: no runs, or runs with different data configs.
    """
    if not runs:
        raise ValueError("export needs at least one run folder")
    cfgs = []
    for run in map(Path, runs):
        for f in ("best.keras", "config.json"):
            if not (run / f).exists():
                raise FileNotFoundError(f"{run / f} not found: run `make train` first")
        cfgs.append(json.loads((run / "config.json").read_text()))
    configs = {json.dumps(c["data_config"], sort_keys=True) for c in cfgs}
    if len(configs) > 1:
        raise ValueError("the runs differ in data config (input size, channels or labels); an ensemble needs "
                         "the same input")
    return cfgs, DataConfig.from_json(cfgs[0]["data_config"]), [int(c["train"].get("crop", 0) or 0) for c in cfgs]


def assemble(runs: Sequence[Path], val_x: np.ndarray, val_y: np.ndarray, tta: str = "none",
             calibrate: bool = True) -> Assembly:
    """Load ``runs/*/best.keras`` as ensemble members, fold BatchNorm, fit the temperature on PublicTest.

    Args:
        val_x: uint8 or float ``(N, H, W, C)`` PublicTest pixels; val_y: int ``(N,)`` labels.
        tta: ``none``, ``flip`` or ``tencrop`` (:func:`fer_toolkit.training.views.view_crops`).
        calibrate: fit temperature scaling (:func:`fer_toolkit.training.calibration.fit_temperature`); else ``T = 1``.

    Raises:
        see :func:`load_runs`.
    """
    import keras

    from fer_toolkit.export.fold import fold_batchnorm
    from fer_toolkit.training.calibration import apply_temperature, fit_temperature, nll
    from fer_toolkit.training.inference import build_inference_model
    from fer_toolkit.training.model import build_model

    keras.config.set_dtype_policy("float32")
    cfgs, config, crops = load_runs(runs)
    members, folded = [], []
    for i, (run, cfg) in enumerate(zip(runs, cfgs)):
        trained = keras.models.load_model(Path(run) / "best.keras")
        kwargs = network_kwargs(cfg)
        member = build_model(**kwargs, name=f"member{i}")
        member.set_weights(trained.get_weights())
        members.append(member)
        folded.append(fold_batchnorm(trained, kwargs, name=f"member{i}"))
    plain = build_inference_model(members, config.input_shape, crops, tta)
    probs = plain.predict(val_x.astype(np.float32), batch_size=256, verbose=0)
    t = fit_temperature(probs, val_y) if calibrate else 1.0
    return Assembly(
        reference=build_inference_model(members, config.input_shape, crops, tta, t),
        folded=build_inference_model(folded, config.input_shape, crops, tta, t),
        config=config, crops=crops, tta=tta, temperature=t, runs=[str(r) for r in runs], run_configs=cfgs,
        val_top1=float((probs.argmax(1) == val_y).mean()),
        val_nll={"before": nll(probs, val_y), "after": nll(apply_temperature(probs, t), val_y)},
    )
