"""``bench.macs``: the arithmetic per image of the shipped files, against a count by hand of their architecture."""

from __future__ import annotations

import pytest

from bench.macs import macs_per_image
from fer_toolkit.models import HERE


def by_hand(side: int = 48, widths=(32, 64, 128, 256), dense: int = 256, classes: int = 7) -> int:
    """Two 3x3 convolutions per block, each block at half the side of the one before (2x2 max pooling), then
    global average pooling, a dense layer and the classifier (models/README.md, "Where they come from")."""
    total, channels = 0, 1
    for i, w in enumerate(widths):
        s = side // 2 ** i
        total += s * s * 9 * (channels * w + w * w)
        channels = w
    return total + channels * dense + dense * classes


def test_one_network_counts_as_its_architecture():
    assert macs_per_image(HERE / "fer2013_cnn.onnx") == by_hand() == 117_516_032


def test_members_and_views_are_each_counted():
    """The balanced file runs three networks once; the accurate file two networks on six views each, every view
    resized to 48 px."""
    assert macs_per_image(HERE / "fer2013_cnn_ens3.onnx") == 3 * by_hand()
    assert macs_per_image(HERE / "fer2013_cnn_flip.onnx") == 12 * by_hand()


def test_a_quantized_file_is_refused_with_its_fp32_twin_named():
    with pytest.raises(ValueError, match="count the fp32 file"):
        macs_per_image(HERE / "fer2013_cnn.int8.onnx")
