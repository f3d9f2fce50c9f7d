"""What trains a run: the accelerator, the CPU's name, and the Keras precision policy that ``auto`` resolves to."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import keras

log = logging.getLogger(__name__)


def accelerator() -> str | None:
    """Name of the GPU the Keras backend trains on, or None on CPU."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        dev = jax.devices()[0]
        return dev.device_kind if dev.platform == "gpu" else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else None


def hardware() -> str:
    """What trains: e.g. ``"AMD EPYC ... (2 cores, no GPU used)"`` or the GPU's name."""
    gpu = accelerator()
    if gpu:
        return gpu
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores, no GPU used)"


def native_bf16() -> bool:
    """True where this CPU computes bf16 natively (``avx512_bf16`` or ``amx_bf16`` in ``/proc/cpuinfo``)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def step_seconds(precision: str, network: dict, batch: int = 64, steps: int = 4) -> float:
    """Seconds per SGD training step of ``build_model(**network)`` under the Keras dtype policy ``precision``, on
    random float32 pixels ``(batch, *input_shape)``: the median of ``steps`` steps after one traced warm-up step.
    The global dtype policy is restored afterwards."""
    import time

    import numpy as np

    from fer_toolkit.training.model import build_model

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        net = build_model(**network)
        net.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (batch, *network["input_shape"])).astype(np.float32)
        y = rng.integers(0, network["num_classes"], batch)
        net.train_on_batch(x, y)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            net.train_on_batch(x, y)
            times.append(time.perf_counter() - t0)
        return float(np.median(times))
    finally:
        keras.config.set_dtype_policy(before)


def resolve_precision(precision: str, network: dict | None = None) -> str:
    """The Keras dtype policy for ``precision``.

    ``auto`` is ``mixed_bfloat16`` on a GPU and ``float32`` on a CPU without native bf16. On a CPU with native
    bf16 (``avx512_bf16``, ``amx_bf16``) the speed depends on the CPU, so with ``network`` (``build_model``
    keyword arguments) both policies are timed side by side (:func:`step_seconds`) and the faster one is taken;
    without it, ``mixed_bfloat16``. (bf16 was faster than fp32 on one CPU with native bf16 and slower on another;
    without native bf16 it is emulated and much slower: ``docs/history.md``.)
    """
    if precision != "auto":
        return precision
    if accelerator():
        return "mixed_bfloat16"
    if not native_bf16():
        return "float32"
    if network is None:
        return "mixed_bfloat16"
    timed = {p: step_seconds(p, network) for p in ("float32", "mixed_bfloat16")}
    log.info("precision auto: %s", ", ".join(f"{p} {t * 1000:.0f} ms/step" for p, t in timed.items()))
    return min(timed, key=timed.get)
