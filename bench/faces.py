"""Face detection benchmarks (BENCHMARKS.md, section 5): speed per 640x480 photo, small faces in large
photos against the detector's input scale, ``--faces auto`` photo scoring against the old Haar path, and photo
scoring with the defaults against its limit (:mod:`bench.photo_limit`).

``python -m bench --sections faces`` runs only these and section 6 (alignment).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench import alignment, demo_latency, photo_limit
from bench.common import ASTRONAUT, ROOT, cpu_model, photo_640x480, timeit

CV2_YUNET = ROOT.parent / "shared" / "vendor" / "yunet" / "yunet_s_640_640.onnx"  # fixed-size twin, bench only
SMALL_SIDES, SCALES = (16, 20, 24, 32, 48), (0.625, 1.0, 1.25, 1.5, 2.0)


def detection_speed(tmp: Path, n: int = 40) -> list[tuple[str, float]]:
    """``(detector, median ms)`` on the 640x480 astronaut photo."""
    from bench.haar import HaarDetector
    from fer_toolkit.fercore.faces import FaceDetector

    img = Image.open(photo_640x480(tmp / "photo.jpg")).convert("RGB")
    rows = [("Haar cascade (OpenCV, the old detector)", HaarDetector().detect)]
    for threads in (1, 0):
        for up in (1.0, 1.5):
            name = f"YuNet, onnxruntime, input scale {up} ({threads or 'all'} thread{'s' if threads != 1 else ''})"
            rows.append((name, FaceDetector(upscale=up, intra_op_threads=threads).detect))
    try:
        import cv2

        if CV2_YUNET.is_file():
            yn = cv2.FaceDetectorYN.create(str(CV2_YUNET), "", img.size, 0.8)
            bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
            rows.append(("YuNet, cv2.FaceDetectorYN (fixed 640x640 file)", lambda _img: yn.detect(bgr)))
    except ImportError:
        pass
    return [(name, float(np.median(timeit(lambda f=f: f(img), n)))) for name, f in rows]


def small_faces(seed: int = 0, per_size: int = 24) -> tuple[dict, dict]:
    """Recall of real faces pasted with a face width of 16-48 px into a 2048x1536 photo, per detector input
    scale, and the detection time (ms) per scale.

    Faces: the astronaut's head with its surroundings (face width = half the pasted patch), each pasted at a
    random rotation within +-30 degrees, on scikit-image's coffee photo.
    """
    from skimage import data

    from fer_toolkit.fercore.faces import FaceDetector

    rng = np.random.default_rng(seed)
    head = Image.open(ASTRONAUT).convert("RGB").crop((133, 6, 313, 234))  # face box 178,63,90,114 grown by 50%
    bg = Image.fromarray(data.coffee()).resize((2048, 1536), Image.Resampling.BILINEAR)
    canvas, truth = bg.copy(), []
    cells = [(x, y) for x in range(64, 1984, 128) for y in range(64, 1472, 128)]
    order = rng.permutation(len(cells))
    for k, side in enumerate(s for s in SMALL_SIDES for _ in range(per_size)):
        x, y = cells[order[k]]
        patch = head.resize((2 * side, round(2 * side * head.height / head.width)), Image.Resampling.LANCZOS)
        patch = patch.rotate(float(rng.uniform(-30, 30)), resample=Image.Resampling.BICUBIC, fillcolor=(128, 96, 64))
        canvas.paste(patch, (x, y))
        truth.append((x + patch.width / 2, y + patch.height / 2, side))
    recall, ms = {}, {}
    for m in SCALES:
        det = FaceDetector(upscale=m, max_input_pixels=10**9, intra_op_threads=1)
        faces = det.detect(canvas)
        for s in SMALL_SIDES:
            hits = sum(any(abs(f.box.x + f.box.w / 2 - cx) < side / 2 and abs(f.box.y + f.box.h / 2 - cy) < side / 2
                           for f in faces) for cx, cy, side in truth if side == s)
            recall[(m, s)] = hits / per_size
        ms[m] = float(np.median(timeit(lambda d=det: d.detect(canvas), 3, warmup=1)))
    return recall, ms


def photo_folder(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` real 640x480 JPEG photos: the astronaut at random sizes and places on scikit-image's photos."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bgs = [Image.fromarray(f()).convert("RGB").resize((640, 480)) for f in (data.coffee, data.rocket, data.chelsea)]
    face = Image.open(ASTRONAUT).convert("RGB")
    for i in range(n):
        canvas = bgs[i % len(bgs)].copy()
        side = int(rng.integers(200, 480))
        x, y = int(rng.integers(0, 640 - side + 1)), int(rng.integers(0, 480 - side + 1))
        canvas.paste(face.resize((side, side)), (x, y))
        canvas.save(folder / f"{i:04d}.jpg", quality=90)
    return folder


def photo_scoring(model: Path, tmp: Path, n: int = 300) -> list[tuple[str, float, str]]:
    """``(path, images/s, rows by status)`` for ``fer-toolkit score`` (in-process, one thread per core)."""
    from bench.haar import HaarDetector
    from fer_toolkit.fercore.options import FaceOptions
    from fer_toolkit.worker import local

    folder = photo_folder(tmp / "photos", n)
    runs = [("Haar cascade, `--faces all` (the old path)", "all", HaarDetector(), True),
            ("YuNet, `--faces auto` (aligned; the default)", "auto", None, True),
            ("YuNet, `--faces auto --no-align`", "auto", None, False)]
    out = []
    for name, faces, det, align in runs:
        t0 = time.perf_counter()
        s = local.score_local(folder, tmp / f"photos-{len(out)}.csv", options=FaceOptions(faces=faces, align=align),
                              model=model, progress=False, detector=det)
        out.append((name, s["files"] / (time.perf_counter() - t0), str(s["status"])))
    return out


def sections(model: Path, tmp: Path, n_photos: int) -> list[str]:
    """Sections 5 (detection, photo scoring) and 6 (alignment) as Markdown lines (also printed)."""
    out = [f"## 5. Face detection and photo scoring (`make bench-faces` = `python -m bench --sections faces`; "
           f"measured {dt.date.today().isoformat()} on {cpu_model()}, {os.cpu_count()} cores)\n",
           "Sections 5-6 can be re-measured alone; where the header's date of sections 1-4 is older, their face "
           "detection row (section 2) and demo latency (section 4) are those of the Haar detector.\n",
           "Detection time per 640x480 photo (the astronaut photo of section 2), median of 40 runs:\n",
           "| detector | median ms |", "| --- | ---: |"]
    speed = detection_speed(tmp)
    out += [f"| {name} | {ms:.1f} |" for name, ms in speed]
    recall, ms = small_faces()
    out += ["\nSmall faces in a large photo: 24 astronaut heads per face width, each rotated by up to 30 degrees, "
            "pasted into a 2048x1536 photo (scikit-image's coffee); share found per detector input scale "
            "(`FaceDetector(upscale=...)`, threshold 0.8), and the time for the whole photo (1 thread):\n",
            "| input scale | " + " | ".join(f"{s} px" for s in SMALL_SIDES) + " | ms per photo |",
            "| --- |" + " ---: |" * (len(SMALL_SIDES) + 1)]
    for m in SCALES:
        out.append(f"| {m} | " + " | ".join(f"{recall[(m, s)]:.0%}" for s in SMALL_SIDES) + f" | {ms[m]:,.0f} |")
    rows = photo_scoring(model, tmp, n_photos)
    out += [f"\nScoring a folder of {n_photos} real 640x480 JPEG photos (`fer-toolkit score`, in-process, one "
            "chunk per core, model `" + model.name + "`), all in this run:\n",
            "| detector and mode | images/s | rows | vs Haar |", "| --- | ---: | --- | ---: |"]
    haar = rows[0][1]
    out += [f"| {name} | {ips:,.1f} | {status} | {ips / haar:.1f}x |" for name, ips, status in rows]
    r = rows[1][1] / haar
    out.append(f"\nTarget (issue 10): `--faces auto` photo scoring >= 3x the Haar path's images/s: {r:.1f}x, "
               f"{'met' if r >= 3 else '**not met**'}.\n")
    out += photo_limit.section(tmp)
    out += ["Demo request handler (`python -m bench.demo_latency`: decode, detection, alignment, inference, "
            "annotation; no heatmap), 100 requests:\n", "| case | p50 ms | p95 ms |", "| --- | ---: | ---: |"]
    demo = demo_latency.run(model, 100)
    out += [f"| {name} | {p50:.2f} | {p95:.2f} |" for name, p50, p95 in demo]
    photo = next(p50 for name, p50, _ in demo if "640x480" in name)
    out.append(f"\nTarget (issue 10): demo p50 <= 50 ms for a 640x480 photo: {photo:.1f} ms, "
               f"{'met' if photo <= 50 else '**not met**'}.\n")
    out += ["## 6. Aligned crops: framing chosen by measurement (`python -m bench.alignment`)\n",
            *alignment.report(model, 400)]
    for line in out:
        print(line, flush=True)
    return out
