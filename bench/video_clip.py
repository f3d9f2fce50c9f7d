"""Benchmark clips built with PyAV from a real face: the demo's astronaut moving slightly on a 640x480 frame, H.264.

The head moves along a small closed path (a cycle of :data:`CYCLE` distinct frames), so the detector, the
aligner and the tracker see a real face that shifts a little from frame to frame, as in an interview recording.
The distinct frames are converted to YUV once and handed to the encoder again and again, so a 10-minute clip
takes about as long to build as the encoder needs.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from PIL import Image

from bench.common import ASTRONAUT

WIDTH, HEIGHT = 640, 480
#: Frames per second of the clips.
RATE = 30
#: Distinct frames in one cycle of the head's motion (two seconds at :data:`RATE`).
CYCLE = 60
#: Side of the astronaut photo on the frame, in pixels (her face is about a third of it).
HEAD = 300


def astronaut_frames(n: int = CYCLE) -> list[Image.Image]:
    """``n`` RGB 640x480 frames: the astronaut photo on a grey background, its position along a small figure eight
    (24 px left and right, 12 px up and down) over the ``n`` frames."""
    head = Image.open(ASTRONAUT).convert("RGB").resize((HEAD, HEAD), Image.Resampling.LANCZOS)
    x0, y0 = (WIDTH - HEAD) // 2, (HEIGHT - HEAD) // 2
    frames = []
    for k in range(n):
        a = 2 * math.pi * k / n
        canvas = Image.new("RGB", (WIDTH, HEIGHT), (120, 120, 120))
        canvas.paste(head, (x0 + round(24 * math.sin(a)), y0 + round(12 * math.sin(2 * a))))
        frames.append(canvas)
    return frames


def write_clip(path: Path, seconds: float, bitrate: int = 1_000_000, preset: str = "veryfast") -> Path:
    """Encode ``seconds`` of the moving astronaut into ``path`` (H.264 with libx264, yuv420p, :data:`RATE`
    frames/s, the encoder's default keyframe interval) and return ``path``.

    Args:
        bitrate: the encoder's target, bits per second.
        preset: libx264's speed preset (``ultrafast`` builds long clips quickest).

    Raises:
        ValueError: ``seconds`` gives no frame.
    """
    import av

    n = round(seconds * RATE)
    if n < 1:
        raise ValueError(f"a clip of {seconds} s has no frame at {RATE} frames/s")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=RATE, options={"preset": preset})
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = WIDTH, HEIGHT, "yuv420p", bitrate
        cycle = [av.VideoFrame.from_image(img).reformat(format="yuv420p") for img in astronaut_frames()]
        for i in range(n):
            frame = cycle[i % len(cycle)]
            frame.pts, frame.time_base = i, Fraction(1, RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path
