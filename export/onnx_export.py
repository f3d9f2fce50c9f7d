"""Convert trained runs to one ONNX file: fold BatchNorm, tf2onnx, checker, metadata, parity, INT8."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import onnx

from fer_toolkit.fercore import DataConfig

DEFAULT_OPSET = 17  # tf2onnx 1.17 + TF 2.21 convert opsets 13-18 here; 19+ fail


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
    from fer_toolkit.fercore.predictor import Predictor

    ref = keras_model.predict(x.astype(np.float32), batch_size=256, verbose=0)
    got = Predictor(onnx_path).predict(x)
    return {"n": int(len(x)), "top1_agreement": float((ref.argmax(1) == got.argmax(1)).mean()),
            "max_abs_diff": float(np.abs(ref - got).max())}


def report_path(onnx_path: Path) -> Path:
    """``<stem>.export.json`` beside an exported file: everything the export measured (read by the card)."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(onnx_path.name.removesuffix(".onnx") + ".export.json")


def _splits(run_config: dict, data: Path | None):
    from fer_toolkit.training.data import load_data

    t = run_config["train"]
    d = DataConfig.from_json(run_config["data_config"])
    return load_data(Path(data or t["data"]), d.input_size, d.channels, t.get("val_fraction", 0.1), t.get("seed", 0))[1]


def crop_metadata(crops: list[int]) -> str:
    """The ``crop`` metadata value: the members' input side as one number (``"40"``; ``"0"``: the full input)
    where all members share it, else a JSON list with one per member (``"[40, 0, 0]"``)."""
    return str(crops[0]) if len(set(crops)) == 1 else json.dumps(crops)


def export_run(runs, out: Path, data: Path | None = None, opset: int = DEFAULT_OPSET, version: str = "1",
               tta: str = "none", calibrate: bool = True, atol: float = 1e-4, int8: bool = True,
               evaluate_test: bool = True) -> dict:
    """Export one run, or several as an ensemble, to one ONNX file ``out``; check parity; measure it.

    The graph (:func:`fer_toolkit.export.assemble.assemble`) averages the members'
    probabilities over the test-time views ``tta`` and applies temperature
    scaling fitted on PublicTest (the runs' val split). Parity: Keras (BatchNorm
    unfolded) and onnxruntime must agree on every PublicTest top-1 with a max
    absolute probability difference <= ``atol``. With ``evaluate_test`` and a
    test split (PrivateTest), the file is measured there once (top-1, macro-F1,
    ECE, reliability diagram, confusion matrix) and the evaluation is recorded in
    the folder's ledger (:func:`fer_toolkit.export.evaluate.record_evaluation`).

    Metadata written: the data config (``labels``, ``input_size``, ``channels``,
    ``color_mode``, ``pixel_range``, ``layout``), ``members``, ``tta``, ``crop``,
    ``temperature``, ``val_top1_accuracy``, ``training_data``,
    ``test_top1_accuracy`` / ``test_macro_f1`` / ``test_ece`` (where measured),
    ``model_version``, ``exported_at`` (UTC ISO 8601), ``opset`` and ``producer``.
    With ``int8``, also writes ``<stem>.int8.onnx`` (:func:`export_int8`), measured on PrivateTest where the
    fp32 file was, else on PublicTest: ``evaluate_test=False`` never reads PrivateTest.

    Returns:
        the report also written to ``<stem>.export.json``.

    Raises:
        FileNotFoundError: a run has no ``best.keras``.
        ValueError: runs that cannot be averaged, or an unknown ``tta``.
        RuntimeError: parity failed (the file is removed).
    """
    from fer_toolkit.export.assemble import assemble
    from fer_toolkit.export.evaluate import measure, record_evaluation, write_plots

    runs = [Path(runs)] if isinstance(runs, (str, Path)) else [Path(r) for r in runs]
    out = Path(out)
    first = json.loads((runs[0] / "config.json").read_text()) if (runs[0] / "config.json").exists() else None
    if first is None:
        raise FileNotFoundError(f"{runs[0] / 'config.json'} not found: run `make train` first")
    splits = _splits(first, data)
    val = splits["val"]
    a = assemble(runs, val.x, val.y, tta, calibrate)
    proto = to_onnx(a.folded, a.config, opset)
    meta = a.config.to_metadata()
    meta.update({
        "members": json.dumps([r.name for r in runs]), "tta": a.tta, "crop": crop_metadata(a.crops),
        "temperature": f"{a.temperature:.4f}", "val_top1_accuracy": f"{a.val_top1:.4f}",
        "training_data": f"{Path(first['train']['data']).name}: "
                         + ", ".join(f"{k} {v}" for k, v in first["counts"].items()),
        "model_version": version, "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "opset": str(opset), "producer": "fer-toolkit export (tf2onnx, BatchNorm folded)",
    })
    set_metadata(proto, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, out)
    check = parity(a.reference, out, val.x)
    if check["top1_agreement"] < 1.0 or check["max_abs_diff"] > atol:
        out.unlink()
        raise RuntimeError(f"parity failed on {check['n']} val images: top-1 agreement "
                           f"{check['top1_agreement']:.4%}, max |dp| {check['max_abs_diff']:.2e} > {atol}")
    report = {"onnx_path": str(out), "members": [str(r) for r in runs], "tta": a.tta, "crops": a.crops,
              "temperature": a.temperature, "val": {"n": len(val), "top1_accuracy": a.val_top1, "nll": a.val_nll},
              "parity": {**check, "split": "val"}, "opset": opset, "data": str(data or first["train"]["data"])}
    if evaluate_test and "test" in splits:
        test = splits["test"]
        metrics, probs = measure(out, test.x, test.y)
        prefix = out.with_name(out.name.removesuffix(".onnx"))
        report["test"] = {**metrics, "plots": write_plots(probs, test.y, metrics, prefix, "test")}
        report["privatetest_evaluations"] = record_evaluation(out, metrics, f"export of {out.name}")
        set_metadata(proto, {"test_top1_accuracy": f"{metrics['top1_accuracy']:.4f}",
                             "test_macro_f1": f"{metrics['macro_f1']:.4f}", "test_ece": f"{metrics['ece']:.4f}",
                             "test_split": f"test ({metrics['n']} images)"})
        onnx.save(proto, out)
    if int8:  # measured where the fp32 file was: PrivateTest only when this export evaluates it, else PublicTest
        report["int8"] = export_int8(out, splits["train"].x, test if "test" in report else val)
    report_path(out).write_text(json.dumps(report, indent=2))
    return report


def requantize(fp32: Path, data: Path | None = None) -> dict:
    """Re-write only the INT8 model of an existing export and record it in ``<stem>.export.json``.

    Needs no TensorFlow: the data come from the export report (or ``data``).

    Raises:
        FileNotFoundError: ``fp32`` or its export report is missing.
    """
    from fer_toolkit.training.data import load_data

    fp32 = Path(fp32)
    for needed in (fp32, report_path(fp32)):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} not found: run `make export` first")
    report = json.loads(report_path(fp32).read_text())
    from fer_toolkit.fercore.predictor import Predictor

    config = Predictor(fp32).config
    splits = load_data(Path(data or report["data"]), config.input_size, config.channels)[1]
    report["int8"] = export_int8(fp32, splits["train"].x, splits.get("test", splits["val"]))
    report_path(fp32).write_text(json.dumps(report, indent=2))
    return report


def export_int8(fp32: Path, train_x: np.ndarray, split, n_calib: int = 500) -> dict:
    """Write ``<fp32 stem>.int8.onnx`` (static QDQ, :mod:`fer_toolkit.export.quantize`) and measure it against ``fp32``.

    Args:
        fp32: an ONNX file written by :func:`export_run`.
        train_x: uint8 ``(N, H, W, C)`` training images; ``n_calib`` of them (seed 0) calibrate.
        split: the :class:`fer_toolkit.training.data.Split` to measure on (PrivateTest where present).

    Returns:
        ``{"path", "n", "top1_accuracy", "macro_f1", "ece", "fp32_top1_accuracy",
        "top1_agreement_with_fp32", "calibration_images", "size_bytes",
        "images_per_second_batch256": {"fp32", "int8"}}`` (throughput measured side by
        side on 256 split images, best of 5 interleaved rounds, onnxruntime's default
        threads); top-1, macro-F1 and ECE go into the INT8 file's metadata.
    """
    from fer_toolkit.export.evaluate import measure
    from fer_toolkit.export.quantize import quantize_int8
    from fer_toolkit.fercore.predictor import Predictor

    fp32 = Path(fp32)
    ref = Predictor(fp32)
    idx = np.sort(np.random.default_rng(0).choice(len(train_x), size=min(n_calib, len(train_x)), replace=False))
    path = quantize_int8(fp32, fp32.with_name(fp32.name.removesuffix(".onnx") + ".int8.onnx"), train_x[idx])
    q = Predictor(path)
    m, probs8 = measure(path, split.x, split.y)
    p32 = ref.predict(split.x).argmax(1)
    proto = onnx.load(path)
    set_metadata(proto, {"test_top1_accuracy": f"{m['top1_accuracy']:.4f}", "test_macro_f1": f"{m['macro_f1']:.4f}",
                         "test_ece": f"{m['ece']:.4f}"})
    onnx.save(proto, path)
    return {"path": str(path), "n": int(len(split)), "top1_accuracy": m["top1_accuracy"], "macro_f1": m["macro_f1"],
            "ece": m["ece"], "fp32_top1_accuracy": float((p32 == split.y).mean()),
            "top1_agreement_with_fp32": float((probs8.argmax(1) == p32).mean()),
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
