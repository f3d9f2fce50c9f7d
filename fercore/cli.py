"""Command-line helpers shared by every entry point."""

from __future__ import annotations

import argparse


class OneLineParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors print ``prog: error: ...`` on one line and exit 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")
