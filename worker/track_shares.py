"""The summary's ``videos``: per video and track, the share of its sampled frames in each emotion.

Frames are sampled on a regular grid of video time (``--fps``), so a track's share of sampled frames with a top-1
label is the share of its sampled time spent in that emotion. With ``--fps 0`` (every frame) it is the share of
frames, which equals the share of time for a constant frame rate.
"""

from __future__ import annotations

from collections import Counter

from fer_toolkit.fercore.records import PROB_DIGITS, TIME_DIGITS

SHARE_DIGITS = PROB_DIGITS


class TrackShares:
    """Counts of top-1 labels per video and track, gathered while the report's rows stream by (after the tracks
    were linked across chunks, :mod:`fer_toolkit.worker.track_links`); memory grows with the number of tracks,
    never with the number of frames."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[int, Counter]] = {}  # path -> track -> label -> sampled frames
        self.span: dict[str, dict[int, list[float]]] = {}  # path -> track -> [first, last] time_s

    def add(self, row: dict) -> None:
        """Count one report row (a no-face, error or image row, without a track, is ignored)."""
        track = row.get("track")
        if track is None or row["status"] != "ok":
            return
        self.labels.setdefault(row["path"], {}).setdefault(track, Counter())[row["label"]] += 1
        span = self.span.setdefault(row["path"], {}).setdefault(track, [row["time_s"], row["time_s"]])
        span[0], span[1] = min(span[0], row["time_s"]), max(span[1], row["time_s"])

    def as_dict(self) -> dict[str, dict[str, dict]]:
        """``{video path: {track id (str): {"frames": int, "first_s": float, "last_s": float, "share": {label:
        0..1}}}}``: the track's sampled frames, its first and last sampled time (seconds) and the share of its
        sampled frames (so of its sampled time) whose top-1 label is each label, largest first, summing to 1."""
        out: dict[str, dict[str, dict]] = {}
        for path, tracks in self.labels.items():
            out[path] = {}
            for track in sorted(tracks):
                counts, n = tracks[track], sum(tracks[track].values())
                first, last = self.span[path][track]
                out[path][str(track)] = {
                    "frames": n, "first_s": round(first, TIME_DIGITS), "last_s": round(last, TIME_DIGITS),
                    "share": {label: round(c / n, SHARE_DIGITS) for label, c in counts.most_common()}}
        return out
