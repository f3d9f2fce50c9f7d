"""Command-line helpers shared by every entry point."""

from __future__ import annotations

import argparse


class OneLineParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors print ``prog: error: ...`` on one line and exit 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def unit_interval(text: str) -> float:
    """argparse ``type``: a float within 0..1 (e.g. a detector score threshold).

    Raises:
        argparse.ArgumentTypeError: not a number, or outside 0..1.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value
