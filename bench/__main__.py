"""``python -m bench``: run every benchmark side by side and write BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np

from bench import decode, demo_latency, faces, inference, scoring, shipped, soak
from bench.common import NPZ, ROOT, machine
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_int
from fer_toolkit.models import resolve

INTRO = ("Each section is the latest run of its benchmark, on the machine it names; the next run replaces it. "
         "`make bench` (`python -m bench`) writes the whole file, `make bench-faces` sections 5-6, `python -m "
         "bench.shipped` the shipped-models section, `make soak` the soak table (kept by the others) and `make "
         "bench-video` (`python -m bench.video`, also run by `make bench`) the video section and `python -m "
         "bench.photos DIR --out BENCHMARKS.md` the real-photo section (both kept too). "
         "Earlier runs: [docs/benchmarks-archive.md](docs/benchmarks-archive.md).\n")


def main() -> None:
    p = OneLineParser(prog="python -m bench")
    p.add_argument("--model", type=existing_file, default=resolve("fast"))
    p.add_argument("--keras", type=Path, default=ROOT / "runs" / "fer2013" / "best.keras",
                   help="the same model in Keras (where absent: the architecture in the model's training_config.json)")
    p.add_argument("--files", type=positive_int, default=20000, help="images in the scoring folder")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--sections", choices=("all", "faces"), default="all",
                   help="faces: only sections 5-6 (detection, photo scoring, alignment), spliced into --out")
    p.add_argument("--photos", type=positive_int, default=300, help="640x480 JPEG photos in the photo-scoring folder")
    a = p.parse_args()
    if a.sections == "faces":
        return faces_only(a)
    if not NPZ.is_file():
        raise SystemExit(f"error: FER2013 not found at {NPZ}")
    with np.load(NPZ) as d:
        x_test, y_test, x_train = d["x_test"], d["y_test"], d["x_train"]
    tmp = Path(tempfile.mkdtemp(prefix="fer-bench-"))
    int8 = a.model.with_suffix(".int8.onnx")
    lines = []

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    emit("# Benchmarks\n")
    emit(INTRO)
    emit("\n".join(["<!-- shipped:start -->", *shipped.section(x_test[:256, ..., None]), "<!-- shipped:end -->\n"]))
    at = len(lines)  # the targets go here, before section 1

    emit("## 1. Per-face inference\n")
    model, note = inference.keras_model(a.keras, a.model.parent / "training_config.json")
    emit(f"Keras: {note}.\n")
    rows = inference.run(model, a.model, int8, x_test[:256, ..., None])
    seed = next((r for r in rows if "predict" in r["engine"]), None)
    fp32 = next(r for r in rows if r["engine"] == "onnxruntime fp32")
    emit("| engine | batch 1 p50 ms | batch 1 p95 ms | batch-1 speed-up vs seeds' path | batch 256 images/s "
         "| batch 256 vs ORT fp32 |")
    emit("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        vs_seed = f"{seed['p50'] / r['p50']:.1f}x" if seed else "n/a"
        emit(f"| {r['engine']} | {r['p50']:.3f} | {r['p95']:.3f} | {vs_seed} | {r['ips']:,.0f} | "
             f"{r['ips'] / fp32['ips']:.2f}x |")

    emit("\nonnxruntime session options and input layout, batch 256 images/s (the project's sessions use `all` and "
         "the NHWC export; the worker runs one thread per process):\n")
    models = {"fp32": a.model, **({"INT8": int8} if int8.exists() else {})}
    for k, path in list(models.items()):
        nchw = inference.nchw_variant(path, tmp / f"{k}-nchw.onnx")
        if nchw:
            models[f"{k}, NCHW input (layout op removed)"] = nchw
    sweep = inference.session_sweep(models, x_test[:256, ..., None])
    emit("| model | graph optimization | 1 thread | 2 threads |\n| --- | --- | ---: | ---: |")
    for i in range(0, len(sweep), 2):
        r1, r2 = sweep[i], sweep[i + 1]
        emit(f"| {r1['model']} | {r1['level']} | {r1['ips']:,.0f} | {r2['ips']:,.0f} |")

    emit("\n## 2. Per-image decode limit (Pillow, `fercore.load_image`)\n")
    dec = decode.run(x_test[0], tmp)
    emit("| case | median µs/image |\n| --- | ---: |")
    for k, v in dec.items():
        emit(f"| {k} | {v:,.0f} |")
    infer_us = {"fp32": 1e6 / fp32["ips"]}
    int8_row = next((r for r in rows if "INT8" in r["engine"]), None)
    if int8_row:
        infer_us["INT8"] = 1e6 / int8_row["ips"]
    limit_48 = {k: 1e6 / (dec["48x48 PNG"] + us) for k, us in infer_us.items()}
    photo_us = dec["640x480 JPEG, Image.draft (load_image)"] + dec["face detection, 640x480 (YuNet)"]
    emit("\nLimit for one process that decodes, then runs batched ORT inference at batch 256 (µs/image from section "
         "1), one after the other; overlapping the two (threads or processes, section 3) can pass it:\n")
    emit("| model | inference µs/image | limit, 48x48 PNGs (images/s) "
         "| limit, 640x480 JPEG photos with face detection |")
    emit("| --- | ---: | ---: | ---: |")
    for k, us in infer_us.items():
        emit(f"| {k} | {us:,.0f} | **{limit_48[k]:,.0f}** | {1e6 / (photo_us + us):,.0f} |")

    emit(f"\n## 3. Batch scoring of {a.files:,} real FER2013 48x48 PNGs\n")
    folder = scoring.write_folder(x_train[: a.files], tmp / "in" / "fer")
    srows = scoring.run(folder, {"fp32": a.model, **({"INT8": int8} if int8_row else {})}, tmp)
    local = {r["model"]: r["images_per_second"] for r in srows if r["mode"].startswith("in-process (make score)")}
    emit("| model | mode | images/s | seconds | vs limit (48x48 PNG, same model) | vs in-process (same model) "
         "| peak RSS per worker process (MiB) |")
    emit("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in srows:
        rss = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else ""
        ips = r["images_per_second"]
        emit(f"| {r['model']} | {r['mode']} | {ips:,.0f} | {r['seconds']:.1f} | {ips / limit_48[r['model']]:.0%} | "
             f"{ips / local[r['model']]:.0%} | {rss} |")

    emit("\n## 4. Demo server-side latency (the request handler)\n")
    emit("| case | p50 ms | p95 ms |\n| --- | ---: | ---: |")
    demo = demo_latency.run(a.model, 100)
    for name, p50, p95 in demo:
        emit(f"| {name} | {p50:.2f} | {p95:.2f} |")

    targets = ["## Targets (issue 5), from sections 1-4\n",
               f"Sections 1-4: measured {dt.date.today().isoformat()} on {machine()}, with `make bench` (`python -m "
               f"bench`). Model `{a.model.name}`; inputs are real FER2013 PrivateTest faces and the demo's astronaut "
               "photo. Every ratio compares figures from this one run.\n",
               "| target | measured | met |", "| --- | --- | --- |"]

    def target(text, value, ok):
        targets.append(f"| {text} | {value} | {'yes' if ok else '**no**'} |")

    if seed:
        r = seed["p50"] / fp32["p50"]
        target("ORT fp32 batch 1 >= 50x faster than Keras `model.predict`", f"{r:.1f}x", r >= 50)
    if int8_row:
        r = int8_row["ips"] / fp32["ips"]
        target("ORT INT8 >= 2.5x ORT fp32 images/s at batch 256", f"{r:.2f}x", r >= 2.5)
        from fer_toolkit.fercore.predictor import Predictor

        x = x_test[..., None]
        pred = {k: Predictor(p).predict(x).argmax(1) for k, p in (("fp32", a.model), ("int8", int8))}
        top1 = {k: float((v == y_test).mean()) for k, v in pred.items()}
        d = abs(top1["int8"] - top1["fp32"]) * 100
        target("INT8 PrivateTest top-1 within 0.5 points of fp32",
               f"{top1['int8']:.2%} vs {top1['fp32']:.2%} ({d:.2f} points; top-1 agreement "
               f"{(pred['int8'] == pred['fp32']).mean():.2%})", d <= 0.5)
    for k in local:
        r = local[k] / limit_48[k]
        target(f"in-process scoring >= 80% of the decode+infer limit ({k})", f"{r:.0%}", r >= 0.8)
        best = max((r for r in srows if r["model"] == k and r["mode"].startswith("Celery")),
                   key=lambda r: r["images_per_second"], default=None)
        if best:
            r = best["images_per_second"] / local[k]
            target(f"Celery scoring >= 90% of in-process ({k}, best of 1 and 2 processes)", f"{r:.0%}", r >= 0.9)
    photo = next((p50 for name, p50, _ in demo if "640x480" in name), None)
    if photo is not None:
        target("demo p50 <= 50 ms for a 640x480 photo", f"{photo:.1f} ms", photo <= 50)
    lines[at:at] = [*targets, ""]
    print("\n" + "\n".join(targets))
    lines += ["", *faces.sections(a.model, tmp, a.photos)]
    old = a.out.read_text() if a.out.exists() else ""
    a.out.write_text("\n".join(lines) + "\n" + _kept_blocks(old))
    print(f"\nwrote {a.out}")


KEPT = ((soak.MARK_START, soak.MARK_END), ("<!-- video:start -->", "<!-- video:end -->"),
        ("<!-- photos:start -->", "<!-- photos:end -->"))


def _kept_blocks(old: str) -> str:
    """The soak, video and real-photo blocks (``make soak``, ``python -m bench.video``, ``python -m bench.photos``)
    of an existing BENCHMARKS.md text, kept when the other sections are re-measured."""
    return "".join("\n" + old[old.index(start):old.index(end) + len(end)] + "\n" for start, end in KEPT
                   if start in old and end in old)


def faces_only(a) -> None:
    """Run sections 5-6 and replace them in ``a.out`` (appended if absent), leaving sections 1-4 as measured."""
    if not NPZ.is_file():
        raise SystemExit(f"error: FER2013 not found at {NPZ}")
    lines = faces.sections(a.model, Path(tempfile.mkdtemp(prefix="fer-bench-")), a.photos)
    old = a.out.read_text() if a.out.exists() else "# Benchmarks\n"
    keep = old.split("\n## 5. ")[0]
    for start, _ in KEPT:
        keep = keep.split(start)[0]
    a.out.write_text(keep.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + _kept_blocks(old))
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
