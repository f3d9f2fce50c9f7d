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


def run(keras_path: Path | None, onnx_path: Path, int8_path: Path | None, x: np.ndarray, n1: int = 200) -> list[dict]:
    """One row per engine: batch-1 p50/p95 ms and batch-256 images/s.

    Args:
        x: real faces, uint8 ``(N >= 256, H, W, C)``.
    """
    from fercore.predictor import Predictor

    x = x.astype(np.float32)
    one, big = x[:1], x[:256]
    rows = []
    if keras_path is not None and keras_path.exists():
        import keras
        import tensorflow as tf

        model = keras.models.load_model(keras_path)
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
