"""Command-line helpers shared by every entry point."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T", int, float)


class OneLineParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors print ``prog: error: ...`` on one line and exit 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def unit_interval(text: str) -> float:
    """argparse ``type``: a float within 0..1 (e.g. a detector score threshold).

    Raises:
        argparse.ArgumentTypeError: not a number, or outside 0..1.
    """
    value = _convert(text, float, "not a number")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type``: an int >= 1 (a count, e.g. images or repeats).

    Raises:
        argparse.ArgumentTypeError: not an integer, or below 1.
    """
    value = _convert(text, int, "not an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse ``type``: a finite float > 0 (e.g. seconds).

    Raises:
        argparse.ArgumentTypeError: not a number, or not above 0.
    """
    value = _convert(text, float, "not a number")
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def existing_file(text: str) -> Path:
    """argparse ``type``: the path of a file that exists (e.g. an ONNX model).

    Raises:
        argparse.ArgumentTypeError: no such file.
    """
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    return path


def _convert(text: str, convert: Callable[[str], T], complaint: str) -> T:
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{complaint}: {text!r}") from None
