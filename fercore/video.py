"""Streaming video frames with PyAV (FFmpeg's demuxers and decoders; its wheels bundle FFmpeg, no OpenCV).

:func:`iter_frames` demuxes and decodes one packet at a time and yields the sampled frames as they come, so memory
does not grow with the video's length. A frame's time is its presentation timestamp (``pts x time_base``, PyAV's
``Frame.time``) minus the stream's start, so variable frame rates get their real times. Sampling at ``fps`` keeps
the first frame at or after each point of the grid ``0, 1/fps, 2/fps, ...`` (kept: a grid point lies in ``(previous
frame's time, its time]``); a time range ``[start, end)`` seeks to the keyframe at or before ``start`` first
(``avformat_seek_file`` through ``Container.seek``) and samples the same frames as one pass over the whole video.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Union

from PIL import Image

from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS, ImageDecodeError

#: File extensions read as videos (lower case, with dot).
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".mpg", ".mpeg",
                                              ".wmv", ".flv", ".3gp", ".ogv"})
#: Sampled frames per second by default (0 = every frame).
DEFAULT_FPS = 4.0
#: A stream shorter than its declared duration by more than this many seconds (or 2 frames) counts as truncated.
DURATION_SLACK_S = 0.5

VideoSource = Union[str, os.PathLike, bytes, BinaryIO]


class VideoDecodeError(ImageDecodeError):
    """A video could not be read, or broke off; ``str(err)`` is one readable line. Frames decoded before a break
    have been yielded already."""


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One sampled frame: ``index`` (0-based in the stream), ``time_s`` (seconds from the stream's start) and
    ``image`` (Pillow RGB, rotated upright by the stream's display matrix)."""

    index: int
    time_s: float
    image: Image.Image


def is_video(path: str | os.PathLike) -> bool:
    """Whether ``path``'s extension is one of :data:`VIDEO_EXTENSIONS` (the content is not looked at)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def open_video(source: VideoSource, max_pixels: int = DEFAULT_MAX_PIXELS):
    """``(container, stream)``: the opened PyAV input container and its first video stream (caller closes).

    Raises:
        VideoDecodeError: PyAV is not installed, no such file, not a container FFmpeg can read, no video
            stream, frames above ``max_pixels`` (width x height).
    """
    av = _av()
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise VideoDecodeError("no such file" if not Path(source).exists() else "not a file")
    try:
        container = av.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source, "r")
    except (av.FFmpegError, OSError, ValueError) as e:
        raise VideoDecodeError(f"not a readable video: {_reason(e)}") from None
    if not container.streams.video:
        container.close()
        raise VideoDecodeError("no video stream")
    stream = container.streams.video[0]
    try:
        _check_size(stream.codec_context.width, stream.codec_context.height, max_pixels)
    except VideoDecodeError:
        container.close()
        raise
    return container, stream


def iter_frames(source: VideoSource, fps: float = DEFAULT_FPS, start: float | None = None, end: float | None = None,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[VideoFrame]:
    """Yield the sampled frames of ``source``'s first video stream, in presentation order.

    Args:
        source: a file path, the encoded bytes, or a readable binary file object.
        fps: sampled frames per second of video time; 0 keeps every frame.
        start, end: seconds from the stream's start; frames with ``start <= time_s < end`` are yielded.
            ``start`` seeks to the keyframe at or before it. The frame ``index`` counts decoded frames from the
            stream's start; after a seek it is the first frame's time x the stream's average rate (exact for a
            constant rate).
        max_pixels: frames with more pixels (width x height) are refused.

    Raises:
        ValueError: negative ``fps``, or ``end <= start``.
        VideoDecodeError: see :func:`open_video`; or, after the frames decoded so far were yielded, the file
            is truncated (fewer frames or a shorter time than its container declares) or its data is corrupt.
    """
    if fps < 0 or (start is not None and start < 0):
        raise ValueError(f"fps and start must be >= 0, got fps={fps}, start={start}")
    if end is not None and end <= (start or 0):
        raise ValueError(f"end must be after start, got start={start}, end={end}")
    grid = _exact(fps) if fps else None
    start, end = (None if v is None else _exact(v) for v in (start, end))  # 1.1 s means 11/10, not the float
    av, (container, stream) = _av(), open_video(source, max_pixels)
    with container:
        stream.thread_type = "AUTO"  # FFmpeg's frame and slice threads
        tb, t0 = stream.time_base, stream.start_time or 0
        rate = stream.average_rate or stream.guessed_rate
        seek = bool(start)
        if seek:
            try:
                container.seek(t0 + int(start / tb), stream=stream, backward=True, any_frame=False)
            except av.FFmpegError as e:
                raise VideoDecodeError(f"cannot seek to {float(start):.3f} s: {_reason(e)}") from None
        index, last_slot, t = None if seek else 0, None, Fraction(-1)
        decoded = _decoded(container, stream, not seek)
        for frame in decoded:
            pts = frame.pts if frame.pts is not None else frame.dts
            t = (pts - t0) * tb if pts is not None else t + (1 / rate if rate else 0)
            if index is None:
                index = round(t * rate) if rate else 0
            keep = grid is None or last_slot is None or math.floor(t * grid) > last_slot
            if grid is not None:
                last_slot = math.floor(t * grid) if last_slot is None else max(math.floor(t * grid), last_slot)
            if end is not None and t >= end:
                decoded.close()  # before the container closes
                return
            if keep and t >= (start or 0):  # (FFmpeg drops an edit list's pre-roll; negative times, if any, too)
                _check_size(frame.width, frame.height, max_pixels)
                yield VideoFrame(index, float(t), _upright(frame.to_image(), frame.rotation))
            index += 1


def _decoded(container, stream, from_start: bool) -> Iterator:
    """The decoded frames, one packet at a time; then the decoder's delayed frames; then a
    :class:`VideoDecodeError` if the data broke off or was corrupt."""
    av, packets, end_ts, reason = _av(), 0, None, None
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the empty packet that ends the stream
                continue
            if packet.is_corrupt:
                reason = "corrupt data" + _at(packet.pts, stream)
                break
            packets += 1
            if packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
                end_ts = end if end_ts is None else max(end_ts, end)
            yield from stream.codec_context.decode(packet)
        else:
            reason = _truncation(container, stream, packets if from_start else None, end_ts)
    except av.FFmpegError as e:
        reason = f"corrupt data: {_reason(e)}"
    try:
        yield from stream.codec_context.decode(None)  # flush: the frames still held by the decoder
    except av.FFmpegError:
        pass
    if reason:
        raise VideoDecodeError(f"truncated or corrupt video: {reason}")


def _truncation(container, stream, packets: int | None, end_ts: int | None) -> str | None:
    """Why the stream looks cut short against what the container declares, or None."""
    if packets is not None and stream.frames and packets < stream.frames:
        return f"it ends after {packets} of its {stream.frames} frames"
    declared = declared_duration(container, stream)
    got = float((end_ts - (stream.start_time or 0)) * stream.time_base) if end_ts is not None else 0.0
    rate = float(stream.average_rate or 0)
    if declared is not None and got < declared - max(DURATION_SLACK_S, 2 / rate if rate else 0):
        return f"it ends at {got:.2f} s of its {declared:.2f} s"
    return None


def declared_duration(container, stream) -> float | None:
    """The stream's duration in seconds: its own, Matroska's ``DURATION`` tag, or the container's if alone."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    tag = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", stream.metadata.get("DURATION", ""))
    if tag:
        return int(tag[1]) * 3600 + int(tag[2]) * 60 + float(tag[3])
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _upright(image: Image.Image, rotation: float) -> Image.Image:
    """Apply the display matrix's rotation (degrees counter-clockwise, multiples of 90; phone videos)."""
    turn = round((rotation or 0) / 90) % 4
    return image if not turn else image.transpose((None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
                                                   Image.Transpose.ROTATE_270)[turn])


def _av():
    """PyAV, imported on first use (this module's names stay importable without the ``video`` extra)."""
    try:
        import av
    except ImportError:
        raise VideoDecodeError('reading videos needs PyAV: pip install "fer-toolkit[video]"') from None
    return av


def _exact(seconds: float) -> Fraction:
    return Fraction(seconds).limit_denominator(1_000_000)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise VideoDecodeError(f"frame too large: {width}x{height} pixels exceeds the limit of {max_pixels}")


def _at(pts: int | None, stream) -> str:
    return "" if pts is None else f" at {float((pts - (stream.start_time or 0)) * stream.time_base):.3f} s"


def _reason(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e).splitlines()[0]
