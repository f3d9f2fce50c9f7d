"""The demo's pure handler: one image in, annotated image and per-face probabilities out.

No Gradio and no per-request state on shared objects: :class:`DemoModel` holds
only the onnxruntime session and the face detector, both created once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_toolkit.api import EmotionModel
from fer_toolkit.fercore.analyze import FaceResult
from fer_toolkit.fercore.occlusion import occlusion_map, overlay
from fer_toolkit.fercore.options import FaceOptions
from fer_toolkit.fercore.predictor import top_k
from fer_toolkit.fercore.preprocess import ImageSource, open_image
from fer_toolkit.fercore.records import FIRST_FACE, box_text, face_records


class DemoModel(EmotionModel):
    """The model, its face detector and the face options, loaded once per process: the Python API's
    :class:`~fer_toolkit.api.EmotionModel` with the demo's default model (the ``demo`` entry of
    :data:`fer_toolkit.models.DEFAULTS`; why that file: BENCHMARKS.md and its model card).

    Args:
        model, int8, options, providers, fields: as :class:`~fer_toolkit.api.EmotionModel`'s (``max_pixels``,
            the options' decompression-bomb guard, applies to uploads).

    Raises:
        FileNotFoundError, ValueError: see :class:`~fer_toolkit.api.EmotionModel`.
    """

    def __init__(self, model: str | Path | None = None, int8: bool | None = None,
                 options: FaceOptions | None = None, *, providers: str | None = None, **fields):
        super().__init__(model, int8, options, entry="demo", providers=providers, **fields)


@dataclass(frozen=True)
class DemoResult:
    """What the UI shows for one image.

    Attributes:
        faces: one :class:`FaceResult` per face (largest first), one whole-image result, or none.
        path: ``"faces"`` when faces were detected, ``"whole image"`` when the image was classified whole
            (a face crop), ``"no face"`` when a photo has none.
        annotated: RGB image with numbered boxes, landmarks and labels drawn.
        ms: preprocessing + detection + inference time in milliseconds.
    """

    faces: list[FaceResult]
    path: str
    annotated: Image.Image
    ms: float

    @property
    def top(self) -> dict[str, float] | None:
        """``{label: prob}`` of the largest face (or the whole image), for ``gr.Label``; None without a face."""
        return self.faces[0].probs if self.faces else None

    def gallery(self, size: int = 144) -> list[tuple[Image.Image, str]]:
        """The model inputs (aligned crops) upscaled to ``size`` px, captioned ``"<n>: <label> <p>"``."""
        return [(Image.fromarray(f.pixels.squeeze()).resize((size, size), Image.Resampling.NEAREST),
                 f"{r['face']}: {r['label']} {r['confidence']:.0%} ({r['crop']})")
                for f, r in zip(self.faces, face_records(self.faces))]


def classify(source: ImageSource, model: DemoModel) -> DemoResult:
    """Detect faces in ``source`` and classify each (``model.faces``, ``auto`` by default).

    Raises:
        fercore.ImageDecodeError: not an image, empty, corrupt or over ``model.max_pixels``.
    """
    t0 = time.perf_counter()
    image = open_image(source, max_pixels=model.max_pixels)
    faces = model.analyze_image(image)
    path = "no face" if not faces else "whole image" if faces[0].box is None else "faces"
    ms = (time.perf_counter() - t0) * 1000
    return DemoResult(faces, path, annotate(image, faces), ms)


def font_size(width: int, height: int) -> int:
    """Label font size in pixels: 3% of the longer side, at least 12 px, so that it stays legible once the
    UI scales the image to its panel (about 500-700 px wide)."""
    return max(12, round(0.03 * max(width, height)))


def annotate(image: Image.Image, faces: list[FaceResult], tags: list[str] | None = None) -> Image.Image:
    """A copy of ``image`` (RGB) with a numbered box, the landmarks and the top-1 label per face.

    ``tags`` replace the faces' numbers (e.g. a video's ``#track``), one per face. The label's font (Pillow's
    built-in scalable font) and the line width scale with the image; a face more than three times narrower than
    its label gets only its number (or tag), which the table repeats.
    """
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    size = font_size(*out.size)
    font = ImageFont.load_default(size=size)
    width = max(2, round(size / 8))
    tags = tags or [str(i) for i in range(FIRST_FACE, FIRST_FACE + len(faces))]  # fercore.records' numbers
    for i, f in zip(tags, faces):
        if f.box is None:
            continue
        b = f.box
        draw.rectangle((b.x, b.y, b.x + b.w, b.y + b.h), outline=(255, 64, 64), width=width)
        dot = max(1.0, min(width, b.w / 25))
        for x, y in ([] if f.landmarks is None else f.landmarks):
            draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(64, 255, 64))
        text = f"{i}: {f.label} {f.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left > 3 * b.w:  # a small face: its number only (the table has the rest), so labels don't overlap
            text = str(i)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tx = min(max(0, b.x), max(0, out.width - (right - left) - 2 * width))
        ty = b.y - (bottom - top) - 2 * width if b.y >= (bottom - top) + 2 * width else b.y + b.h
        draw.rectangle((tx, ty, tx + right - left + 2 * width, ty + bottom + width), fill=(255, 64, 64))
        draw.text((tx + width, ty), text, fill=(255, 255, 255), font=font)
    return out


def explain(pixels: np.ndarray, model: DemoModel, grid: int = 8) -> tuple[Image.Image, str]:
    """Occlusion-sensitivity heatmap of one face's model input (``FaceResult.pixels``, uint8 ``(H, W, C)``),
    from :func:`~fer_toolkit.fercore.occlusion.occlusion_map`
    (one onnxruntime batch of ``grid**2 + 1``), and a caption."""
    drops, label = occlusion_map(model.predictor, pixels, grid)
    return overlay(pixels, drops), (f"regions that raised (red) or lowered (blue) `{label}` "
                                         f"({grid}x{grid} occlusion grid, largest drop {float(np.max(drops)):.2f})")


def faces_markdown(result: DemoResult, k: int = 3) -> str:
    """A Markdown table: one row per face with its box and top-``k`` classes."""
    rows = ["| face | box (x, y, w, h) | detector score | crop | top classes |", "| --- | --- | --- | --- | --- |"]
    for r in face_records(result.faces):
        score = "" if r["det_score"] is None else f"{r['det_score']:.2f}"
        rows.append(f"| {r['face']} | {box_text(r, ', ') or 'whole image'} | {score} | {r['crop']} | "
                    + ", ".join(f"{lab} {p:.1%}" for lab, p in top_k(r["probs"], k)) + " |")
    return "\n".join(rows)


def info_markdown(result: DemoResult, model: DemoModel) -> str:
    """Model id, labels from the ONNX metadata, the path taken and the time spent."""
    p = model.predictor
    n = len(result.faces)
    how = {"faces": f"{n} face{'s' if n != 1 else ''} detected",
           "whole image": "the image is a face crop: classified whole",
           "no face": "no face detected"}[result.path]
    version = p.metadata.get("model_version", "?")
    return (f"**{how}** in {result.ms:.1f} ms  \nmodel `{p.model_id}` (version {version}), "
            f"labels from its metadata: {', '.join(p.labels)}")
