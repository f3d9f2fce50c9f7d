"""Video (issue 36): streamed decoding with PyAV, tracks, and the photos' analysis path on real faces.

The clips are built here with PyAV from real faces (scikit-image's astronaut and ``lfw_subset``, FER2013), small
(320x240, a few seconds) so the tests stay fast.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import NO_DATA, NPZ, SHIPPED_MODEL

av = pytest.importorskip("av", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")
pytest.importorskip("scipy", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")

from fer_toolkit.fercore.tracks import EmaSmoother, Tracker, iou_matrix, link_border  # noqa: E402
from fer_toolkit.fercore.video import VideoDecodeError, is_video, iter_frames  # noqa: E402

W, H = 320, 240
# (extension, codec): the common containers and codecs
CONTAINERS = [(".mp4", "libx264"), (".mkv", "libx264"), (".mov", "libx264"), (".webm", "libvpx-vp9"),
              (".avi", "mpeg4")]


def write_clip(path: Path, frames, rate: int = 30, codec: str = "libx264", times_s=None, gop: int = 12,
               options: dict | None = None) -> Path:
    """Encode RGB Pillow ``frames`` with PyAV at ``rate`` frames/s, or at ``times_s`` (presentation times in
    seconds, millisecond time base: a variable frame rate); a keyframe every ``gop`` frames."""
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size, stream.bit_rate = gop, 4_000_000
        if times_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_image(image)
            if times_s is not None:
                frame.pts, frame.time_base = round(times_s[i] * 1000), Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def numbered(n: int):
    """``n`` frames whose grey level encodes their number (every 4th level), for telling frames apart."""
    for i in range(n):
        yield Image.new("RGB", (W, H), ((i * 4) % 256, 128, 255 - (i * 4) % 256))


def background() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.coffee()).resize((W, H), Image.Resampling.BILINEAR)


def astronaut_head(width: int) -> Image.Image:
    """The astronaut's head with some context (a real face), ``width`` px wide."""
    from skimage import data

    head = Image.fromarray(data.astronaut()).crop((133, 6, 313, 234))
    return head.resize((width, round(width * head.height / head.width)), Image.Resampling.LANCZOS)


def lfw_head(side: int, i: int = 7) -> Image.Image:
    """``lfw_subset`` face ``i`` (25x25, a real face) scaled to ``side`` px on a grey border of a quarter each side."""
    from skimage import data

    face = Image.fromarray((data.lfw_subset()[i] * 255).round().astype(np.uint8)).convert("RGB")
    out = Image.new("RGB", (side * 3 // 2, side * 3 // 2), (128, 128, 128))
    out.paste(face.resize((side, side), Image.Resampling.LANCZOS), (side // 4, side // 4))
    return out


def two_faces(n: int):
    """Frames with two real faces moving in opposite directions, each in its own half (no crossing)."""
    bg, a, b = background(), astronaut_head(100), lfw_head(80)
    for i in range(n):
        img = bg.copy()
        img.paste(a, (10 + i, 100 - i))
        img.paste(b, (180 - i, 10 + i))
        yield img


@pytest.fixture(scope="module")
def models():
    from fer_toolkit.fercore.faces import FaceDetector
    from fer_toolkit.fercore.predictor import Predictor

    return Predictor(SHIPPED_MODEL), FaceDetector()


def times(frames) -> list[float]:
    return [round(f.time_s, 4) for f in frames]


@pytest.mark.parametrize("ext,codec", CONTAINERS)
def test_containers_sampled_times_match_the_rate(tmp_path, ext, codec):
    path = write_clip(tmp_path / f"clip{ext}", numbered(60), codec=codec)
    assert is_video(path)
    every = list(iter_frames(path, fps=0))
    assert [f.index for f in every] == list(range(60))
    assert np.allclose([f.time_s for f in every], np.arange(60) / 30, atol=1e-3)
    sampled = list(iter_frames(path, fps=5))
    assert [f.index for f in sampled] == list(range(0, 60, 6))
    assert np.allclose([f.time_s for f in sampled], np.arange(10) / 5, atol=1e-3)
    assert sampled[0].image.size == (W, H) and sampled[0].image.mode == "RGB"
    level = [np.asarray(f.image)[..., 0].mean() / 4 for f in sampled]  # the frame's own number, from its pixels
    assert np.allclose(level, range(0, 60, 6), atol=1.5)


def test_variable_frame_rate_gets_the_real_times(tmp_path):
    at = [0.0, 0.04, 0.1, 0.5, 0.52, 0.9, 1.5, 1.51, 2.0, 2.7]
    for ext in (".mp4", ".mkv"):
        path = write_clip(tmp_path / f"vfr{ext}", numbered(len(at)), times_s=at)
        assert times(iter_frames(path, fps=0)) == at
        # the first frame at or after each point of the grid 0, 0.5, 1.0, ...
        assert times(iter_frames(path, fps=2)) == [0.0, 0.5, 1.5, 2.0, 2.7]


def test_time_ranges_seek_and_add_up_to_the_whole(tmp_path):
    path = write_clip(tmp_path / "long.mp4", numbered(90))
    whole = list(iter_frames(path, fps=5))
    parts = [f for a, b in ((0, 1.2), (1.2, 2.2), (2.2, None)) for f in iter_frames(path, fps=5, start=a, end=b)]
    assert times(parts) == times(whole) and [f.index for f in parts] == [f.index for f in whole]
    assert all(np.array_equal(np.asarray(p.image), np.asarray(w.image)) for p, w in zip(parts, whole))
    assert times(iter_frames(path, fps=0, start=1.0, end=1.1)) == [1.0, 1.0333, 1.0667]


def test_truncated_file_keeps_its_earlier_frames_then_one_error(tmp_path):
    for ext, options in ((".mkv", {}), (".mp4", {"movflags": "faststart"}), (".webm", {})):
        path = write_clip(tmp_path / f"full{ext}", numbered(90), codec="libvpx-vp9" if ext == ".webm" else "libx264",
                          options=options)
        cut = tmp_path / f"cut{ext}"
        cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        got = []
        with pytest.raises(VideoDecodeError, match="truncated or corrupt video") as err:
            for f in iter_frames(cut, fps=5):
                got.append(f)
        assert 3 <= len(got) < 15 and times(got) == [round(i / 5, 4) for i in range(len(got))], ext
        assert "\n" not in str(err.value)


def test_garbage_no_video_stream_and_too_large_are_one_error(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="^not a readable video: "):
        next(iter_frames(garbage))
    with pytest.raises(VideoDecodeError, match="^no such file$"):
        next(iter_frames(tmp_path / "missing.mp4"))
    audio = tmp_path / "audio.mp4"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        tone = av.AudioFrame.from_ndarray((np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)[None], "s16", "mono")
        tone.sample_rate = 16000
        out.mux(stream.encode(tone))
        out.mux(stream.encode())
    with pytest.raises(VideoDecodeError, match="^no video stream$"):
        next(iter_frames(audio))
    clip = write_clip(tmp_path / "clip.mp4", numbered(5))
    with pytest.raises(VideoDecodeError, match="^frame too large: 320x240 pixels exceeds the limit of 50000$"):
        next(iter_frames(clip, max_pixels=50_000))
    with pytest.raises(ValueError, match="fps"):
        next(iter_frames(clip, fps=-1))


def peak_bytes(path: Path) -> int:
    """tracemalloc's peak while the frames of ``path`` are decoded and each is looked at once."""
    gc.collect()
    tracemalloc.start()
    for f in iter_frames(path, fps=0):
        np.asarray(f.image).mean()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_the_length(tmp_path):
    short, long = write_clip(tmp_path / "short.mkv", numbered(30)), write_clip(tmp_path / "long.mkv", numbered(150))
    refs = []
    for f in iter_frames(long, fps=0):
        refs.append(weakref.ref(f.image))
    del f  # the loop's own last frame
    gc.collect()
    assert len(refs) == 150 and not any(r() for r in refs)  # the generator holds no frame behind it
    small, big = peak_bytes(short), peak_bytes(long)
    assert big < 1.5 * small + 1_000_000, (small, big)


def test_tracker_keeps_ids_ends_tracks_and_links_chunks():
    tracker = Tracker(min_iou=0.3, max_missed=2)
    assert tracker.update([(0, 0, 50, 50), (200, 0, 50, 50)]) == [1, 2]
    assert tracker.update([(205, 5, 50, 50), (5, 2, 50, 50)]) == [2, 1]  # order of faces changes, ids do not
    assert tracker.update([(210, 10, 50, 50)]) == [2]
    assert tracker.update([(215, 15, 50, 50), (100, 100, 40, 40)]) == [2, 3]
    assert tracker.update([(220, 20, 50, 50)]) == [2] and tracker.ended == [1]  # 3 frames without track 1
    assert tracker.update([(8, 4, 50, 50)]) == [4]  # a face where track 1 was: a new track, ids not reused
    assert np.allclose(iou_matrix([(0, 0, 10, 10)], [(5, 0, 10, 10), (20, 20, 5, 5)]), [[1 / 3, 0]])
    assert link_border({1: (0, 0, 50, 50), 2: (200, 0, 50, 50)}, {7: (198, 2, 50, 50), 8: (400, 0, 9, 9)}) == {7: 2}
    ema = EmaSmoother(0.5)
    assert ema.update(1, {"a": 1.0, "b": 0.0}) == {"a": 1.0, "b": 0.0}
    assert ema.update(1, {"a": 0.0, "b": 1.0}) == {"a": 0.5, "b": 0.5}
    with pytest.raises(ValueError):
        EmaSmoother(0)


def test_two_moving_faces_give_two_stable_tracks_across_chunks(tmp_path, models):
    from fer_toolkit.fercore.video_analysis import analyze_video

    path = write_clip(tmp_path / "two.mp4", two_faces(60))
    frames = list(analyze_video(path, *models, fps=5))
    assert times(frames) == [round(i / 5, 4) for i in range(10)]
    assert all(len(f.faces) == 2 for f in frames), [len(f.faces) for f in frames]
    by_track: dict[int, list] = {}
    for f in frames:
        for face in f.faces:
            by_track.setdefault(face.track, []).append(face.box)
            assert not face.smoothed and face.probs == face.result.probs and face.result.crop == "aligned"
    assert sorted(by_track) == [1, 2] and all(len(v) == 10 for v in by_track.values())
    xs = {t: [b.x for b in boxes] for t, boxes in by_track.items()}
    moving = sorted(np.sign(np.diff(v)).mean() for v in xs.values())  # one face moves left, the other right
    assert moving[0] < -0.5 and moving[1] > 0.5
    # two chunks, linked at the border: the same two tracks
    a, b = list(analyze_video(path, *models, fps=5, end=1.0)), list(analyze_video(path, *models, fps=5, start=1.0))
    link = link_border({x.track: x.box for x in a[-1].faces}, {x.track: x.box for x in b[0].faces})
    joined = [[(link[x.track] if f in b else x.track, x.box) for x in f.faces] for f in a + b]
    assert joined == [[(x.track, x.box) for x in f.faces] for f in frames]


def expression_faces(fer: dict, predictor, detector, labels=("happy", "surprise", "neutral")) -> list[np.ndarray]:
    """For each label, the first PublicTest face of it that the model gets right with >= 0.8 and YuNet finds."""
    classes = [str(c) for c in fer["classes"]]
    out = []
    for label in labels:
        for x, y in zip(fer["x_val"], fer["y_val"]):
            if classes[int(y)] != label or not detector.detect(Image.fromarray(x)):
                continue
            p = predictor.predict(x[..., None])[0]
            if classes[int(p.argmax())] == label and p.max() >= 0.8:
                out.append(x)
                break
    return out


def test_expressions_in_sequence_one_track_labels_follow_and_smoothing_says_so(tmp_path, models):
    if not NPZ.is_file():
        pytest.skip(NO_DATA)
    from fer_toolkit.fercore.video_analysis import analyze_video

    with np.load(NPZ) as d:
        fer = {k: d[k] for k in ("x_val", "y_val", "classes")}
    faces = expression_faces(fer, *models)
    assert len(faces) == 3
    bg, frames = background(), []
    for x in faces:  # one second of each face, at one place
        img = bg.copy()
        img.paste(Image.fromarray(x).convert("RGB").resize((120, 120), Image.Resampling.BICUBIC), (100, 60))
        frames += [img] * 30
    path = write_clip(tmp_path / "expressions.mkv", frames)
    raw = list(analyze_video(path, *models, fps=2))
    assert times(raw) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert all(len(f.faces) == 1 and f.faces[0].track == 1 for f in raw) and raw[0].smoothing is None
    labels = [f.faces[0].label for f in raw]
    assert len(set(labels)) >= 2 and labels[0] != labels[-1], labels  # the expression changes along one track
    smooth = list(analyze_video(path, *models, fps=2, smoothing=0.3))
    assert all(f.smoothing == 0.3 and f.faces[0].smoothed for f in smooth)
    assert smooth[0].faces[0].probs == raw[0].faces[0].probs
    assert smooth[2].faces[0].probs != raw[2].faces[0].probs  # the average lags behind the change
    assert smooth[2].faces[0].result.probs == raw[2].faces[0].result.probs  # the frame's own result stays


def test_predict_prints_rows_per_sampled_frame_and_face_beside_images(tmp_path, capsys):
    import json

    from skimage import data

    from fer_toolkit.predict import main

    clip, photo, garbage = tmp_path / "two.mp4", tmp_path / "astronaut.png", tmp_path / "bad.mp4"
    write_clip(clip, two_faces(30))
    Image.fromarray(data.astronaut()).save(photo)
    garbage.write_bytes(b"not a video at all " * 100)
    assert main([str(clip), str(photo), str(garbage), "--model", "fast", "--fps", "2"]) == 1
    out, err = capsys.readouterr()
    rows = [line.split() for line in out.splitlines() if line.startswith(str(clip))]
    # file, time_s, frame, track, box, label, confidence, crop: 1 s at 2 frames/s, two faces each
    assert [(r[1], r[2]) for r in rows] == [("0.000", "0")] * 2 + [("0.500", "15")] * 2
    assert sorted(r[3] for r in rows) == ["1", "1", "2", "2"] and all(r[7] == "aligned" for r in rows)
    assert [line.split()[1] for line in out.splitlines() if line.startswith(str(photo))] == ["1"]  # face 1
    assert err.splitlines() == [f"error: {garbage}: not a readable video: Invalid data found when processing input"]
    assert main([str(clip), "--model", "fast", "--json", "--fps", "0"]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["frame"] for f in frames] == list(range(30))
    assert np.allclose([f["time_s"] for f in frames], np.arange(30) / 30, atol=1e-3)
    assert all(f["smoothing"] is None and sorted(x["track"] for x in f["faces"]) == [1, 2] for f in frames)
    assert {"box", "label", "confidence", "probs", "crop"} <= set(frames[0]["faces"][0])
