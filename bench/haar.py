"""The Haar-cascade detector the project used before YuNet, kept only so ``make bench`` can compare.

Viola & Jones 2001, OpenCV's pretrained ``haarcascade_frontalface_default.xml`` (shipped in the OpenCV wheel),
with the old settings: downscale to 480 px, faces from 8% of the short side, ``minNeighbors`` 8, scale 1.2.
"""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from fer_toolkit.fercore.faces import Box, Face


class HaarDetector:
    """Same ``detect`` contract as :class:`fer_toolkit.fercore.faces.FaceDetector` (no landmarks, score 1).

    Raises:
        ImportError: OpenCV is not installed.
    """

    def __init__(self, max_side: int = 480, min_size_frac: float = 0.08, min_neighbors: int = 8,
                 scale_factor: float = 1.2):
        import cv2

        self._cv2, self.path = cv2, cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.max_side, self.min_size_frac, self.min_neighbors = max_side, min_size_frac, min_neighbors
        self.scale_factor, self._local = scale_factor, threading.local()

    def _cascade(self):
        if not hasattr(self._local, "cascade"):
            self._local.cascade = self._cv2.CascadeClassifier(self.path)
        return self._local.cascade

    def detect(self, image: Image.Image, score_threshold: float | None = None) -> list[Face]:
        """Faces in ``image``, largest first (``score_threshold`` is ignored)."""
        gray = image.convert("L")
        scale = min(1.0, self.max_side / max(gray.size))
        if scale < 1.0:
            gray = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale))),
                               Image.Resampling.BILINEAR)
        arr = np.asarray(gray)
        side = max(20, int(min(arr.shape) * self.min_size_frac))
        found = self._cascade().detectMultiScale(arr, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                                 minSize=(side, side))
        boxes = [Box(*(int(round(v / scale)) for v in b)) for b in np.asarray(found).reshape(-1, 4)]
        return [Face(b, None, 1.0) for b in sorted(boxes, key=lambda b: -b.area)]
