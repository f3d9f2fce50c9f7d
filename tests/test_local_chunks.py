"""The in-process scorer cuts a small folder's chunks so that every thread gets work, without changing the
report (``fer_toolkit.worker.local.spread``)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.conftest import ROOT


def test_spread_cuts_small_plans_in_order_and_keeps_video_ranges_whole():
    from fer_toolkit.worker.local import spread

    images = [f"{i:03d}.jpg" for i in range(240)]
    cut = spread([images], 2)
    assert [p for c in cut for p in c] == images and len(cut) == 8 and max(map(len, cut)) == 30
    big = [images[i:i + 30] for i in range(0, 240, 30)]
    assert spread(big, 2) == big  # already four chunks per thread: left as they are
    video = ["a.mp4", 0.0, 20.0, 80]  # a range of 80 sampled frames: heavier than a piece, never cut
    cut = spread([["x.jpg", video, "y.jpg"]], 4)
    assert [i for c in cut for i in c] == ["x.jpg", video, "y.jpg"] and [video] in cut


def test_cut_chunks_give_the_same_report(fer, tmp_path):
    from fer_toolkit.worker.local import score_local

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, x in enumerate(fer["x_test"][:24]):
        big = Image.fromarray(x).resize((192, 192), Image.Resampling.BICUBIC)
        canvas = Image.new("L", (320, 240), int(rng.integers(0, 255)))
        canvas.paste(big, (int(rng.integers(0, 128)), int(rng.integers(0, 48))))
        canvas.save(folder / f"{i:02d}.png")
    model = ROOT / "models" / "fer2013_cnn.onnx"
    one = score_local(folder, tmp_path / "one.csv", threads=1, model=model, progress=False)
    two = score_local(folder, tmp_path / "two.csv", threads=2, model=model, progress=False)
    assert one["status"] == two["status"] and sum(one["status"].values()) >= 24
    assert (tmp_path / "one.csv").read_text() == (tmp_path / "two.csv").read_text()
