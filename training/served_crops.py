"""Training faces in the crop geometry that serving gives real photos: "train what you serve".

Served faces are detected (YuNet), re-measured upright and aligned to the FER2013 landmark template
(:func:`fer_toolkit.fercore.analyze.face_input`); FER2013's own crops keep Kaggle's framing, which that geometry
only approximates (eyes not level, faces larger or smaller). Each training face is enlarged
:data:`UPSCALE` times (YuNet finds few faces in 48x48 images), run through the same ``face_input`` as served
photos, and brought back to the model's input size by the same preprocessing. ``train --served-crops P``
replaces a seeded random share ``P`` of the training faces by these crops (the rest keep FER2013's framing, which
is what 48x48 crops are served in: ``auto`` classifies them whole). Faces YuNet does not find keep their own crop.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from fer_toolkit.fercore.align import DEFAULT_ZOOM
from fer_toolkit.fercore.analyze import face_input
from fer_toolkit.fercore.config import DataConfig

log = logging.getLogger(__name__)
#: Training faces are enlarged this many times before detection, with Pillow's bicubic filter.
UPSCALE = 3


def served_crops(x: np.ndarray, config: DataConfig, zoom: float = DEFAULT_ZOOM,
                 detector=None) -> tuple[np.ndarray, np.ndarray]:
    """Every face of ``x`` in the served crop geometry.

    Args:
        x: uint8 ``(N, H, W, C)`` face crops (FER2013's, or any labelled crops).
        config: the model's data config (its input size and channels are the output's).
        zoom: the aligner's framing (:data:`fer_toolkit.fercore.align.DEFAULT_ZOOM`, as served).
        detector: a :class:`fer_toolkit.fercore.faces.FaceDetector` (default: the served one, its threshold).

    Returns:
        ``(crops, found)``: uint8 ``config.input_shape`` per face (the input itself where no face was found)
        and bool ``(N,)``, True where a face was found and aligned.
    """
    from fer_toolkit.fercore.faces import FaceDetector

    detector = detector or FaceDetector()
    out, found = np.array(x, copy=True), np.zeros(len(x), bool)
    for i, face in enumerate(x):
        img = Image.fromarray(face[..., 0] if face.shape[-1] == 1 else face)
        img = img.resize((img.width * UPSCALE, img.height * UPSCALE), Image.Resampling.BICUBIC)
        faces = [f for f in detector.detect(img) if f.landmarks is not None]
        if faces:
            out[i] = face_input(img, faces[0], config, detector, True, zoom)[0]
            found[i] = True
        if (i + 1) % 5000 == 0:
            log.info("served crops: %d of %d faces, %d found", i + 1, len(x), found[: i + 1].sum())
    return out, found


def cached_served_crops(x: np.ndarray, config: DataConfig, cache: Path,
                        zoom: float = DEFAULT_ZOOM) -> tuple[np.ndarray, np.ndarray]:
    """:func:`served_crops`, kept in the ``.npz`` file ``cache`` and read back while its images match ``x``."""
    cache = Path(cache)
    if cache.is_file():
        with np.load(cache) as z:
            if z["crops"].shape == x.shape and float(z["zoom"]) == zoom and np.array_equal(z["first"], x[:64]):
                return z["crops"], z["found"]
    crops, found = served_crops(x, config, zoom)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, crops=crops, found=found, zoom=zoom, first=x[:64])
    return crops, found


def mix_served(x: np.ndarray, crops: np.ndarray, found: np.ndarray, share: float, seed: int) -> np.ndarray:
    """``x`` with a seeded random ``share`` (0..1) of its found faces replaced by their served crops.

    Raises:
        ValueError: ``share`` outside 0..1.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"--served-crops must be within 0..1, got {share}")
    pick = (np.random.default_rng(seed).random(len(x)) < share) & found
    return np.where(pick[:, None, None, None], crops, x)
