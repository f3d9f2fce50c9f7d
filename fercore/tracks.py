"""Face tracks across sampled video frames: box IoU matched by the Hungarian algorithm, optional EMA smoothing.

Each sampled frame's faces are matched to the live tracks by maximising the total intersection over union (IoU)
of their boxes with each track's last box: ``scipy.optimize.linear_sum_assignment`` (the Hungarian / Kuhn-Munkres
algorithm, Crouse's rectangular variant) on the cost ``1 - IoU``. A pair below ``min_iou`` is not linked; an unmatched
face starts a new track; a track unmatched for more than ``max_missed`` sampled frames ends. There is no motion
model, so faces are expected to overlap between consecutive samples (as at a few samples per second).

Boxes are ``(x, y, w, h)`` in pixels (:class:`fer_toolkit.fercore.faces.Box` or any 4-sequence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Two boxes of consecutive sampled frames belong to one track only if their IoU is at least this.
MIN_IOU = 0.2
#: A track ends when it has not been matched in this many consecutive sampled frames plus one.
MAX_MISSED = 3


def _xywh(box) -> tuple[float, float, float, float]:
    return (box.x, box.y, box.w, box.h) if hasattr(box, "w") else tuple(box)


def iou_matrix(a: Sequence, b: Sequence) -> np.ndarray:
    """IoU of every box of ``a`` with every box of ``b``: float64 ``(len(a), len(b))``, each in 0..1."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    x = np.array([_xywh(v) for v in a], np.float64)[:, None, :]
    y = np.array([_xywh(v) for v in b], np.float64)[None, :, :]
    iw = np.clip(np.minimum(x[..., 0] + x[..., 2], y[..., 0] + y[..., 2]) - np.maximum(x[..., 0], y[..., 0]), 0, None)
    ih = np.clip(np.minimum(x[..., 1] + x[..., 3], y[..., 1] + y[..., 3]) - np.maximum(x[..., 1], y[..., 1]), 0, None)
    inter = iw * ih
    return inter / np.maximum(x[..., 2] * x[..., 3] + y[..., 2] * y[..., 3] - inter, 1e-9)


def match(a: Sequence, b: Sequence, min_iou: float = MIN_IOU) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of ``a[i]`` and ``b[j]`` maximising the total IoU (Hungarian algorithm), each with
    IoU >= ``min_iou``; every box is in at most one pair."""
    iou = iou_matrix(a, b)
    if not iou.size:
        return []
    from scipy.optimize import linear_sum_assignment  # the video extra's; imported where used

    rows, cols = linear_sum_assignment(1.0 - iou)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if iou[i, j] >= min_iou]


class Tracker:
    """Assigns stable integer track ids to the faces of successive sampled frames, one frame at a time.

    Args:
        min_iou: the least IoU, 0..1, that links a face to a track's last box.
        max_missed: a track survives this many sampled frames without a face, then ends (its id is not reused).
        first_id: the first id handed out (ids count up from it).
    """

    def __init__(self, min_iou: float = MIN_IOU, max_missed: int = MAX_MISSED, first_id: int = 1):
        if not 0.0 < min_iou <= 1.0 or max_missed < 0:
            raise ValueError(f"need 0 < min_iou <= 1 and max_missed >= 0, got {min_iou}, {max_missed}")
        self.min_iou, self.max_missed, self.next_id = min_iou, max_missed, first_id
        self.boxes: dict[int, tuple] = {}  # live track id -> its last box
        self.missed: dict[int, int] = {}  # live track id -> sampled frames since it was last matched
        self.ended: list[int] = []  # the tracks the last update ended

    def update(self, boxes: Sequence) -> list[int]:
        """Link one sampled frame's face ``boxes`` to the tracks; returns the track id of each box, in order."""
        ids = list(self.boxes)
        pairs = match([self.boxes[i] for i in ids], boxes, self.min_iou)
        out: list[int | None] = [None] * len(boxes)
        for t, j in pairs:
            out[j] = ids[t]
        for j, box in enumerate(boxes):
            if out[j] is None:
                out[j], self.next_id = self.next_id, self.next_id + 1
            self.boxes[out[j]], self.missed[out[j]] = _xywh(box), 0
        self.ended = []
        for i in sorted(set(ids) - set(out)):
            self.missed[i] += 1
            if self.missed[i] > self.max_missed:
                del self.boxes[i], self.missed[i]
                self.ended.append(i)
        return out

    def live(self) -> dict[int, tuple]:
        """The live tracks' last boxes, ``{track id: (x, y, w, h)}`` (what a chunk hands to the next)."""
        return dict(self.boxes)


def link_border(ends: Mapping[int, object], starts: Mapping[int, object], min_iou: float = MIN_IOU) -> dict[int, int]:
    """Join the tracks of two consecutive chunks of one video at their border.

    Args:
        ends: chunk A's tracks at its end, ``{track id: box}`` (its last sampled frame's faces, or
            :meth:`Tracker.live` after its last frame).
        starts: chunk B's tracks at its start, ``{track id: box}`` (its first sampled frame's faces).

    Returns:
        ``{B's track id: A's track id}`` for the tracks that continue (Hungarian matching on IoU >= ``min_iou``);
        B's other tracks are new.
    """
    a, b = list(ends), list(starts)
    return {b[j]: a[i] for i, j in match([ends[k] for k in a], [starts[k] for k in b], min_iou)}


class EmaSmoother:
    """Exponential moving average of the class probabilities along each track: ``s = alpha x p + (1 - alpha) x s``.

    Args:
        alpha: weight of the newest frame, 0 < alpha <= 1 (1 = no smoothing).
    """

    def __init__(self, alpha: float):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be within (0, 1], got {alpha}")
        self.alpha, self.state = alpha, {}

    def update(self, track: int, probs: Mapping[str, float]) -> dict[str, float]:
        """The smoothed ``{label: probability}`` of ``track`` after this frame's ``probs`` (same label order)."""
        prev, a = self.state.get(track), self.alpha
        cur = dict(probs) if prev is None else {k: a * v + (1 - a) * prev[k] for k, v in probs.items()}
        self.state[track] = cur
        return cur

    def end(self, track: int) -> None:
        """Forget an ended track."""
        self.state.pop(track, None)
