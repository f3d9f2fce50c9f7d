"""A long video's tracks joined across its chunks when the report is assembled; one error row per video.

A video longer than a chunk is scored as several time ranges (:mod:`fer_toolkit.worker.plan`), each with its own
:class:`~fer_toolkit.fercore.tracks.Tracker` counting ids from 1; every video row carries ``segment``, its range's
start in seconds. :func:`link_tracks` streams the report's rows (sorted: a video's rows are adjacent, in time
order) and, at each border between two ranges of one video, joins the tracks with
:func:`~fer_toolkit.fercore.tracks.link_border`: the tracks still live at the end of the earlier range (seen in its
last ``max_missed + 1`` sampled frames, as the tracker keeps them, each with its last box) against the faces of the
later range's first sampled frame (the frame a one-pass tracker would match them with). A continued track keeps
its id; any other track gets the video's next unused id, so ids are unique per video, and a video scored in one
range keeps its tracker's ids.

Ranges after a break in a file (truncated or corrupt) report the break again: the first error row of a video is
kept and written after the video's other rows (where the report's order puts it); later ones are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fer_toolkit.fercore.tracks import MAX_MISSED, MIN_IOU, link_border

#: The box of a frame classified whole (its row has none), so whole frames link to each other and not to faces.
WHOLE_FRAME = (0, 0, 1 << 30, 1 << 30)


def _box(row: dict) -> tuple:
    return WHOLE_FRAME if row["box"] is None else tuple(row["box"])


class _Video:
    """The linking state of the video whose rows are streaming."""

    def __init__(self, path: str, max_missed: int, min_iou: float):
        self.path, self.max_missed, self.min_iou = path, max_missed, min_iou
        self.next_id, self.error, self.segment = 1, None, None
        self.ends: dict[int, tuple] = {}  # the earlier range's live tracks: final id -> last box
        self.start_range()

    def start_range(self) -> None:
        self.ids: dict[int, int] = {}  # this range's tracker id -> final id
        self.last_box: dict[int, tuple] = {}  # final id -> last box in this range
        self.last_pos: dict[int, int] = {}  # final id -> position of its last sampled frame in this range
        self.frames, self.frame, self.first = 0, None, []  # sampled frames so far, the current one, its rows

    def add(self, row: dict) -> Iterator[dict]:
        """Take one of the video's rows; yield the rows ready for the report."""
        if row["status"] == "error" and row.get("time_s") is None:
            self.error = self.error or row
            return
        if row["segment"] != self.segment:
            yield from self.flush_first()
            self.ends = {t: self.last_box[t] for t, pos in self.last_pos.items()
                         if self.frames - 1 - pos <= self.max_missed}
            self.segment = row["segment"]
            self.start_range()
        place = (row["time_s"], row["frame"])
        if place != self.frame:
            yield from self.flush_first()
            self.frames, self.frame = self.frames + 1, place
        if self.frames == 1 and self.ends:  # the range's first frame waits to be linked to the earlier range
            self.first.append(row)
        else:
            yield self.final(row)

    def flush_first(self) -> Iterator[dict]:
        """Link the buffered first frame of a range to the earlier range's live tracks, and yield its rows."""
        if not self.first:
            return
        starts = {r["track"]: _box(r) for r in self.first if r["track"] is not None}
        for local, final in link_border(self.ends, starts, self.min_iou).items():
            self.ids[local] = final
        rows, self.first = self.first, []
        yield from (self.final(r) for r in rows)

    def final(self, row: dict) -> dict:
        """``row`` with its final track id (a new id the first time its tracker id shows up unlinked)."""
        local = row["track"]
        if local is None:
            return row
        if local not in self.ids:
            self.ids[local], self.next_id = self.next_id, self.next_id + 1
        final = self.ids[local]
        self.last_box[final], self.last_pos[final] = _box(row), self.frames - 1
        return {**row, "track": final}

    def close(self) -> Iterator[dict]:
        """The video's last rows: its buffered first frame, if any, then its error row, if any."""
        yield from self.flush_first()
        if self.error is not None:
            yield self.error


def link_tracks(rows: Iterable[dict], max_missed: int = MAX_MISSED, min_iou: float = MIN_IOU) -> Iterator[dict]:
    """The report's rows with each video's tracks linked across its ranges (see the module docstring).

    Args:
        rows: row dicts of :mod:`fer_toolkit.worker.scoring` in report order
            (:func:`fer_toolkit.worker.report.sort_key`); a video's rows have a ``segment``, images' do not.
        max_missed, min_iou: the tracker's (:class:`~fer_toolkit.fercore.tracks.Tracker`), as the chunks used.

    Yields:
        the same rows in the same order, with video rows' ``track`` renumbered and repeated error rows of a
        video dropped; one chunk's worth of rows is never held, only a range's first frame.
    """
    video: _Video | None = None
    for row in rows:
        if video is not None and row["path"] != video.path:
            yield from video.close()
            video = None
        if row.get("segment") is None:
            yield row
            continue
        video = video or _Video(row["path"], max_missed, min_iou)
        yield from video.add(row)
    if video is not None:
        yield from video.close()
