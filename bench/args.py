"""Argument types for the benchmark commands: a bad value exits 2 with argparse's one-line error, no traceback."""

from __future__ import annotations

import argparse
from pathlib import Path


def existing_file(text: str) -> Path:
    """``text`` as a Path to a file that exists.

    Raises:
        argparse.ArgumentTypeError: no such file.
    """
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    return path


def positive_int(text: str) -> int:
    """``text`` as an int >= 1.

    Raises:
        argparse.ArgumentTypeError: not an integer, or below 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """``text`` as a finite float > 0 (seconds, for example).

    Raises:
        argparse.ArgumentTypeError: not a number, or not above 0.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value
