"""The demo's pure handler: one image in, annotated image and per-face probabilities out.

No Gradio and no per-request state on shared objects: :class:`DemoModel` holds
only the onnxruntime session and the face detector, both created once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from fercore.analyze import FaceResult, analyze
from fercore.faces import FaceDetector
from fercore.predictor import Predictor, top_k
from fercore.preprocess import DEFAULT_MAX_PIXELS, ImageSource, open_image

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "fer2013_cnn.onnx"


class DemoModel:
    """The model, its face detector and the input limits, loaded once per process.

    Args:
        model_path: ONNX file exported by this project (labels come from its metadata).
        max_pixels: decompression-bomb guard for uploads (width x height).

    Raises:
        FileNotFoundError, ValueError: see :class:`fercore.predictor.Predictor`.
    """

    def __init__(self, model_path: str | Path = DEFAULT_MODEL, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.predictor = Predictor(model_path)
        self.detector = FaceDetector()
        self.max_pixels = max_pixels


@dataclass(frozen=True)
class DemoResult:
    """What the UI shows for one image.

    Attributes:
        faces: one :class:`FaceResult` per face (largest first), or one whole-image result.
        path: ``"faces"`` when faces were detected, ``"whole image"`` otherwise.
        annotated: RGB image with boxes and labels drawn.
        ms: preprocessing + detection + inference time in milliseconds.
    """

    faces: list[FaceResult]
    path: str
    annotated: Image.Image
    ms: float

    @property
    def top(self) -> dict[str, float]:
        """``{label: prob}`` of the largest face (or the whole image), for ``gr.Label``."""
        return self.faces[0].probs


def classify(source: ImageSource, model: DemoModel) -> DemoResult:
    """Detect faces in ``source`` and classify each; classify the whole image when none is found.

    Raises:
        fercore.ImageDecodeError: not an image, empty, corrupt or over ``model.max_pixels``.
    """
    t0 = time.perf_counter()
    image = open_image(source, max_pixels=model.max_pixels)
    faces = analyze(image, model.predictor, model.detector, "all")
    path = "faces" if faces else "whole image"
    if not faces:
        faces = analyze(image, model.predictor, None, "none")
    ms = (time.perf_counter() - t0) * 1000
    return DemoResult(faces, path, annotate(image, faces), ms)


def annotate(image: Image.Image, faces: list[FaceResult]) -> Image.Image:
    """A copy of ``image`` (RGB) with a numbered box and top-1 label per face."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(out.size) / 250))
    for i, f in enumerate(faces, start=1):
        if f.box is None:
            continue
        b = f.box
        draw.rectangle((b.x, b.y, b.x + b.w, b.y + b.h), outline=(255, 64, 64), width=width)
        text = f"{i}: {f.label} {f.confidence:.0%}"
        tx, ty = b.x, max(0, b.y - 14)
        draw.rectangle(draw.textbbox((tx, ty), text), fill=(255, 64, 64))
        draw.text((tx, ty), text, fill=(255, 255, 255))
    return out


def faces_markdown(result: DemoResult, k: int = 3) -> str:
    """A Markdown table: one row per face with its box and top-``k`` classes."""
    rows = ["| face | box (x, y, w, h) | top classes |", "| --- | --- | --- |"]
    for i, f in enumerate(result.faces, start=1):
        box = "whole image" if f.box is None else f"{f.box.x}, {f.box.y}, {f.box.w}, {f.box.h}"
        rows.append(f"| {i} | {box} | " + ", ".join(f"{lab} {p:.1%}" for lab, p in top_k(f.probs, k)) + " |")
    return "\n".join(rows)


def info_markdown(result: DemoResult, model: DemoModel) -> str:
    """Model id, labels from the ONNX metadata, the path taken and the time spent."""
    p = model.predictor
    n = len(result.faces)
    how = f"{n} face{'s' if n != 1 else ''} detected" if result.path == "faces" else \
        "no face detected: classified the whole image as one face crop"
    version = p.metadata.get("model_version", "?")
    return (f"**{how}** in {result.ms:.1f} ms  \nmodel `{p.model_id}` (version {version}), "
            f"labels from its metadata: {', '.join(p.labels)}")
