"""``python -m bench.workers_layout [MODEL ...]``: batch-256 throughput in the workers' own layout.

A Celery worker host runs ``--processes`` worker processes (``CONCURRENCY``, default the core count), each with
one onnxruntime intra-op thread (``SCORER_ORT_THREADS=1``) scoring batches of 256. This benchmark starts that
many plain processes (no broker, no image decoding: the model alone), each with its own
:class:`~fer_toolkit.fercore.predictor.Predictor`; they start their timed batches together and the figure is
all their images over the slowest one's time. Beside it, in the same run, one process with ``--processes``
onnxruntime threads (``bench.shipped``'s layout) scores the same batches. Best of ``--repeats``, per file.
Default files: the shipped INT8 twins, which a role (``SCORER_MODEL=balanced``) names.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from pathlib import Path

import numpy as np

from bench.common import NPZ, cpu_model
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_int
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.models import HERE, NAMES

BATCH = 256


def _score(path: str, x: np.ndarray, rounds: int, threads: int, start, results) -> None:
    predictor = Predictor(path, intra_op_threads=threads)
    predictor.predict(x)  # warm-up: session initialisation and first-call allocations are not timed
    start.wait()
    t0 = time.perf_counter()
    for _ in range(rounds):
        predictor.predict(x)
    results.put(time.perf_counter() - t0)


def images_per_second(path: Path, x: np.ndarray, processes: int, threads: int, rounds: int) -> float:
    """Images/s of ``processes`` processes with ``threads`` onnxruntime threads each, each scoring ``rounds``
    batches ``x`` (float32 NHWC pixels 0..255) from a common start: all their images over the slowest's seconds.

    Raises:
        RuntimeError: a process failed (its exit code is in the message); the others are terminated.
    """
    ctx = mp.get_context("spawn")  # no onnxruntime or thread-pool state inherited from this process
    start, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_score, args=(str(path), x, rounds, threads, start, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    seconds = []
    while len(seconds) < processes:
        try:
            seconds.append(results.get(timeout=1))
        except queue.Empty:
            failed = next((p for p in procs if p.exitcode not in (None, 0)), None)
            if failed is not None:  # the others would wait at the barrier for ever
                for p in procs:
                    p.terminate()
                raise RuntimeError(f"{path.name}: a scoring process exited with code {failed.exitcode}") from None
    for p in procs:
        p.join()
    return processes * rounds * len(x) / max(seconds)


def table(models: list[Path], x: np.ndarray, processes: int, rounds: int, repeats: int) -> list[str]:
    """Markdown lines: per file, images/s in the workers' layout and in one process, best of ``repeats``
    (the two layouts alternate, so both see the same machine)."""
    many = processes > 1
    workers = f"{processes} process{'es' if many else ''} x 1 thread"
    one = f"1 process x {processes} thread{'s' if many else ''}"
    out = [f"| file | images/s, {workers} | images/s, {one} | ratio |", "| --- | ---: | ---: | ---: |"]
    for path in models:
        layouts = {"workers": 0.0, "one": 0.0}
        for _ in range(repeats):
            layouts["workers"] = max(layouts["workers"], images_per_second(path, x, processes, 1, rounds))
            layouts["one"] = max(layouts["one"], images_per_second(path, x, 1, processes, rounds))
        out.append(f"| `{path.name}` | {layouts['workers']:,.0f} | {layouts['one']:,.0f} | "
                   f"{layouts['workers'] / layouts['one']:.2f}x |")
    return out


def main() -> int:
    p = OneLineParser(prog="python -m bench.workers_layout")
    p.add_argument("models", nargs="*", type=existing_file,
                   help="ONNX files (default: the shipped INT8 twins, fast, balanced and accurate)")
    p.add_argument("--npz", type=existing_file, default=NPZ)
    p.add_argument("--processes", type=positive_int, default=os.cpu_count() or 1,
                   help="worker processes (default: the core count, as CONCURRENCY)")
    p.add_argument("--rounds", type=positive_int, default=4, help="timed batches of 256 per process")
    p.add_argument("--repeats", type=positive_int, default=3, help="runs per layout; the best is reported")
    a = p.parse_args()
    if not a.npz.is_file():  # the default is not checked by argparse
        raise SystemExit(f"error: FER2013 not found at {a.npz}")
    models = a.models or [HERE / f"{stem}.int8.onnx" for stem in NAMES.values()]
    for path in models:  # a file onnxruntime or this project cannot use: one line here, not in every process
        try:
            Predictor(path)
        except Exception as e:  # onnxruntime raises its own exception types for files that are not ONNX
            raise SystemExit(f"error: {path}: {str(e).splitlines()[0]}") from None
    with np.load(a.npz) as d:
        x = d["x_test"][:BATCH, :, :, None].astype(np.float32)
    print(f"Batch {BATCH} in the workers' layout on {cpu_model()}, {a.rounds} batch{'es' if a.rounds > 1 else ''} "
          f"per process, best of {a.repeats} (`python -m bench.workers_layout`):\n")
    try:
        print("\n".join(table(models, x, a.processes, a.rounds, a.repeats)))
    except RuntimeError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
