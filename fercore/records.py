"""The one serialisation of a face result: ``predict``'s table and JSON, the CSV report's rows and the demo's table.

Faces are numbered from :data:`FIRST_FACE` (1) in the order :func:`fer_toolkit.fercore.analyze.analyze` returns
them (largest first); an image classified whole is face 1 too, with no box. Values are rounded once, here, so
every output shows the same numbers.
"""

from __future__ import annotations

from typing import Any, Sequence

from fer_toolkit.fercore.analyze import FaceResult

FIRST_FACE = 1
PROB_DIGITS = 6  # probabilities and confidence
SCORE_DIGITS = 4  # the detector's score
LANDMARK_DIGITS = 1  # pixels
TIME_DIGITS = 3  # a video frame's time, seconds
#: The fields :func:`frame_record` adds for a video's face; None for a photo's.
VIDEO_FIELDS = ("frame", "time_s", "track")


def face_record(number: int, face: FaceResult) -> dict[str, Any]:
    """One face as a JSON-native dict.

    Returns:
        ``face`` (the number, 1-based), ``box`` (``[x, y, w, h]`` int pixels, or None for the whole image),
        ``label``, ``confidence`` (0..1), ``probs`` (``{label: 0..1}`` in the model's label order), ``det_score``
        (the detector's score 0..1, or None), ``landmarks`` (``[[x, y]] * 5`` float pixels, or None) and ``crop``
        (``aligned``, ``box`` or ``whole``). Floats are rounded to :data:`PROB_DIGITS`, :data:`SCORE_DIGITS` and
        :data:`LANDMARK_DIGITS` decimals.
    """
    box = None if face.box is None else [face.box.x, face.box.y, face.box.w, face.box.h]
    marks = None if face.landmarks is None else [[round(float(v), LANDMARK_DIGITS) for v in p]
                                                  for p in face.landmarks]
    probs = {k: round(float(v), PROB_DIGITS) for k, v in face.probs.items()}
    return {"face": number, "box": box, "label": face.label, "confidence": probs[face.label], "probs": probs,
            "det_score": None if face.score is None else round(float(face.score), SCORE_DIGITS),
            "landmarks": marks, "crop": face.crop}


def face_records(faces: Sequence[FaceResult]) -> list[dict[str, Any]]:
    """:func:`face_record` of each face of one image, numbered from :data:`FIRST_FACE`."""
    return [face_record(i, f) for i, f in enumerate(faces, start=FIRST_FACE)]


def track_record(number: int, face) -> dict[str, Any]:
    """One face of a video frame: :func:`face_record` plus ``track`` (int id).

    Args:
        face: a :class:`fer_toolkit.fercore.video_analysis.TrackedFace`; when it is ``smoothed``, ``label``,
            ``confidence`` and ``probs`` are the track's moving average (the box, landmarks and crop its own).
    """
    record = face_record(number, face.result)
    if face.smoothed:
        smooth = face_record(number, FaceResult(face.box, face.probs))
        record.update(label=smooth["label"], confidence=smooth["confidence"], probs=smooth["probs"])
    return {**record, "track": face.track}


def frame_record(index: int, time_s: float) -> dict[str, Any]:
    """A sampled frame's place: ``frame`` (0-based index in the stream) and ``time_s`` (seconds from the stream's
    start, rounded to :data:`TIME_DIGITS` decimals)."""
    return {"frame": index, "time_s": round(float(time_s), TIME_DIGITS)}


def box_text(record: dict[str, Any], sep: str = ",") -> str:
    """A record's box as ``x,y,w,h`` (``sep`` between the numbers), or ``""`` for the whole image."""
    return "" if record["box"] is None else sep.join(map(str, record["box"]))


def landmarks_text(record: dict[str, Any]) -> str:
    """A record's landmarks as ``x1,y1,...,x5,y5``, or ``""`` without landmarks."""
    return "" if record["landmarks"] is None else ",".join(f"{v:.{LANDMARK_DIGITS}f}" for p in record["landmarks"]
                                                           for v in p)

