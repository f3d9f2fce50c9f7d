"""Aligned face crops: rotate so the eyes are level, then frame the face like a FER2013 training face.

The framing is a template of the five YuNet landmarks in a FER2013 crop, as
fractions of the crop's width and height: the median landmarks YuNet finds on
2,000 FER2013 Training faces (``python -m bench.alignment``, which also
measures the classifier's accuracy for each zoom around it; BENCHMARKS.md,
section 6). A face is rotated by its eye angle (eyes level, after :func:`refine_landmarks`
has re-measured the landmarks on an upright view), then scaled and shifted by
least squares so that its landmarks fall on the template.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

#: Median YuNet landmarks on FER2013 Training crops, ``(x, y)`` as fractions of the crop (measured by
#: ``python -m bench.alignment``): right eye, left eye, nose tip, right and left mouth corners.
FER_TEMPLATE = np.array([[0.293, 0.387], [0.693, 0.388], [0.482, 0.597], [0.334, 0.757], [0.653, 0.760]],
                        np.float32)
#: Zoom around the template (1 = FER2013's framing; 1.1 shows 10% more around the face, 0.9 10% less): chosen on
#: labelled real photos with the shipped models (``python -m bench.photos``; BENCHMARKS.md, "Real photos").
DEFAULT_ZOOM = 0.9
#: The largest side an aligned crop is rendered at before the model's own (antialiased) resize.
MAX_CROP_SIDE = 192
#: Degrees: an eye line within this of level counts as level (:func:`refine_landmarks` stops there).
LEVEL = 2.0


def eye_angle(landmarks: np.ndarray) -> float:
    """Angle in degrees of the line from the image-left eye to the image-right eye (0 = level).

    Args:
        landmarks: ``(5, 2)`` YuNet landmarks in pixels (:class:`fer_toolkit.fercore.faces.Face`).
    """
    (x0, y0), (x1, y1) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(float(y1 - y0), float(x1 - x0)))


def alignment(landmarks: np.ndarray, size: tuple[int, int], zoom: float = DEFAULT_ZOOM) -> np.ndarray:
    """The 2x3 affine matrix mapping image pixels to aligned-crop pixels.

    Rotation: minus the eye angle. Scale and shift: least squares of the rotated landmarks onto
    :data:`FER_TEMPLATE` shrunk by ``zoom`` around the crop centre (zoom > 1 shows more around the face).

    Args:
        landmarks: ``(5, 2)`` pixels of the source image.
        size: crop ``(width, height)`` in pixels.
    """
    w, h = size
    target = (FER_TEMPLATE - 0.5) / zoom * np.array([w, h], np.float32) + np.array([w, h], np.float32) / 2
    a = -math.radians(eye_angle(landmarks))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    p = landmarks.astype(np.float32) @ rot.T
    pc, tc = p - p.mean(0), target - target.mean(0)
    s = float((pc * tc).sum() / max((pc * pc).sum(), 1e-9))
    shift = target.mean(0) - s * p.mean(0)
    return np.hstack([s * rot, shift[:, None]])


def aligned_crop(image: Image.Image, landmarks: np.ndarray, size: tuple[int, int], zoom: float = DEFAULT_ZOOM,
                 max_side: int = MAX_CROP_SIDE, fill: str = "edge", mode: str | None = None) -> Image.Image:
    """The face rotated level and framed like FER2013, in ``mode`` (None: the mode of ``image``).

    The crop is rendered at the face's own resolution (at least ``size``, at most ``max_side`` on its longer
    side) with bilinear sampling, so the model's preprocessing (an antialiased resize to ``size``) does the
    final downscale. Where the framing reaches past the image (a photo cropped to the face), the image's edge
    pixels are repeated (numpy ``pad`` mode ``edge``) with ``fill="edge"``, or the pixels are black with
    ``fill="black"``.

    Args:
        size: the model's input ``(width, height)`` in pixels.
        fill: ``edge`` or ``black``.
        mode: a Pillow mode (``L`` for a grayscale model): only the part of ``image`` the crop samples is
            converted, before the rotation, which then moves a third of the bytes of an RGB one.

    Returns:
        a Pillow image whose aspect ratio is that of ``size``.
    """
    w, h = size
    m = alignment(landmarks, (1, 1), zoom)  # to unit square: the scale says how many source pixels a crop spans
    span = 1.0 / max(abs(float(np.linalg.det(m[:, :2]))) ** 0.5, 1e-9)
    k = min(max(1.0, span / max(w, h)), max_side / max(w, h))
    out_w, out_h = max(w, round(w * k)), max(h, round(h * k))
    m = alignment(landmarks, (out_w, out_h), zoom)
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]  # Pillow wants output -> input
    if fill not in ("edge", "black"):
        raise ValueError(f"fill must be edge or black, got {fill!r}")
    image, inv = _sampled_part(image, inv, (out_w, out_h), fill == "edge")
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return image.transform((out_w, out_h), Image.Transform.AFFINE, inv.flatten().tolist(),
                           resample=Image.Resampling.BILINEAR)


def _sampled_part(image: Image.Image, inv: np.ndarray, size: tuple[int, int],
                  edge: bool) -> tuple[Image.Image, np.ndarray]:
    """The part of ``image`` an output of ``size`` samples through ``inv`` (output -> input), and ``inv`` moved
    to it. With ``edge``, the part of it outside the image is filled with repeated edge pixels; without, it is
    left out (the transform samples black there). ``image`` itself where nothing of it is in view."""
    w, h = size
    corners = map_points(inv, np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64))
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, image.width), min(y1, image.height)
    if ix0 >= ix1 or iy0 >= iy1:  # nothing of the image in view: black, with or without padding
        return image, inv
    part = image.crop((ix0, iy0, ix1, iy1))
    if edge and (ix0, iy0, ix1, iy1) != (x0, y0, x1, y1):
        a = np.asarray(part)
        pads = ((iy0 - y0, y1 - iy1), (ix0 - x0, x1 - ix1)) + (((0, 0),) if a.ndim == 3 else ())
        part, ix0, iy0 = Image.fromarray(np.pad(a, pads, mode="edge")), x0, y0
    moved = inv.copy()
    moved[:, 2] -= (ix0, iy0)
    return part, moved


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points through a 2x3 affine ``matrix``."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def _view(image: Image.Image, landmarks: np.ndarray, angle: float, side: int) -> tuple[Image.Image, np.ndarray]:
    """A ``side``-px square around the face, rotated by ``-angle`` degrees, and its 2x3 image-to-view matrix."""
    eyes, mouth = landmarks[:2].mean(0), landmarks[3:].mean(0)
    span = 4.0 * max(float(np.linalg.norm(mouth - eyes)), float(np.linalg.norm(landmarks[1] - landmarks[0])), 4.0)
    a, k = -math.radians(angle), side / span
    rot = k * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre = (eyes + mouth) / 2
    m = np.hstack([rot, (np.array([side / 2, side / 2]) - rot @ centre)[:, None]])
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    src = image if image.mode in ("RGB", "L") else image.convert("RGB")  # L: turned, then made RGB (the same)
    view = src.transform((side, side), Image.Transform.AFFINE, inv.flatten().tolist(),
                         resample=Image.Resampling.BILINEAR)
    return view.convert("RGB") if view.mode != "RGB" else view, m


def refine_landmarks(image: Image.Image, landmarks: np.ndarray, detector, steps: int = 4,
                     side: int = 160) -> np.ndarray:
    """Landmarks re-measured on a view of the face turned upright: YuNet's own landmarks lag in-plane rotation.

    On a rotated face YuNet's eye line reads only part of the rotation (BENCHMARKS.md, section 6): its landmark
    regression is biased towards upright faces, but the sign of the residual tilt is right. So the tilt is
    found by bisection: turn a ``side``-px view of the face by a candidate angle, detect again, and move towards
    the side the residual eye angle points to, ``steps`` times (+-50 degrees / 2**steps resolution), until a
    view reads level (within :data:`LEVEL`). The landmarks of the last view are mapped back. A detection whose
    own eye line already reads level within :data:`LEVEL` is the first view, upright: no view is turned and its
    landmarks are kept (the speed of photo scoring: BENCHMARKS.md, section 5).

    Args:
        landmarks: ``(5, 2)`` YuNet landmarks in ``image`` pixels.
        detector: a :class:`fer_toolkit.fercore.faces.FaceDetector`.

    Returns:
        ``(5, 2)`` float32 landmarks in ``image`` pixels (the input ones if no view had a face).
    """
    lo, hi, best = -50.0, 50.0, landmarks.astype(np.float32)
    angle = eye_angle(landmarks)
    if abs(angle) < LEVEL:
        return best
    for _ in range(steps):
        view, m = _view(image, landmarks, angle, side)
        faces = [f for f in detector.detect(view, 0.3) if f.landmarks is not None]
        if not faces:
            break
        f = min(faces, key=lambda f: float(np.abs(f.landmarks.mean(0) - side / 2).sum()))
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        best, residual = map_points(inv, f.landmarks).astype(np.float32), eye_angle(f.landmarks)
        if abs(residual) < LEVEL:
            break
        lo, hi = (angle, hi) if residual > 0 else (lo, angle)
        angle = (lo + hi) / 2
    return best
