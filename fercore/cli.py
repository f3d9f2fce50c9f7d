"""The one command-line policy of every entry point: parsers, argument types, and how errors end a command.

- A bad command line: ``prog: error: <message>`` on one line (no usage dump), exit status 2
  (:class:`OneLineParser`, the argument types below).
- An expected failure while running (:data:`EXPECTED`: :class:`UserError` and its subclasses, ``ValueError``,
  ``FileNotFoundError``, and what a command adds): ``error: <first line>``, exit status 1, no traceback
  (:func:`run_cli`, which every ``main`` runs in, and the ``fer-toolkit`` command around them).
- Ctrl-C: ``error: interrupted``, exit status 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T", int, float)


class UserError(Exception):
    """A failure the user can fix (a missing folder, a bad data set, an unknown job); ``str(err)`` is one line."""


EXPECTED: tuple[type[BaseException], ...] = (UserError, FileNotFoundError, ValueError)


def error_line(e: BaseException) -> str:
    """The first line of ``e``'s message, or its type's name when it has none."""
    text = str(e)
    return text.splitlines()[0] if text.strip() else type(e).__name__


def print_error(message: str, prog: str | None = None) -> None:
    """``[prog: ]error: <message>`` on stderr, one line."""
    print(f"{prog + ': ' if prog else ''}error: {message.splitlines()[0] if message else ''}", file=sys.stderr)


def run_cli(main: Callable[[], int], expected: tuple[type[BaseException], ...] = ()) -> int:
    """Run ``main()`` and return its exit status; :data:`EXPECTED` and ``expected`` errors print one
    ``error:`` line and return 1, Ctrl-C returns 130. Anything else is a bug and keeps its traceback."""
    try:
        return main()
    except (*EXPECTED, *expected) as e:
        print_error(error_line(e))
        return 1
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130


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
