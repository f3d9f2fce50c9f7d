"""Convert trained runs to one ONNX file: fold BatchNorm, tf2onnx, checker, metadata, parity, INT8."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import onnx

from fer_toolkit.export.int8 import export_int8
from fer_toolkit.export.metadata import crop_metadata, report_path, set_metadata
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


def _splits(run_config: dict, data: Path | None):
    from fer_toolkit.training.data import load_data

    t = run_config["train"]
    d = DataConfig.from_json(run_config["data_config"])
    return load_data(Path(data or t["data"]), d.input_size, d.channels, t.get("val_fraction", 0.1), t.get("seed", 0))[1]


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
    With ``int8``, also writes ``<stem>.int8.onnx`` (:func:`fer_toolkit.export.int8.export_int8`), measured on
    PrivateTest where the fp32 file was, else on PublicTest: ``evaluate_test=False`` never reads PrivateTest.

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
