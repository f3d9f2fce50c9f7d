"""Emotions over time in a video: every sampled frame through the photos' analysis path, faces linked into tracks.

Frames come from :func:`fer_toolkit.fercore.video.iter_frames` (PyAV, streamed), each goes through
:func:`fer_toolkit.fercore.analyze.analyze` exactly as a photo does (face mode, alignment, model), and the faces
are linked across frames by :class:`fer_toolkit.fercore.tracks.Tracker`. Results are yielded frame by frame and
nothing is kept behind them, so memory does not grow with the video's length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from fer_toolkit.fercore.analyze import FaceResult, TopClass, analyze
from fer_toolkit.fercore.faces import Box, FaceDetector
from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS
from fer_toolkit.fercore.tracks import MAX_MISSED, MIN_IOU, EmaSmoother, Tracker
from fer_toolkit.fercore.video import DEFAULT_FPS, VideoSource, iter_frames


@dataclass(frozen=True, eq=False)
class TrackedFace(TopClass):
    """One face of one sampled frame.

    Attributes:
        result: the frame's own :class:`~fer_toolkit.fercore.analyze.FaceResult` (``box`` None: the frame was
            classified whole; its ``probs`` are never smoothed).
        track: the track id, an integer stable across the video's frames.
        probs: ``{label: probability}``: ``result.probs``, or their moving average along the track when
            ``smoothed``.
        smoothed: whether ``probs`` are smoothed (``analyze_video(smoothing=...)``).
    """

    result: FaceResult
    track: int
    probs: dict[str, float]
    smoothed: bool = False

    @property
    def box(self) -> Box | None:
        """The face's box in the frame's pixels, or None (whole frame)."""
        return self.result.box



@dataclass(frozen=True, eq=False)
class FrameResult:
    """One sampled frame's faces: ``index`` (0-based frame of the stream), ``time_s`` (seconds from its start),
    ``size`` ``(width, height)`` pixels, ``faces`` (largest first; empty when none was found), ``smoothing``
    (the moving average's ``alpha``, None when off) and ``image`` (the RGB frame when asked for, else None)."""

    index: int
    time_s: float
    size: tuple[int, int]
    faces: list[TrackedFace]
    smoothing: float | None = None
    image: Image.Image | None = None


def analyze_video(source: VideoSource, predictor: Predictor, detector: FaceDetector | None, *,
                  fps: float = DEFAULT_FPS, start: float | None = None, end: float | None = None,
                  max_pixels: int = DEFAULT_MAX_PIXELS, smoothing: float | None = None, min_iou: float = MIN_IOU,
                  max_missed: int = MAX_MISSED, tracker: Tracker | None = None, keep_images: bool = False,
                  **analysis) -> Iterator[FrameResult]:
    """Yield a :class:`FrameResult` per sampled frame of ``source``, as the frames are decoded.

    Args:
        source, fps, start, end, max_pixels: see :func:`fer_toolkit.fercore.video.iter_frames`.
        predictor, detector, analysis: passed to :func:`fer_toolkit.fercore.analyze.analyze` with each frame
            (the face mode, alignment and threshold options, exactly as for a photo).
        smoothing: ``alpha`` of an exponential moving average of each track's probabilities, 0 < alpha <= 1
            (:class:`~fer_toolkit.fercore.tracks.EmaSmoother`); None (the default): off.
        min_iou, max_missed: the tracker's (:class:`~fer_toolkit.fercore.tracks.Tracker`), unless ``tracker``
            is given (e.g. to go on from a previous range of the same video).
        keep_images: put each sampled frame into its result (the caller then decides how many to hold).

    Raises:
        ValueError: bad ``fps``, range or ``smoothing``.
        fer_toolkit.fercore.video.VideoDecodeError: unreadable video, frames too large, or (after the frames
            before it were yielded) a truncated or corrupt file.
    """
    tracker = tracker or Tracker(min_iou, max_missed)
    smoother = EmaSmoother(smoothing) if smoothing is not None else None
    for frame in iter_frames(source, fps, start, end, max_pixels):
        w, h = frame.image.size
        results = analyze(frame.image, predictor, detector, **analysis)
        ids = tracker.update([r.box or Box(0, 0, w, h) for r in results])
        faces = []
        for r, track in zip(results, ids):
            probs = r.probs if smoother is None else smoother.update(track, r.probs)
            faces.append(TrackedFace(r, track, probs, smoother is not None))
        if smoother is not None:
            for track in tracker.ended:
                smoother.end(track)
        yield FrameResult(frame.index, frame.time_s, (w, h), faces, smoothing, frame.image if keep_images else None)
