"""``python -m fer_toolkit COMMAND ...``: the same as the ``fer-toolkit`` command."""

import sys

from fer_toolkit.cli import main

sys.exit(main())
