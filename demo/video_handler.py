"""The demo's pure video handler: one clip in, per-frame table, probabilities over time per track, keyframes out.

No Gradio: :func:`analyze_clip` runs :meth:`fer_toolkit.api.EmotionModel.analyze_video` (each sampled frame through
the photos' analysis path with the model's face options, faces linked into tracks) and keeps only the small things
the UI shows: one JSON-native object per sampled frame (:mod:`fer_toolkit.fercore.records`' ``frame_record`` and
``track_record``, as in ``predict --json`` and the batch report) and a few annotated keyframes, so memory does not
grow with the frames' pixels.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from fer_toolkit.demo.handler import DemoModel, annotate
from fer_toolkit.fercore.records import FIRST_FACE, box_text, frame_record, track_record
from fer_toolkit.fercore.video import DEFAULT_FPS, VideoDecodeError, VideoSource, declared_duration, open_video

KEYFRAMES = 6  # annotated frames in the strip
THUMBNAIL = 480  # keyframes are scaled down to this many pixels on their longer side
NO_FACE = "no face"

#: ``progress(decoded_s, duration_s)``: seconds of video decoded so far, and the declared duration (None: unknown).
Progress = Callable[[float, "float | None"], None]


@dataclass(frozen=True)
class VideoResult:
    """What the Video tab shows for one clip.

    Attributes:
        frames: one dict per sampled frame, in time order: :func:`~fer_toolkit.fercore.records.frame_record`'s
            ``frame`` (0-based) and ``time_s`` (seconds), and ``faces``, each a
            :func:`~fer_toolkit.fercore.records.track_record` (``track``, ``box`` ``[x, y, w, h]`` px, ``label``,
            ``confidence`` and ``probs`` 0..1 ...).
        labels: the model's classes, in its output order.
        keyframes: up to :data:`KEYFRAMES` evenly spaced sampled frames (RGB, at most :data:`THUMBNAIL` px) with
            a box, ``#track`` and the label drawn per face, each with a caption ``"<time> s, frame <n>"``.
        duration_s: the duration the file declares in seconds, or None.
        warning: None, or the one-line reason the video broke off (the frames before it are kept).
    """

    frames: list[dict[str, Any]]
    labels: tuple[str, ...]
    keyframes: list[tuple[Image.Image, str]]
    duration_s: float | None
    warning: str | None = None

    @property
    def tracks(self) -> list[int]:
        """Track ids, the most often seen first (ties: the lower id)."""
        seen = Counter(f["track"] for frame in self.frames for f in frame["faces"])
        return sorted(seen, key=lambda t: (-seen[t], t))

    def headers(self) -> list[str]:
        """The table's columns: ``time_s``, ``frame``, ``track``, ``box`` (``x,y,w,h``), ``label``,
        ``confidence``, then ``p_<label>`` per class (as the batch report's)."""
        return ["time_s", "frame", "track", "box", "label", "confidence", *(f"p_{name}" for name in self.labels)]

    def rows(self) -> list[list]:
        """One row per sampled frame and face (values as :func:`~fer_toolkit.fercore.records.face_record`
        rounds them); a frame without a face is one row with ``box`` ``"no face"`` and the other face cells
        empty. A frame classified whole has an empty box."""
        out = []
        for frame in self.frames:
            lead = [frame["time_s"], frame["frame"]]
            if not frame["faces"]:
                out.append(lead + ["", NO_FACE, "", ""] + [""] * len(self.labels))
            for f in frame["faces"]:
                out.append(lead + [f["track"], box_text(f), f["label"], f["confidence"],
                                   *(f["probs"][name] for name in self.labels)])
        return out

    def series(self, track: int) -> list[tuple[float, str, float]]:
        """``(time_s, label, probability)`` for each class at each sampled frame where ``track`` has a face."""
        return [(frame["time_s"], name, f["probs"][name]) for frame in self.frames for f in frame["faces"]
                if f["track"] == track for name in self.labels]

    def write_csv(self, path: str | Path) -> Path:
        """Write :meth:`headers` and :meth:`rows` as a UTF-8 CSV file at ``path`` and return it."""
        path = Path(path)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(self.headers())
            writer.writerows(self.rows())
        return path

    def markdown(self) -> str:
        """A summary: sampled frames, the time they span, frames with a face, tracks, and any warning."""
        n, tracks = len(self.frames), self.tracks
        with_face = sum(1 for f in self.frames if f["faces"])
        span = f"{self.frames[-1]['time_s']:.2f} s" if self.frames else "0 s"
        of = f" of {self.duration_s:.2f} s" if self.duration_s else ""
        text = (f"**{n} sampled frame{'s' if n != 1 else ''}** up to {span}{of}; a face in {with_face}; "
                f"{len(tracks)} track{'s' if len(tracks) != 1 else ''}" + (": " + ", ".join(
                    f"#{t}" for t in tracks) if tracks else "") + "; probabilities not smoothed")
        return text + (f"  \n**stopped early:** {self.warning}" if self.warning else "")


def analyze_clip(source: VideoSource, model: DemoModel, fps: float = DEFAULT_FPS,
                 progress: Progress | None = None, keyframes: int = KEYFRAMES) -> VideoResult:
    """Sample ``source`` at ``fps`` frames per second (0: every frame) and analyse each sampled frame.

    Args:
        source: a video file path, its bytes or a binary file object.
        model: the demo's model, loaded once; its face options apply (``max_pixels`` per frame included).
        progress: called after each sampled frame with the seconds decoded and the declared duration.
        keyframes: how many annotated frames to keep for the strip.

    Raises:
        fer_toolkit.fercore.video.VideoDecodeError: not a video, no video stream, frames too large, or no frame
            decoded before the file broke off (one line). A break after some frames is ``VideoResult.warning``.
        ValueError: a negative or non-finite ``fps``.
        ImportError: the ``video`` extra (PyAV, scipy) is missing.
    """
    if not 0 <= fps < float("inf"):
        raise ValueError(f"fps must be >= 0, got {fps}")
    container, stream = open_video(source, model.max_pixels)
    with container:
        duration = declared_duration(container, stream)
    if hasattr(source, "seek"):
        source.seek(0)
    frames, strip, warning = [], Strip(keyframes), None
    try:
        for frame in model.analyze_video(source, fps=fps, keep_images=True):
            strip.offer(len(frames), frame)
            frames.append({**frame_record(frame.index, frame.time_s),
                           "faces": [track_record(n, f) for n, f in enumerate(frame.faces, start=FIRST_FACE)]})
            if progress is not None:
                progress(frame.time_s, duration)
    except VideoDecodeError as e:
        if not frames:
            raise
        warning = str(e)
    return VideoResult(frames, tuple(model.labels), strip.pick(), duration, warning)


class Strip:
    """Evenly spaced sampled frames in bounded memory: every ``stride``-th frame is annotated and kept, and when
    more than ``2 * k`` are held every other one is dropped and the stride doubles."""

    def __init__(self, k: int):
        self.k, self.stride, self.kept = max(1, k), 1, []

    def offer(self, n: int, frame) -> None:
        """Consider sampled frame number ``n`` (0-based), a :class:`~fer_toolkit.fercore.video_analysis.FrameResult`
        with its image."""
        if n % self.stride:
            return
        tags = [f"#{f.track}" for f in frame.faces]
        image = annotate(frame.image, [f.result for f in frame.faces], tags)
        image.thumbnail((THUMBNAIL, THUMBNAIL))
        self.kept.append((image, f"{frame.time_s:.2f} s, frame {frame.index}"))
        if len(self.kept) > 2 * self.k:
            self.kept, self.stride = self.kept[::2], self.stride * 2

    def pick(self) -> list[tuple[Image.Image, str]]:
        """Up to ``k`` of the kept frames, evenly spaced, the first and the last included."""
        n = len(self.kept)
        if n <= self.k:
            return list(self.kept)
        return [self.kept[round(i * (n - 1) / (self.k - 1))] for i in range(self.k)] if self.k > 1 else self.kept[:1]
