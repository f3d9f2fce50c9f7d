"""The face options of the analysis path: one typed object, its command-line flags, and its one serialisation.

:class:`FaceOptions` travels from the command line (:func:`add_face_arguments`, :meth:`FaceOptions.from_args`)
or the Python API through the job parameters (:meth:`FaceOptions.to_json` / :meth:`FaceOptions.from_json`) to
the Celery workers and :func:`fer_toolkit.fercore.analyze.analyze`. Its defaults are the constants of the modules
that use them.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from fer_toolkit.fercore.align import DEFAULT_ZOOM
from fer_toolkit.fercore.analyze import DEFAULT_FACES, FACE_MODES, FaceMode
from fer_toolkit.fercore.cli import positive_float, positive_int, unit_interval
from fer_toolkit.fercore.faces import DEFAULT_THRESHOLD
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class FaceOptions:
    """How faces are found, cropped and classified; the same for ``predict``, ``score``, the API and the demo.

    Attributes:
        faces: face mode, one of ``auto``, ``largest``, ``all``, ``none`` (:mod:`fer_toolkit.fercore.analyze`).
        align: rotate each face level and frame it like FER2013 (False: the detector's box plus a margin).
        threshold: the face detector's score threshold, 0..1.
        zoom: framing of an aligned face around the FER2013 template (1: as on FER2013; larger shows more).
        max_pixels: larger images (width x height, pixels) are refused: a decompression-bomb guard.

    Raises:
        ValueError: a field out of range (one line).
    """

    faces: FaceMode = DEFAULT_FACES
    align: bool = True
    threshold: float = DEFAULT_THRESHOLD
    zoom: float = DEFAULT_ZOOM
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.faces not in FACE_MODES:
            raise ValueError(f"faces must be one of {', '.join(FACE_MODES)}, got {self.faces!r}")
        if not isinstance(self.align, bool):
            raise ValueError(f"align must be true or false, got {self.align!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"face threshold must be within 0..1, got {self.threshold}")
        if not (0.0 < self.zoom and math.isfinite(self.zoom)):
            raise ValueError(f"zoom must be > 0, got {self.zoom}")
        if isinstance(self.max_pixels, bool) or not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ValueError(f"max pixels must be an integer >= 1, got {self.max_pixels!r}")

    def replace(self, **changes: Any) -> FaceOptions:
        """A copy with ``changes`` (field names); None values are ignored.

        Raises:
            TypeError: an unknown field. ValueError: a value out of range.
        """
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        """The options as a JSON-native dict: ``{"faces": str, "align": bool, "threshold": float, "zoom": float,
        "max_pixels": int}`` (job parameters, report summaries)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaceOptions:
        """The options of a :meth:`to_json` dict; a missing field takes its default.

        Raises:
            ValueError: an unknown field, or a value out of range.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown face option {unknown[0]!r}: one of {', '.join(sorted(names))}")
        return cls(**data)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FaceOptions:
        """The options of a command line parsed with :func:`add_face_arguments`'s flags."""
        return cls(faces=args.faces, align=args.align, threshold=args.face_threshold, zoom=args.zoom,
                   max_pixels=args.max_pixels)


def add_face_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--faces``, ``--no-align``, ``--face-threshold``, ``--zoom`` and ``--max-pixels`` with
    :class:`FaceOptions`'s defaults; read them back with :meth:`FaceOptions.from_args`."""
    d = FaceOptions()
    parser.add_argument("--faces", choices=FACE_MODES, default=d.faces,
                        help=f"auto: detected faces, or a face crop whole; largest/all faces; none: the whole "
                             f"image (default {d.faces})")
    parser.add_argument("--no-align", dest="align", action="store_false",
                        help="crop the detector's box instead of rotating faces level and framing them like FER2013")
    parser.add_argument("--face-threshold", type=unit_interval, default=d.threshold,
                        help=f"face detector score threshold 0..1 (default {d.threshold})")
    parser.add_argument("--zoom", type=positive_float, default=d.zoom,
                        help=f"framing of aligned faces around the FER2013 template, 1 = FER2013's (default {d.zoom})")
    parser.add_argument("--max-pixels", type=positive_int, default=d.max_pixels,
                        help=f"larger images (width x height) are refused (default {d.max_pixels})")
