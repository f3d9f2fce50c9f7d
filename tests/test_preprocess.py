"""fercore preprocessing on real images and on the bad files users have."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fer_toolkit.fercore import DataConfig, ImageDecodeError, load_image
from tests.conftest import SAMPLES

GRAY = DataConfig()
RGB64 = DataConfig(input_size=(64, 64), channels=3, labels=("a", "b"))


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def face(fer):
    """A real PrivateTest face, uint8 (48, 48)."""
    return fer["x_test"][123]


def test_fer_png_round_trips_exactly(face, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face).save(path)
    out = load_image(path, GRAY)
    assert out.shape == (48, 48, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], face)


def test_shared_samples_load(fer):
    if not SAMPLES.is_dir():
        pytest.skip(f"no samples folder at {SAMPLES}")
    for path in sorted(SAMPLES.glob("*.png")):
        assert load_image(path, GRAY).shape == (48, 48, 1)


def test_exif_orientation_is_applied(face):
    big = Image.fromarray(face).resize((96, 96))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewer must rotate 90 degrees clockwise
    stored = big.transpose(Image.Transpose.ROTATE_90)
    out = load_image(_png(stored, "JPEG", exif=exif, quality=98), GRAY)
    expected = load_image(_png(big, "JPEG", quality=98), GRAY)
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 4


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "I;16", "LA", "1"])
def test_modes_convert_to_model_input(face, mode):
    img = Image.fromarray(face).convert("RGB").convert(mode) if mode != "I;16" else \
        Image.fromarray(face.astype(np.uint16) * 257)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    for cfg in (GRAY, RGB64):
        out = load_image(_png(img, fmt), cfg)
        assert out.shape == cfg.input_shape and out.dtype == np.uint8
    if mode in ("RGB", "I;16"):
        assert np.abs(load_image(_png(img, fmt), GRAY)[..., 0].astype(int) - face).max() <= 1


def test_large_jpeg_is_resized(face):
    big = Image.fromarray(face).resize((640, 640))
    out = load_image(_png(big, "JPEG"), GRAY)
    assert out.shape == (48, 48, 1)
    assert np.abs(out[..., 0].astype(int) - face).mean() < 8


@pytest.mark.parametrize("data, reason", [
    (b"", "not a readable image"),
    (b"GIF89a not really", "not a readable image"),
    (b"hello, I am a text file", "not a readable image"),
])
def test_bad_bytes_raise_one_line(data, reason):
    with pytest.raises(ImageDecodeError, match=reason) as e:
        load_image(data, GRAY)
    assert "\n" not in str(e.value)


def test_truncated_and_bomb(face, tmp_path):
    data = _png(Image.fromarray(face).resize((200, 200)), "JPEG")
    with pytest.raises(ImageDecodeError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2], GRAY)
    with pytest.raises(ImageDecodeError, match="too large"):
        load_image(_png(Image.new("L", (3000, 3000))), GRAY, max_pixels=1_000_000)
    with pytest.raises(ImageDecodeError, match="not a file"):
        load_image(tmp_path / "missing.png", GRAY)
