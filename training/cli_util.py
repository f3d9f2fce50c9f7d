"""One-line errors for command lines: no usage dump, no traceback for expected failures."""

from __future__ import annotations

import argparse
import sys
from typing import Callable


class OneLineParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors print ``prog: error: ...`` on one line and exit 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def run_cli(main: Callable[[], int], expected: tuple[type[BaseException], ...] = ()) -> int:
    """Run ``main``; expected errors become ``error: <one line>`` and exit status 1."""
    from training.data import DataError

    try:
        return main()
    except (DataError, FileNotFoundError, ValueError, *expected) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
