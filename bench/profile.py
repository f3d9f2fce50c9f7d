"""``python -m bench.profile MODEL [MODEL ...]``: where onnxruntime spends the time of a batch, per operator type
and per node.

Each file runs ``--calls`` times at batch ``--batch`` on real PrivateTest faces, after one warm-up call, under
onnxruntime's own profiler (``SessionOptions.enable_profiling``). Shares are of the summed kernel times (the
``*_kernel_time`` events of the timed calls); ms per call is that sum over ``--calls``. Several files are
profiled one after the other in one run, so their ms per call compare side by side.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bench.common import NPZ, cpu_model
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_int


def kernel_times(path: Path, x: np.ndarray, calls: int, threads: int) -> list[tuple[str, str, float]]:
    """``(node name, operator type, microseconds)`` of every kernel run in ``calls`` timed calls on batch ``x``
    (float32 NHWC pixels 0..255), the warm-up call left out. ``threads``: intra-op threads (0: onnxruntime's)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_profiling = True
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(calls + 1):
        session.run(None, feed)
    trace = Path(session.end_profiling())
    events = [e for e in json.loads(trace.read_text())
              if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    os.remove(trace)
    per_call = len(events) // (calls + 1)  # every call runs the same kernels in the same order
    return [(e["name"].removesuffix("_kernel_time"), e["args"]["op_name"], float(e["dur"]))
            for e in events[per_call:]]


def summary(path: Path, times: list[tuple[str, str, float]], calls: int, top: int) -> list[str]:
    """Markdown lines: ms per call, then the share of each operator type and of the ``top`` slowest nodes."""
    total = sum(t for _, _, t in times)
    by_op, by_node = collections.Counter(), collections.Counter()
    for node, op, t in times:
        by_op[op] += t
        by_node[node] += t
    lines = [f"### `{path.name}`: {total / calls / 1000:.1f} ms per call (kernel time)", "",
             "| operator type | share |", "| --- | ---: |"]
    lines += [f"| {op} | {t / total:.1%} |" for op, t in by_op.most_common() if t / total >= 0.001]
    lines += ["", "| node | share |", "| --- | ---: |"]
    lines += [f"| `{node}` | {t / total:.1%} |" for node, t in by_node.most_common(top)]
    return lines + [""]


def main() -> int:
    p = OneLineParser(prog="python -m bench.profile")
    p.add_argument("models", nargs="+", type=existing_file, help="ONNX files exported by this project")
    p.add_argument("--npz", type=existing_file, default=NPZ)
    p.add_argument("--batch", type=positive_int, default=256)
    p.add_argument("--calls", type=positive_int, default=5, help="timed calls per file")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: its default)")
    p.add_argument("--top", type=positive_int, default=10, help="slowest nodes listed per file")
    a = p.parse_args()
    if not a.npz.is_file():  # the default is not checked by argparse
        raise SystemExit(f"error: FER2013 not found at {a.npz}")
    with np.load(a.npz) as d:
        x = d["x_test"][:a.batch, :, :, None].astype(np.float32)
    print(f"onnxruntime {ort.__version__} profile on {cpu_model()}, batch {len(x)}, {a.calls} calls, "
          f"threads {a.threads or 'default'} (`python -m bench.profile`):\n")
    for path in a.models:
        print("\n".join(summary(path, kernel_times(path, x, a.calls, a.threads), a.calls, a.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
