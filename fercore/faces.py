"""Face detection with YuNet (Wu, Peng & Yu 2023) on onnxruntime: boxes, five landmarks and a score.

The model file is vendored in ``fercore/data/yunet/`` (licence and provenance
there) and installed with the package: nothing is downloaded at run time, and
OpenCV is not needed. The output decoding follows OpenCV's ``FaceDetectorYN``
(``modules/objdetect/src/face_detect.cpp``, 2023mar model): per stride 8/16/32,
score = sqrt(cls x obj), box centre = (cell + offset) x stride, size =
exp(log-size) x stride, landmarks = (cell + offset) x stride, then NMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer_toolkit.fercore.session import session

YUNET_PATH = Path(__file__).resolve().parent / "data" / "yunet" / "yunet_s_dynamic.onnx"
YUNET_SHA256 = "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3"
STRIDES = (8, 16, 32)
#: Keep faces the detector scores at least this (0..1); how it was chosen: ``fercore/data/yunet/README.md``.
DEFAULT_THRESHOLD = 0.8


@dataclass(frozen=True)
class Box:
    """A face box in pixels of the original (EXIF-rotated) image: left ``x``, top ``y``, width ``w``, height ``h``."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        """Area in pixels."""
        return self.w * self.h

    def expand(self, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` grown by ``margin`` x size on each side, clipped to the image."""
        dx, dy = round(self.w * margin), round(self.h * margin)
        return (max(0, self.x - dx), max(0, self.y - dy), min(width, self.x + self.w + dx),
                min(height, self.y + self.h + dy))


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: the detector's box, pixels of the input image.
        landmarks: ``(5, 2)`` float32 ``(x, y)`` pixels: right eye, left eye, nose tip, right and left mouth
            corner (the subject's right eye is on the image's left); None when a detector gives none.
        score: detector confidence, 0..1.
    """

    box: Box
    landmarks: np.ndarray | None
    score: float


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression; ``boxes`` is ``(N, 4)`` ``x1, y1, x2, y2``. Returns kept indices, best first."""
    order, keep = np.argsort(-scores), []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        xx1, yy1 = np.maximum(boxes[i, 0], boxes[rest, 0]), np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2, yy2 = np.minimum(boxes[i, 2], boxes[rest, 2]), np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        order = rest[inter / (area[i] + area[rest] - inter + 1e-9) <= iou]
    return keep


class FaceDetector:
    """YuNet face detector on onnxruntime (thread-safe; create once per process).

    Args:
        score_threshold: keep faces scoring at least this (0..1); :data:`DEFAULT_THRESHOLD` by default (how it
            was chosen: ``fercore/data/yunet/README.md``).
        upscale: the detector sees the image resized by this factor; above 1 finds more very small faces and
            takes longer (BENCHMARKS.md, face detection) ...
        max_input_pixels: ... unless that exceeds this many pixels; then the scale is lowered to fit (a
            very large photo is downscaled; boxes are always mapped back to the image's pixels).
        min_side: images whose shorter side is below this are upscaled to it (small crops with a face filling
            them), whatever ``upscale`` says.
        nms_iou: IoU above which the lower-scoring of two boxes is dropped.
        intra_op_threads: onnxruntime threads (0 = one per core). 1 by default: the demo and the workers run
            several requests or processes at once anyway (timings: BENCHMARKS.md, face detection).
        model_path: the ONNX file (default: the vendored one).
        providers: onnxruntime execution providers (:func:`fer_toolkit.fercore.session.providers`; None:
            ``FER_PROVIDERS``, else the CPU).

    Raises:
        FileNotFoundError: the model file is missing.
        ValueError: a threshold outside 0..1, or an unavailable execution provider (``ProviderError``).
    """

    def __init__(self, score_threshold: float = DEFAULT_THRESHOLD, upscale: float = 1.0,
                 max_input_pixels: int = 8_000_000, min_side: int = 160, nms_iou: float = 0.3,
                 intra_op_threads: int = 1, model_path: str | Path = YUNET_PATH, providers: str | None = None):
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score threshold must be within 0..1, got {score_threshold}")
        if not Path(model_path).is_file():
            raise FileNotFoundError(f"face detector model not found: {model_path}")
        self.session = session(model_path, intra_op_threads, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.outputs = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        self.score_threshold, self.upscale, self.max_input_pixels = score_threshold, upscale, max_input_pixels
        self.min_side, self.nms_iou = min_side, nms_iou

    def scale(self, width: int, height: int) -> float:
        """The factor the image is resized by for detection (see the class's arguments)."""
        fit = min(self.upscale, (self.max_input_pixels / (width * height)) ** 0.5)
        return max(fit, self.min_side / min(width, height))

    def detect(self, image: Image.Image, score_threshold: float | None = None) -> list[Face]:
        """Faces in ``image`` (any Pillow mode), largest first.

        Args:
            score_threshold: overrides the detector's threshold for this call.

        Returns:
            list of :class:`Face` in the input image's pixel coordinates (may be empty).
        """
        thr = self.score_threshold if score_threshold is None else score_threshold
        scale = self.scale(*image.size)
        rgb = image.convert("RGB")
        if scale != 1.0:
            rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                             Image.Resampling.BILINEAR)
        w, h = rgb.size
        pw, ph = -(-w // 32) * 32, -(-h // 32) * 32
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :h, :w] = np.asarray(rgb, np.float32)[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR, HWC -> CHW
        out = dict(zip(self.outputs, self.session.run(self.outputs, {self.input_name: x})))
        boxes, kps, scores = [], [], []
        for s in STRIDES:
            cols = pw // s
            score = np.sqrt(np.clip(out[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{s}"][0, :, 0], 0, 1))
            keep = np.nonzero(score >= thr)[0]
            if not keep.size:
                continue
            cx, cy = (keep % cols).astype(np.float32), (keep // cols).astype(np.float32)
            b, k = out[f"bbox_{s}"][0, keep], out[f"kps_{s}"][0, keep].reshape(-1, 5, 2)
            ctr_x, ctr_y = (cx + b[:, 0]) * s, (cy + b[:, 1]) * s
            bw, bh = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
            boxes.append(np.stack([ctr_x - bw / 2, ctr_y - bh / 2, ctr_x + bw / 2, ctr_y + bh / 2], 1))
            kps.append(np.stack([(k[:, :, 0] + cx[:, None]) * s, (k[:, :, 1] + cy[:, None]) * s], 2))
            scores.append(score[keep])
        if not scores:
            return []
        boxes, kps, scores = np.concatenate(boxes) / scale, np.concatenate(kps) / scale, np.concatenate(scores)
        faces = []
        for i in nms(boxes, scores, self.nms_iou):
            x1, y1 = max(0.0, boxes[i, 0]), max(0.0, boxes[i, 1])
            x2, y2 = min(float(image.width), boxes[i, 2]), min(float(image.height), boxes[i, 3])
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            box = Box(round(x1), round(y1), round(x2 - x1), round(y2 - y1))
            faces.append(Face(box, kps[i].astype(np.float32), float(scores[i])))
        return sorted(faces, key=lambda f: -f.box.area)
