"""The per-image limit: decode + grayscale + resize with Pillow (the project's ``load_image``)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import ASTRONAUT, photo_640x480, timeit
from fer_toolkit.fercore import DataConfig, load_image
from fer_toolkit.fercore.preprocess import open_image, to_model_mode


def _no_draft(data: bytes, cfg: DataConfig) -> np.ndarray:
    img = to_model_mode(open_image(data), cfg.channels)
    return np.asarray(img.resize(cfg.input_size[::-1], Image.Resampling.BILINEAR))


def run(face: np.ndarray, tmp: Path, n: int = 300) -> dict[str, float]:
    """Median microseconds per image for each case (files read from memory, no disk I/O)."""
    cfg = DataConfig()
    buf_jpg, buf_png = io.BytesIO(), io.BytesIO()
    Image.fromarray(face).save(buf_jpg, "JPEG", quality=95)
    Image.fromarray(face).save(buf_png, "PNG")
    photo = photo_640x480(tmp / "photo.jpg").read_bytes()
    cases = {
        "48x48 JPEG": lambda: load_image(buf_jpg.getvalue(), cfg),
        "48x48 PNG": lambda: load_image(buf_png.getvalue(), cfg),
        "640x480 JPEG, full decode": lambda: _no_draft(photo, cfg),
        "640x480 JPEG, Image.draft (load_image)": lambda: load_image(photo, cfg),
    }
    out = {k: float(np.median(timeit(f, n))) * 1000 for k, f in cases.items()}
    from fer_toolkit.fercore.faces import FaceDetector

    det, img = FaceDetector(), open_image(photo)
    ms = timeit(lambda: det.detect(img), max(20, n // 10))
    out["face detection, 640x480 (YuNet)"] = float(np.median(ms)) * 1000
    assert ASTRONAUT.exists()
    return out
