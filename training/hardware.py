"""What trains a run: the accelerator, the CPU's name, and the Keras precision policy that ``auto`` resolves to."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import keras


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


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy for ``precision``; ``auto`` is ``mixed_bfloat16`` on a GPU or a CPU with native
    bf16, else ``float32``.

    Measured with the 1.24M network at 40 px, batch 64: on a 2-core EPYC with AVX-512 BF16, bf16 was 1.37x
    faster than fp32 (``../shared/notes/measured.md``); on a 2-core EPYC with AVX2 only, bf16 is emulated and
    was 6.4x slower (4,372 vs 684 ms per step).
    """
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if accelerator() or native_bf16() else "float32"
