"""The one preprocessing function: decode -> EXIF orientation -> L/RGB -> resize.

Training (folder trees), export (parity images), the demo and the batch workers
all call :func:`load_image`, so a model sees the same pixels everywhere.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_toolkit.fercore.config import DataConfig

#: File extensions read as images from folder trees (lower case, with dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})

#: Default decompression-bomb guard in pixels (width x height), ~ 8k x 5k.
DEFAULT_MAX_PIXELS = 40_000_000

ImageSource = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]


class ImageDecodeError(ValueError):
    """An input could not be turned into an image; ``str(err)`` is one readable line."""


def open_image(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS, draft: tuple[str, tuple[int, int]] | None = None
) -> Image.Image:
    """Decode ``source`` into a Pillow image with EXIF orientation applied.

    Args:
        source: a file path, encoded bytes, a Pillow image, or a uint8 array of
            shape ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``.
        max_pixels: refuse images with more pixels than this (decompression
            bombs) before decoding the pixel data.
        draft: optional ``(mode, (w, h))`` passed to ``Image.draft`` so a large
            JPEG is decoded at a reduced DCT scale no smaller than ``(w, h)``.

    Raises:
        ImageDecodeError: unreadable, corrupt, truncated, empty or too large input.
    """
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.size == 0 or arr.ndim not in (2, 3):
            raise ImageDecodeError(f"array of shape {source.shape} is not an image")
        return Image.fromarray(np.ascontiguousarray(arr).astype(np.uint8, copy=False))
    if isinstance(source, Image.Image):
        img = source
    else:
        fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fp)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageDecodeError(f"image too large: over Pillow's limit of {Image.MAX_IMAGE_PIXELS} pixels") from None
        except UnidentifiedImageError as e:
            raise ImageDecodeError(f"not a readable image: {type(e).__name__}") from None
        except OSError as e:
            raise ImageDecodeError(f"cannot open image: {e.strerror or e}") from None
    w, h = img.size
    if w == 0 or h == 0:
        raise ImageDecodeError("empty image (0 pixels)")
    if w * h > max_pixels:
        raise ImageDecodeError(f"image too large: {w}x{h} pixels exceeds the limit of {max_pixels}")
    try:
        if draft is not None and img.format == "JPEG":
            img.draft(*draft)
        img.load()
        if img.getexif().get(0x0112, 1) != 1:  # EXIF orientation tag
            img = ImageOps.exif_transpose(img)
        return img
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageDecodeError(f"corrupt or truncated image: {e}".splitlines()[0]) from None


def to_model_mode(img: Image.Image, channels: int) -> Image.Image:
    """Convert any Pillow mode (P, LA, RGBA, CMYK, I;16, I, F, ...) to ``L`` or ``RGB``.

    Transparent pixels are composited on white; 16-bit images are scaled by
    1/257 (65535 -> 255); 32-bit int/float images outside 0..65535 are min-max scaled.
    """
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if img.mode.startswith("I;16") or (lo >= 0 and 255 < hi <= 65535):
            arr = arr / 257.0  # 16-bit full range -> 8-bit
        elif lo < 0 or hi > 65535:
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(np.clip(arr.round(), 0, 255).astype(np.uint8), "L")
    if img.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("L" if channels == 1 else "RGB")


def load_image(source: ImageSource, config: DataConfig, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode and preprocess one image for a model with data config ``config``.

    Steps: decode (JPEG draft mode for large JPEGs), EXIF orientation, convert to
    grayscale or RGB, resize to ``config.input_size`` with Pillow's antialiased
    bilinear filter (aspect ratio is not kept: inputs are expected to be face crops).

    Returns:
        uint8 array of shape ``(H, W, C)`` = ``config.input_shape``, values 0..255.
        The model takes it as float32 NHWC without further normalisation.

    Raises:
        ImageDecodeError: see :func:`open_image`.
    """
    h, w = config.input_size
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise ImageDecodeError(f"not a file: {source}")
    img = open_image(source, max_pixels=max_pixels, draft=("L" if config.channels == 1 else "RGB", (2 * w, 2 * h)))
    try:
        img = to_model_mode(img, config.channels)
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageDecodeError(f"corrupt or truncated image: {e}".splitlines()[0]) from None
    return arr.reshape(config.input_shape)
