"""``python -m bench.shipped``: every shipped file, fp32 and INT8, side by side; replaces its section of BENCHMARKS.md.

Speed is measured here, in one run: images/s at batch 256 (best of 5 interleaved rounds) and batch-1
latency (p50 over 200 calls) on real PrivateTest faces with onnxruntime's default session options. In each
round every file makes one untimed call before its timed one: after a run, onnxruntime's intra-op threads
spin-wait for more work, and without that call the spinning threads of the file timed just before take the
cores from the next one, so short runs read low (docs/benchmarks-archive.md). The multiply-accumulates per image
are counted from each fp32 graph (:func:`bench.macs.macs_per_image`; an INT8 twin runs the same graph), and
GMAC/s is that count times images/s: the CPU's sustained rate on that file. Accuracy, macro-F1 and ECE are read
from each file's export report (``<stem>.export.json``), where the export measured them once on PrivateTest:
this benchmark does not evaluate PrivateTest again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

from bench.common import NPZ, ROOT, machine, p50_p95, replace_block, timeit
from bench.macs import macs_per_image
from fer_toolkit.fercore.cli import OneLineParser, existing_file
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.models import HERE, NAMES
from fer_toolkit.training.views import member_views, report_crops


def forward_passes(report: dict, size: tuple[int, int]) -> int:
    """Network evaluations per image of an exported file with input ``size``: each member's distinct test-time
    views (:func:`fer_toolkit.training.views.member_views`, no TensorFlow), summed over members."""
    return sum(len(member_views(size, c, report["tta"])) for c in report_crops(report))


def shipped_files() -> list[tuple[str, Path, dict]]:
    """``(role, path, measured)`` for each shipped fp32 file and its INT8 twin, from the export reports."""
    rows = []
    for role, stem in NAMES.items():
        report = json.loads((HERE / f"{stem}.export.json").read_text())
        t, q, n = report["test"], report["int8"], len(report["members"])
        rows.append((role, HERE / f"{stem}.onnx", {"top1": t["top1_accuracy"], "f1": t["macro_f1"], "ece": t["ece"],
                                                   "tta": report["tta"], "weights": "fp32", "networks": n,
                                                   "report": report}))
        rows.append((role, HERE / f"{stem}.int8.onnx", {"top1": q["top1_accuracy"], "f1": q["macro_f1"],
                                                        "ece": q["ece"], "tta": report["tta"], "weights": "INT8",
                                                        "networks": n, "report": report}))
    return rows


def table(x: np.ndarray, rounds: int = 5, calls: int = 200) -> list[str]:
    """The Markdown table, speed measured now on ``x`` (uint8 ``(N, 48, 48, 1)``, N >= 256)."""
    files = shipped_files()
    preds = [Predictor(path) for _, path, _ in files]
    batch = x[:256]
    best = [float("inf")] * len(preds)
    for p in preds:
        p.predict(batch)
    for _ in range(rounds):
        for i, p in enumerate(preds):
            p.predict(batch)  # the previous file's spinning threads stop while this call runs (module docstring)
            t0 = time.perf_counter()
            p.predict(batch)
            best[i] = min(best[i], time.perf_counter() - t0)
    lat = [p50_p95(timeit(lambda p=p: p.predict(x[:1]), calls))[0] for p in preds]
    out = ["| file | role | weights | networks | test-time views | PrivateTest top-1 | macro-F1 | ECE (15 bins) "
           "| MACs per image | images/s, batch 256 | GMAC/s | batch-1 latency p50 | size |",
           "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (role, path, m), p, b, ms in zip(files, preds, best, lat):
        passes = forward_passes(m["report"], p.config.input_size)
        views = f"{m['tta']} ({passes} network pass{'es' if passes > 1 else ''})"
        macs = macs_per_image(path.with_name(path.name.replace(".int8.onnx", ".onnx")))
        ips = len(batch) / b
        out.append(f"| `{path.name}` | {role} | {m['weights']} | {m['networks']} | {views} | {m['top1']:.2%} | "
                   f"{m['f1']:.3f} | {m['ece']:.3f} | {macs / 1e6:,.1f} M | {ips:,.0f} | {ips * macs / 1e9:,.0f} | "
                   f"{ms:.2f} ms | {path.stat().st_size / 1024:,.0f} KiB |")
    return out


def section(x: np.ndarray) -> list[str]:
    """BENCHMARKS.md's section for this benchmark: what ran where, and :func:`table` measured now on ``x``."""
    return ["## Shipped models (`python -m bench.shipped`)\n",
            f"Measured {dt.date.today().isoformat()} on {machine()}: every shipped file and its INT8 twin side by "
            "side in one run, onnxruntime CPU with default session options, real PrivateTest faces. images/s: batch "
            "256, best of 5 interleaved rounds; latency: p50 of 200 batch-1 calls. Top-1, macro-F1 and ECE come "
            "from each file's export (PrivateTest, measured once). MACs per image are counted from each fp32 graph "
            "(`python -m bench.macs`); GMAC/s is that count times images/s.\n", *table(x)]


def main() -> int:
    p = OneLineParser(prog="python -m bench.shipped")
    p.add_argument("--npz", type=existing_file, default=NPZ)
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"),
                   help="Markdown file whose shipped-models section this run replaces (-: print only)")
    a = p.parse_args()
    if not a.npz.is_file():  # the default is not checked by argparse
        raise SystemExit(f"error: FER2013 not found at {a.npz}")
    with np.load(a.npz) as d:
        x = d["x_test"][:256, :, :, None]
    lines = section(x)
    print("\n".join(lines))
    if a.out != "-":
        out = Path(a.out)
        out.write_text(replace_block(out.read_text() if out.exists() else "# Benchmarks\n", "shipped", lines))
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
