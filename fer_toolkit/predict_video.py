"""``fer-toolkit predict clip.mp4``: the faces and emotions of a video's sampled frames, as a table or JSON lines.

Each sampled frame goes through the photos' analysis path with the model's face options
(:func:`fer_toolkit.fercore.video_analysis.analyze_video`), and its faces carry a track id that follows a person
across frames. Rows are printed as the frames are decoded, so a long video streams. Videos need the ``video``
extra (PyAV, scipy); without it a video prints one ``error:`` line naming it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Iterator

from fer_toolkit.fercore.cli import print_error
from fer_toolkit.fercore.records import FIRST_FACE, TIME_DIGITS, box_text, frame_record, track_record
from fer_toolkit.fercore.video import DEFAULT_FPS, VideoDecodeError

HEADER = ("file", "time_s", "frame", "track", "box (x,y,w,h)", "label", "confidence", "crop")
_MISSING = 'reading videos needs PyAV and scipy: pip install "fer-toolkit[video]"'


def sampling_rate(text: str) -> float:
    """argparse ``type``: sampled frames per second, a finite float >= 0 (0: every frame).

    Raises:
        argparse.ArgumentTypeError: not a number, negative or infinite.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_fps_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--fps`` (videos' sampled frames per second, :data:`~fer_toolkit.fercore.video.DEFAULT_FPS`)."""
    parser.add_argument("--fps", type=sampling_rate, default=DEFAULT_FPS,
                        help="videos: sampled frames per second of video time, 0 = every frame "
                        f"(default {DEFAULT_FPS:g})")


def frame_object(name: str, frame) -> dict[str, Any]:
    """One sampled frame as a JSON-native dict: ``file``, ``frame`` (0-based index in the stream), ``time_s``
    (seconds from the stream's start), ``faces`` (each :func:`~fer_toolkit.fercore.records.face_record` plus
    ``track``; ``probs``, ``label`` and ``confidence`` are the track's moving average when ``smoothing`` is set)
    and ``smoothing`` (the moving average's ``alpha``, or None: off)."""
    faces = [track_record(number, face) for number, face in enumerate(frame.faces, start=FIRST_FACE)]
    return {"file": name, **frame_record(frame.index, frame.time_s), "smoothing": frame.smoothing, "faces": faces}


def header_line(width: int) -> str:
    """The table's header for video rows (``width``: the file column's)."""
    f, t, n, k, b, lab, c, crop = HEADER
    return f"{f:<{width}} {t:>9} {n:>6} {k:>5}  {b:<22} {lab:<9} {c:>10}  {crop}"


def table_lines(obj: dict[str, Any], width: int = 28) -> list[str]:
    """Rows of the readable table for one :func:`frame_object` (a ``no face`` row when there is none)."""
    lead = f"{obj['file']:<{width}} {obj['time_s']:>9.{TIME_DIGITS}f} {obj['frame']:>6}"
    if not obj["faces"]:
        return [f"{lead} {'-':>5}  {'no face':<22} {'-':<9} {'-':>10}  -"]
    return [f"{lead} {r['track']:>5}  {box_text(r) or 'whole frame':<22} {r['label']:<9} {r['confidence']:>10.3f}"
            f"  {r['crop']}" for r in obj["faces"]]


def frame_objects(model, source, fps: float) -> Iterator[dict[str, Any]]:
    """:func:`frame_object` of each sampled frame of ``source`` by ``model``
    (:meth:`fer_toolkit.api.EmotionModel.analyze_video`), as they are decoded.

    Raises:
        fer_toolkit.fercore.video.VideoDecodeError: unreadable, too large, or (after the earlier frames)
            truncated or corrupt video.
    """
    for frame in model.analyze_video(source, fps=fps):
        yield frame_object(str(source), frame)


def print_video(model, name: str, fps: float, as_json: bool, width: int, out=None) -> int:
    """Print one video's rows (after their header) or JSON lines as they come; an error is one ``error:`` line.

    Returns:
        0, or 1 when the video could not be read or broke off (its earlier frames are printed).
    """
    out, header = out or sys.stdout, not as_json
    try:
        for obj in frame_objects(model, name, fps):
            if header:  # before the first row, not before an error
                print(header_line(width), file=out)
                header = False
            print(json.dumps(obj) if as_json else "\n".join(table_lines(obj, width)), file=out)
            out.flush()
    except VideoDecodeError as e:
        print_error(f"{name}: {e}")
        return 1
    except ImportError:  # scipy, for the tracks
        print_error(f"{name}: {_MISSING}")
        return 1
    return 0
