"""A video cut into chunk items: time ranges on the sampling grid, so the ranges together sample what one pass does.

A video item of the chunk plan is ``[path, start, end, frames]``: ``path`` relative to the input folder,
``start`` and ``end`` seconds from the stream's start (``start`` None: from its beginning; ``end`` None: to its
end) and ``frames``, the sampled frames the range is expected to hold (its weight in a chunk and in the job's
progress). Each range but the last holds ``chunk_size`` sampled frames: its borders are multiples of
``chunk_size / fps`` seconds, points of the sampling grid ``0, 1/fps, 2/fps, ...``. Since
:func:`fer_toolkit.fercore.video.iter_frames` keeps the first frame at or after each grid point and a range seeks
to the keyframe before its start, every sampled frame lies in exactly one range and is the frame one pass over the
whole video samples. With ``fps`` 0 (every frame) a range holds ``chunk_size`` frames at the stream's average rate.

A video that cannot be opened (no such file, garbage, no video stream, frames above ``max_pixels``, PyAV missing)
or whose duration is unknown is one item over the whole file: scoring it gives its rows, or its one error row.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from fer_toolkit.fercore.video import VideoDecodeError, declared_duration, open_video

#: A range's place in a video item: ``[path, start, end, frames]``.
PATH, START, END, FRAMES = range(4)


def video_items(path: Path, rel: str, fps: float, chunk_size: int, max_pixels: int) -> list[list]:
    """The chunk items of the video at ``path`` (``rel``: its path in the plan), in time order.

    Args:
        fps: sampled frames per second (0: every frame); chunk_size: sampled frames per range (>= 1).
        max_pixels: a video with larger frames (width x height) is one item (its error row says why).
    """
    try:
        container, stream = open_video(path, max_pixels)
    except VideoDecodeError:
        return [[rel, None, None, 1]]
    with container:
        duration = declared_duration(container, stream)
        rate = stream.average_rate or stream.guessed_rate
    per_s = Fraction(fps).limit_denominator(1_000_000) if fps else (Fraction(rate) if rate else None)
    if not duration or duration <= 0 or not per_s:
        return [[rel, None, None, 1]]
    step = chunk_size / per_s  # seconds per range, a multiple of 1 / fps
    total = max(1, math.ceil(Fraction(duration) * per_s))  # sampled frames
    n = max(1, math.ceil(total / chunk_size))
    return [[rel, float(k * step) if k else None, float((k + 1) * step) if k < n - 1 else None,
             chunk_size if k < n - 1 else total - (n - 1) * chunk_size] for k in range(n)]
