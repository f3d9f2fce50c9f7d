"""One-line errors for command lines: no usage dump, no traceback for expected failures."""

from __future__ import annotations

import sys
from typing import Callable

from fer_toolkit.fercore.cli import OneLineParser

__all__ = ["OneLineParser", "run_cli"]


def run_cli(main: Callable[[], int], expected: tuple[type[BaseException], ...] = ()) -> int:
    """Run ``main``; expected errors become ``error: <one line>`` and exit status 1."""
    from fer_toolkit.training.data import DataError

    try:
        return main()
    except (DataError, FileNotFoundError, ValueError, *expected) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
