"""Convert a trained run to ONNX: fold BatchNorm, tf2onnx, checker, metadata, parity."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import onnx

from fercore import DataConfig

DEFAULT_OPSET = 17  # tf2onnx 1.17 + TF 2.21 convert opsets 13-18 here; 19+ fail


def build_kwargs(run_config: dict) -> dict:
    """``build_model`` keyword arguments recorded in a run's ``config.json``."""
    t, d = run_config["train"], DataConfig.from_json(run_config["data_config"])
    return {"input_shape": d.input_shape, "num_classes": d.num_classes, "widths": tuple(t["widths"]),
            "block_dropout": t["block_dropout"], "head_units": t["head_units"], "head_dropout": t["head_dropout"]}


def to_onnx(model, config: DataConfig, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """tf2onnx conversion with a float32 NHWC input ``pixels`` (values 0..255) and batch dim ``batch``.

    Raises:
        onnx.checker.ValidationError: the converted graph is invalid.
    """
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, *config.input_shape), tf.float32, name="pixels"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    for value in list(proto.graph.input) + list(proto.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if not dim.HasField("dim_value"):
            dim.dim_param = "batch"
    onnx.checker.check_model(proto)
    return proto


def set_metadata(proto: onnx.ModelProto, meta: dict[str, str]) -> None:
    """Replace ``metadata_props`` entries with ``meta`` (string keys and values)."""
    keep = [p for p in proto.metadata_props if p.key not in meta]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=str(v))


def parity(keras_model, onnx_path: Path, x: np.ndarray) -> dict:
    """Compare Keras and onnxruntime on the same real images.

    Args:
        x: uint8 or float ``(N, H, W, C)`` pixels 0..255.

    Returns:
        ``{"n", "top1_agreement", "max_abs_diff"}``; the export contract is
        agreement 1.0 and max absolute probability difference <= 1e-4.
    """
    from fercore.predictor import Predictor

    ref = keras_model.predict(x.astype(np.float32), batch_size=256, verbose=0)
    got = Predictor(onnx_path).predict(x)
    return {"n": int(len(x)), "top1_agreement": float((ref.argmax(1) == got.argmax(1)).mean()),
            "max_abs_diff": float(np.abs(ref - got).max())}


def export_run(run: Path, out: Path, data: Path | None = None, opset: int = DEFAULT_OPSET,
               version: str = "1", parity_split: str = "test", atol: float = 1e-4, int8: bool = True) -> dict:
    """Export ``run/best.keras`` to ``out`` (ONNX) and check parity on real images.

    Metadata written: the data config (``labels``, ``input_size``, ``channels``,
    ``color_mode``, ``pixel_range``, ``layout``), ``training_data``,
    ``test_top1_accuracy`` / ``test_macro_f1`` (from ``run/metrics_test.json``
    where present), ``model_version``, ``exported_at`` (UTC ISO 8601), ``opset``
    and ``producer``.

    With ``int8``, also writes ``<out stem>.int8.onnx`` with :func:`export_int8`.

    Returns:
        the parity report plus ``onnx_path`` (and ``int8``).

    Raises:
        FileNotFoundError: the run has no ``best.keras``.
        RuntimeError: parity failed (the file is removed).
    """
    import keras

    from export.fold import fold_batchnorm
    from training.data import load_split

    run, out = Path(run), Path(out)
    if not (run / "best.keras").exists():
        raise FileNotFoundError(f"{run / 'best.keras'} not found: run `make train` first")
    run_cfg = json.loads((run / "config.json").read_text())
    config = DataConfig.from_json(run_cfg["data_config"])
    model = keras.models.load_model(run / "best.keras")
    folded = fold_batchnorm(model, build_kwargs(run_cfg))
    proto = to_onnx(folded, config, opset)
    meta = config.to_metadata()
    metrics_path = run / "metrics_test.json"
    if metrics_path.exists():
        m = json.loads(metrics_path.read_text())
        meta.update({"test_top1_accuracy": f"{m['top1_accuracy']:.4f}", "test_macro_f1": f"{m['macro_f1']:.4f}",
                     "test_split": f"{m['data']}/test ({m['n']} images)"})
    meta.update({
        "training_data": f"{Path(run_cfg['train']['data']).name}: "
                         + ", ".join(f"{k} {v}" for k, v in run_cfg["counts"].items()),
        "model_version": version, "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "opset": str(opset), "producer": "fer-toolkit export (tf2onnx, BatchNorm folded)",
    })
    set_metadata(proto, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, out)

    root = Path(data or run_cfg["train"]["data"])
    split_dir = root / parity_split if (root / parity_split).is_dir() else root / "val"
    split = load_split(split_dir, config, root)
    report = parity(model, out, split.x)
    if report["top1_agreement"] < 1.0 or report["max_abs_diff"] > atol:
        out.unlink()
        raise RuntimeError(f"parity failed on {report['n']} {split_dir.name} images: top-1 agreement "
                           f"{report['top1_agreement']:.4%}, max |dp| {report['max_abs_diff']:.2e} > {atol}")
    report.update({"onnx_path": str(out), "parity_split": split_dir.name, "opset": opset})
    if int8:
        report["int8"] = export_int8(out, root, split_dir.name)
    (run / "export_parity.json").write_text(json.dumps(report, indent=2))
    return report


def requantize_run(run: Path, fp32: Path, data: Path | None = None) -> dict:
    """Re-write only the INT8 model of an existing export and record it in ``run/export_parity.json``.

    Runs :func:`export_int8` on ``fp32`` with the run's data folder (or ``data``)
    and the split the fp32 parity check used; the fp32 file is not touched.

    Returns:
        the updated parity report.

    Raises:
        FileNotFoundError: ``fp32`` or ``run/export_parity.json`` is missing.
    """
    run, fp32 = Path(run), Path(fp32)
    for needed in (fp32, run / "export_parity.json"):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} not found: run `make export` first")
    report = json.loads((run / "export_parity.json").read_text())
    root = Path(data or json.loads((run / "config.json").read_text())["train"]["data"])
    report["int8"] = export_int8(fp32, root, report["parity_split"])
    (run / "export_parity.json").write_text(json.dumps(report, indent=2))
    return report


def export_int8(fp32: Path, data: Path, split_name: str = "test", n_calib: int = 500) -> dict:
    """Write ``<fp32 stem>.int8.onnx`` (static QDQ, :mod:`export.quantize`) and measure it against ``fp32``.

    Needs no TensorFlow: the data config comes from the fp32 file's metadata.

    Args:
        fp32: an ONNX file written by :func:`export_run`.
        data: a folder tree with ``train/`` (calibration: ``n_calib`` images drawn
            with seed 0) and ``split_name/`` (evaluation).

    Returns:
        ``{"path", "split", "n", "top1_accuracy", "macro_f1", "fp32_top1_accuracy",
        "top1_agreement_with_fp32", "calibration_images", "size_bytes",
        "images_per_second_batch256": {"fp32", "int8"}}`` (throughput measured side by
        side on 256 split images, best of 5 interleaved rounds, onnxruntime's default
        threads); the top-1 and macro-F1 go into the INT8 file's metadata when the
        split is ``test``.

    Raises:
        training.data.DataError: a split folder is missing or empty.
    """
    from export.quantize import quantize_int8
    from fercore.predictor import Predictor
    from training.data import load_split
    from training.metrics import classification_metrics

    fp32, data = Path(fp32), Path(data)
    ref = Predictor(fp32)
    config = ref.config
    split = load_split(data / split_name, config, data)
    train = load_split(data / "train", config, data)
    idx = np.sort(np.random.default_rng(0).choice(len(train), size=min(n_calib, len(train)), replace=False))
    path = quantize_int8(fp32, fp32.with_suffix(".int8.onnx"), train.x[idx])
    q = Predictor(path)
    probs8 = q.predict(split.x)
    p32, p8 = ref.predict(split.x).argmax(1), probs8.argmax(1)
    top1 = float((p8 == split.y).mean())
    macro_f1 = classification_metrics(split.y, probs8, config.labels)["macro_f1"]
    proto = onnx.load(path)
    set_metadata(proto, {"test_top1_accuracy": f"{top1:.4f}", "test_macro_f1": f"{macro_f1:.4f}"}
                 if split_name == "test" else {})
    onnx.save(proto, path)
    return {"path": str(path), "split": split_name, "n": int(len(split)), "top1_accuracy": top1, "macro_f1": macro_f1,
            "fp32_top1_accuracy": float((p32 == split.y).mean()), "top1_agreement_with_fp32": float((p8 == p32).mean()),
            "calibration_images": int(len(idx)), "size_bytes": path.stat().st_size,
            "images_per_second_batch256": _side_by_side_throughput({"fp32": ref, "int8": q}, split.x[:256])}


def _side_by_side_throughput(predictors: dict, x: np.ndarray, rounds: int = 5) -> dict[str, float]:
    """Images/s of each predictor on batch ``x``: best of ``rounds`` interleaved rounds (default session options)."""
    import time

    best = dict.fromkeys(predictors, float("inf"))
    for p in predictors.values():
        p.predict(x)  # warm-up
    for _ in range(rounds):
        for name, p in predictors.items():
            t0 = time.perf_counter()
            p.predict(x)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: round(len(x) / t, 1) for name, t in best.items()}
