"""Recover the Keras run of an ONNX file exported by this project, to export it again (new TTA, calibration).

An export holds the network's weights with BatchNorm folded into each Conv (:mod:`fer_toolkit.export.fold`).
:func:`recover_run` rebuilds :func:`fer_toolkit.training.model.build_model` from the file's initializers and
metadata; each BatchNorm is given the statistics of its Conv's output on training images and the scale and
shift that make it the identity plus the folded bias at inference (:func:`set_batchnorm_statistics`), so folding
it again gives back the same Conv weights and training it further (``fer-toolkit train --init``) starts from
the same network. The recovered network, with the file's temperature applied, must reproduce the file on real
images (top-1 on every image, max |dp| <= 1e-4) or nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

_CONV = re.compile(r"/(block\d+_conv\d+)(?:_\d+)?/convolution/ReadVariableOp")
_CONV_BIAS = re.compile(r"/(block\d+_conv\d+)(?:_\d+)?/Squeeze")
_DENSE = re.compile(r"/(head_dense|logits)(?:_\d+)?/Cast/ReadVariableOp")
_DENSE_BIAS = re.compile(r"/(head_dense|logits)(?:_\d+)?/BiasAdd/ReadVariableOp")


def onnx_weights(proto: onnx.ModelProto) -> dict[str, list[np.ndarray]]:
    """Keras-layout weights by layer name: Conv ``[kernel (3, 3, in, out), bias (out,)]``, Dense
    ``[kernel (in, out), bias (out,)]``, float32.

    Raises:
        ValueError: the graph is not a single network exported from ``build_model``.
    """
    found: dict[str, dict[str, np.ndarray]] = {}
    for init in proto.graph.initializer:
        for pattern, slot, to_keras in ((_CONV, "kernel", lambda w: w.transpose(2, 3, 1, 0)),
                                        (_CONV_BIAS, "bias", lambda w: w), (_DENSE, "kernel", lambda w: w),
                                        (_DENSE_BIAS, "bias", lambda w: w)):
            m = pattern.search(init.name)
            if m:
                found.setdefault(m.group(1), {})[slot] = to_keras(numpy_helper.to_array(init)).astype(np.float32)
    if "logits" not in found or "block1_conv1" not in found or any(len(v) != 2 for v in found.values()):
        raise ValueError("not a single network exported by fer-toolkit (no block/logits weights found)")
    return {name: [w["kernel"], w["bias"]] for name, w in found.items()}


def set_batchnorm_statistics(net, x: np.ndarray, batch: int = 256) -> None:
    """Give each identity BatchNorm of a recovered ``net`` the statistics of its Conv's output on ``x``, in place,
    without changing what the network computes at inference.

    With ``mu``, ``var`` the per-channel mean and variance of Conv output ``z`` on ``x``, the BatchNorm gets
    ``moving_mean = mu``, ``moving_var = var``, ``gamma = sqrt(var + eps)``, ``beta = mu + b``. Inference gives
    ``z + b`` as before, and folding gives back the same Conv weights; in training mode, where BatchNorm uses the
    batch's own statistics, the network then starts from (about) the same function instead of from a
    normalisation that undoes the folded scales.

    Args:
        net: a network from :func:`recover_run` (every BatchNorm ``gamma = 1``, ``mean = 0``, ``beta = b``).
        x: float32 ``(N, H, W, C)`` pixels 0..255, e.g. a few thousand training images.
    """
    import keras

    from fer_toolkit.training.swa import channel_moments

    convs = [layer for layer in net.layers if isinstance(layer, keras.layers.Conv2D)]
    moments = channel_moments(keras.Model(net.input, [layer.output for layer in convs]), x, batch)
    for conv, (mu, var) in zip(convs, moments):
        bn = net.get_layer(conv.name.replace("_conv", "_bn"))
        bias = bn.get_weights()[1]
        bn.set_weights([np.sqrt(var + bn.epsilon).astype(np.float32), (mu + bias).astype(np.float32),
                        mu.astype(np.float32), var.astype(np.float32)])


def _beside(folder: Path, member: str | None) -> tuple[dict, dict | None]:
    """The training options and summary saved beside a single network's export (``{"train": {}}``, None if absent)."""
    config, summary = folder / "training_config.json", folder / "train_summary.json"
    if member is not None or not config.exists() or not summary.exists():
        return {"train": {}}, None
    return json.loads(config.read_text()), json.loads(summary.read_text())


def recover_run(onnx_path: Path, out: Path, data: Path, atol: float = 1e-4, stats_images: int = 8192,
                member: str | None = None) -> Path:
    """Write a run folder ``out`` (``best.keras``, ``config.json``, ``train_summary.json``) that
    :func:`fer_toolkit.export.onnx_export.export_run` can export again.

    The training options and summary come from ``training_config.json`` / ``train_summary.json`` beside
    ``onnx_path`` only where they describe this network: the summary's best PublicTest top-1 is the recovered
    network's own, to one image (``models/`` holds v2 base's beside the student, which must not inherit them).
    Otherwise ``config.json`` records the architecture only, ``recovered_from["recipe"]`` is None, and the card
    of a new export says the recipe is not known (:mod:`fer_toolkit.export.card`).

    Args:
        onnx_path: an export of one member without test-time views, with or without a crop (its temperature,
            if any, is dropped: the recovered run is the bare network, to calibrate again on export).
        data: the data it was trained on (folder tree or ``.npz``): its PublicTest split checks the recovery,
            and ``stats_images`` random images of its training split give the BatchNorm statistics
            (:func:`set_batchnorm_statistics`), so the recovered network can also be trained further (``--init``).
        member: with an ensemble file, with or without test-time views, the member to recover (its name in the
            ``members`` metadata, or its index): it is cut out first
            (:func:`fer_toolkit.export.members.extract_member`; in a file with views, its pass over the first
            view) and checked against its own softmax in the file.

    Returns:
        ``out / "best.keras"``.

    Raises:
        FileNotFoundError: no such file. ValueError: not a plain export of ``build_model``.
        RuntimeError: the recovered network does not reproduce the file.
    """
    import keras

    from fer_toolkit.fercore.predictor import Predictor
    from fer_toolkit.training.calibration import apply_temperature
    from fer_toolkit.training.config import TrainConfig
    from fer_toolkit.training.data import load_data
    from fer_toolkit.training.inference import centre_crop
    from fer_toolkit.training.model import build_model

    onnx_path, out = Path(onnx_path), Path(out)
    if member is None:
        predictor, proto = Predictor(onnx_path), onnx.load(onnx_path)
    else:
        from fer_toolkit.export.members import extract_member

        with tempfile.TemporaryDirectory() as tmp:
            cut = extract_member(onnx_path, member, Path(tmp) / "member.onnx")
            predictor, proto = Predictor(cut), onnx.load(cut)
    meta = predictor.metadata
    if len(json.loads(meta.get("members", "[1]"))) != 1 or meta.get("tta", "none") != "none":
        raise ValueError(f"{onnx_path.name} has several members or test-time views: recover one member "
                         "(--member NAME)")
    temperature = float(meta.get("temperature", 1.0))
    weights = onnx_weights(proto)
    n_blocks = sum(name.endswith("_conv1") for name in weights)
    widths = tuple(int(weights[f"block{b}_conv1"][0].shape[-1]) for b in range(1, n_blocks + 1))
    config = predictor.config
    beside = onnx_path.parent  # the files beside a single network's export; a member's recipe is in its ensemble's card
    saved, summary = _beside(beside, member)
    fields = set(TrainConfig.__dataclass_fields__)
    train = TrainConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in saved["train"].items()
                           if k in fields})
    crop = int(meta.get("crop", 0) or 0)
    train.data, train.out, train.crop, train.widths = str(data), str(out), crop, widths
    train.head_units = int(weights["head_dense"][0].shape[1])
    net_shape = (crop, crop, config.channels) if crop else config.input_shape
    kwargs = {"input_shape": net_shape, "num_classes": config.num_classes, "widths": widths,
              "block_dropout": train.block_dropout, "head_units": train.head_units, "head_dropout": train.head_dropout}
    keras.config.set_dtype_policy("float32")
    net = build_model(**kwargs)
    for layer in net.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            kernel, bias = weights[layer.name]
            layer.set_weights([kernel] if isinstance(layer, keras.layers.Conv2D) else [kernel, bias])
        elif isinstance(layer, keras.layers.BatchNormalization):
            bias = weights[layer.name.replace("_bn", "_conv")][1]
            layer.set_weights([np.ones_like(bias), bias, np.zeros_like(bias),
                               np.full_like(bias, 1.0 - layer.epsilon)])
    data_config, splits = load_data(Path(data), config.input_size, config.channels, train.val_fraction, train.seed)
    if list(data_config.labels) != list(config.labels):
        raise ValueError(f"the data's classes {data_config.labels} differ from the model's {config.labels}")
    train_x = splits["train"].x  # may be sorted by class: take a seeded random sample
    sample = np.random.default_rng(0).permutation(len(train_x))[:stats_images]
    set_batchnorm_statistics(net, centre_crop(train_x[np.sort(sample)], crop))
    val = splits["val"]
    ref = predictor.predict(val.x)
    got = apply_temperature(net.predict(centre_crop(val.x, crop), batch_size=256, verbose=0), temperature)
    agree, diff = float((ref.argmax(1) == got.argmax(1)).mean()), float(np.abs(ref - got).max())
    if agree < 1.0 or diff > atol:
        raise RuntimeError(f"recovery failed: top-1 agreement {agree:.4%}, max |dp| {diff:.1e} on {len(val)} images")
    top1 = float((got.argmax(1) == val.y).mean())
    if summary is None or abs(summary.get("best_val_accuracy", -1.0) - top1) > 0.5 / len(val):
        if saved["train"]:  # another network's files: keep the architecture, not their options
            train = TrainConfig(data=str(data), out=str(out), crop=crop, widths=widths, head_units=train.head_units)
        saved, summary = {"train": {}}, None
    out.mkdir(parents=True, exist_ok=True)
    net.save(out / "best.keras")
    counts = {k: len(v) for k, v in splits.items()}
    network = {**kwargs, "input_shape": list(kwargs["input_shape"])}
    (out / "config.json").write_text(json.dumps(
        {"train": asdict(train), "data_config": data_config.to_json(), "counts": counts, "network": network,
         "keras": keras.__version__, "hardware": saved.get("hardware", "n/a"),
         "recovered_from": {"file": onnx_path.name, "model_version": meta.get("model_version"),
                            "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
                            "member": member, "temperature_dropped": temperature,
                            "recipe": "training_config.json beside the file" if saved["train"] else None,
                            "val_top1_agreement": agree, "val_max_abs_diff": diff}},
        indent=2))
    if summary is not None:
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return out / "best.keras"
