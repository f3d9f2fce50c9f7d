"""Timing helpers and real test inputs for the benchmarks."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NPZ = ROOT.parent / "shared" / "data" / "fer2013.npz"
ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"


def timeit(fn: Callable[[], object], n: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of ``n`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p50_p95(ms: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of a list of milliseconds."""
    q = statistics.quantiles(ms, n=20, method="inclusive")
    return statistics.median(ms), q[18]


def photo_640x480(path: Path) -> Path:
    """A real 640x480 JPEG photo with one face: the demo's astronaut, padded and scaled."""
    img = Image.open(ASTRONAUT).convert("RGB")
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(img.resize((480, 480)), (80, 0))
    canvas.save(path, quality=90)
    return path


def fer_crop(path: Path) -> Path:
    """A real 48x48 PrivateTest face saved as PNG (from the shared npz; a sample file if present)."""
    sample = NPZ.parent / "samples" / "happy_1.png"
    if sample.exists():
        Image.open(sample).save(path)
    else:
        with np.load(NPZ) as d:
            Image.fromarray(d["x_test"][0]).save(path)
    return path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The machine a benchmark ran on, for BENCHMARKS.md: CPU model, cores and the flags INT8 speed depends on."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        flags = []
    named = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "VNNI", "avx512_bf16": "BF16", "amx_int8": "AMX"}
    has = [v for k, v in named.items() if k in flags]
    return f"{cpu_model()}, {os.cpu_count()} cores" + (f" ({', '.join(has)})" if has else "")


def replace_block(text: str, name: str, lines: list[str]) -> str:
    """``text`` with the block between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced by ``lines``
    (appended where the markers are absent): each benchmark run replaces its own section of BENCHMARKS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = "\n".join([start, *lines, end])
    if start in text and end in text:
        before, rest = text.split(start, 1)
        return before + block + rest.split(end, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def group_rss_mb(pgid: int, field: str = "VmHWM") -> float:
    """Largest ``field`` of ``/proc/<pid>/status`` (``VmHWM``: peak resident set; ``VmRSS``: current) among the
    processes of process group ``pgid``, in MiB."""
    peak = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak / 1024
