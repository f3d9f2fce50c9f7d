"""Per-face inference: Keras (the seeds' ``model.predict`` path and a compiled call) vs onnxruntime fp32/INT8."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.common import p50_p95, timeit


def throughput(fn, x: np.ndarray, repeat: int = 5) -> float:
    """Images per second of ``fn(x)`` (best of ``repeat`` after one warm-up)."""
    fn(x)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - t0)
    return len(x) / best


def keras_model(keras_path: Path, run_config: Path):
    """The Keras model to time as the seeds' path, and a note on where it came from.

    ``keras_path`` (the trained run's ``best.keras``) where it exists; otherwise the
    same architecture built from the shipped ``training_config.json`` with untrained
    weights: the same layers and FLOPs, so the same time per call.

    Returns:
        ``(model, note)``, or ``(None, reason)`` when neither is available.
    """
    import keras

    if keras_path.exists():
        return keras.models.load_model(keras_path), f"`{keras_path.name}`, the trained Keras model"
    if not run_config.exists():
        return None, f"skipped: neither {keras_path} nor {run_config} exists"
    import json

    from fer_toolkit.export.assemble import network_kwargs
    from fer_toolkit.training.model import build_model

    model = build_model(**network_kwargs(json.loads(run_config.read_text())))
    return model, (f"{keras_path} is absent (it is not shipped), so the Keras rows time the same architecture built "
                   f"from `{run_config.name}` with untrained weights (same layers, same FLOPs)")


def run(model, onnx_path: Path, int8_path: Path | None, x: np.ndarray, n1: int = 200) -> list[dict]:
    """One row per engine: batch-1 p50/p95 ms and batch-256 images/s.

    Args:
        model: a Keras model for the Keras rows (see :func:`keras_model`), or None to skip them.
        x: real faces, uint8 ``(N >= 256, H, W, C)``.
    """
    from fer_toolkit.fercore.predictor import Predictor

    x = x.astype(np.float32)
    one, big = x[:1], x[:256]
    rows = []
    if model is not None:
        import tensorflow as tf

        ms = timeit(lambda: model.predict(one, verbose=0), max(20, n1 // 10))
        rows.append({"engine": "Keras model.predict (seeds' path)", "p50": p50_p95(ms)[0], "p95": p50_p95(ms)[1],
                     "ips": throughput(lambda a: model.predict(a, batch_size=256, verbose=0), big)})
        fn = tf.function(lambda a: model(a, training=False), reduce_retracing=True)
        ms = timeit(lambda: fn(tf.constant(one)), n1)
        rows.append({"engine": "Keras compiled call (tf.function)", "p50": p50_p95(ms)[0], "p95": p50_p95(ms)[1],
                     "ips": throughput(lambda a: fn(tf.constant(a)).numpy(), big)})
    for name, path in (("onnxruntime fp32", onnx_path), ("onnxruntime INT8 (QDQ)", int8_path)):
        if path is None or not path.exists():
            continue
        p = Predictor(path)
        ms = timeit(lambda p=p: p.predict(one), n1 * 5)
        rows.append({"engine": name, "p50": p50_p95(ms)[0], "p95": p50_p95(ms)[1], "ips": throughput(p.predict, big)})
    return rows


def nchw_variant(path: Path, out: Path) -> Path | None:
    """Write ``path`` with an NCHW input: the NHWC->NCHW ``Reshape``/``Transpose`` tf2onnx put first is removed.

    Scalar ``Mul``/``Add`` nodes before it (the input ``Rescaling``) are layout-free and stay.

    Returns:
        ``out``, or None when no such layout op follows the input.
    """
    import onnx

    from fer_toolkit.export.graph import bypass

    proto = onnx.load(path)
    g = proto.graph
    current = g.input[0].name
    first = next(n for n in g.node if current in n.input)
    while first.op_type in ("Mul", "Add"):
        current = first.output[0]
        first = next(n for n in g.node if current in n.input)
    if first.op_type not in ("Reshape", "Transpose"):
        return None
    dims = g.input[0].type.tensor_type.shape.dim  # (batch, H, W, C) -> (batch, C, H, W)
    h, w, c = (d.dim_value for d in dims[1:])
    for d, v in zip(dims[1:], (c, h, w)):
        d.dim_value = v
    bypass(g, first, current)
    onnx.save(proto, out)
    return out


def session_sweep(paths: dict[str, Path], x: np.ndarray, threads: tuple[int, ...] = (1, 2)) -> list[dict]:
    """Batch-256 images/s of each model under each graph optimization level and intra-op thread count.

    Args:
        paths: ``{name: ONNX file}``; a name containing "NCHW" gets ``x`` transposed to NCHW.
        x: real faces ``(256, H, W, C)``.

    Returns:
        rows ``{"model", "level", "threads", "ips"}``.
    """
    import onnxruntime as ort

    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    x = x.astype(np.float32)
    rows = []
    for name, path in paths.items():
        for level, value in levels.items():
            for n in threads:
                opts = ort.SessionOptions()
                opts.graph_optimization_level, opts.intra_op_num_threads = value, n
                s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                xi = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if "NCHW" in name else x
                feed = s.get_inputs()[0].name
                rows.append({"model": name, "level": level, "threads": n,
                             "ips": throughput(lambda a, s=s, f=feed: s.run(None, {f: a}), xi)})
    return rows
