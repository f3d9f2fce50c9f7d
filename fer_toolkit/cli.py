"""The ``fer-toolkit`` command (``[project.scripts]``): one command, one subcommand per job.

Each subcommand runs the same code as its ``python -m fer_toolkit.<package>`` entry point, under the one error
policy of :mod:`fer_toolkit.fercore.cli`. A subcommand whose optional dependencies are not installed prints one
line naming the extra to install, and exits 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass

from fer_toolkit.fercore.cli import print_error, run_cli


@dataclass(frozen=True)
class Command:
    """A subcommand: the module whose ``main(argv)`` runs it, the extra it needs, and its first argument."""

    module: str
    help: str
    extra: str | None = None
    needs: tuple[str, ...] = ()
    subcommand: str | None = None  # passed first to modules with their own subcommands (worker, training)


_WORKER = ("celery", "redis", "tqdm")
_TRAIN = ("tensorflow", "keras", "matplotlib", "sklearn")
COMMANDS: dict[str, Command] = {
    "predict": Command("fer_toolkit.predict", "faces and emotions in single images (table or --json)"),
    "evaluate-photos": Command("fer_toolkit.evaluate_photos", "top-1, macro-F1 and recall on labelled photos "
                               "DIR/<class>/<image>", "eval", ("sklearn", "matplotlib")),
    "score": Command("fer_toolkit.worker.__main__", "score a folder into a CSV report in this process", "worker",
                     _WORKER, "score"),
    "submit": Command("fer_toolkit.worker.__main__", "queue a folder on the Celery workers; prints the job id",
                      "worker", _WORKER, "submit"),
    "status": Command("fer_toolkit.worker.__main__", "a job's progress as JSON", "worker", _WORKER, "status"),
    "wait": Command("fer_toolkit.worker.__main__", "a progress bar until a job ends", "worker", _WORKER, "wait"),
    "cancel": Command("fer_toolkit.worker.__main__", "stop a job", "worker", _WORKER, "cancel"),
    "demo": Command("fer_toolkit.demo.__main__", "the Gradio demo (upload, webcam, faces)", "demo", ("gradio",)),
    "train": Command("fer_toolkit.training.__main__", "train a CNN on FER2013 or a labelled folder tree", "train",
                     _TRAIN, "train"),
    "evaluate": Command("fer_toolkit.training.__main__", "metrics and plots of a training run", "train", _TRAIN,
                        "evaluate"),
    "prepare": Command("fer_toolkit.training.__main__", "FER2013 CSV/NPZ to an image folder tree", "train", _TRAIN,
                       "prepare"),
    "soft-labels": Command("fer_toolkit.training.__main__", "a teacher's probabilities for distillation", "train",
                           _TRAIN, "soft-labels"),
    "export": Command("fer_toolkit.export.__main__", "trained runs to ONNX (+ INT8), parity check, model card",
                      "train", (*_TRAIN, "tf2onnx", "onnx")),
}


def usage() -> str:
    """The top-level help text."""
    width = max(map(len, COMMANDS))
    rows = [f"  {name:<{width}}  {c.help}" + (f" [{c.extra}]" if c.extra else "") for name, c in COMMANDS.items()]
    return ("usage: fer-toolkit COMMAND [ARGS ...]   (fer-toolkit COMMAND --help for its options)\n\n"
            "commands ([extra] = needs pip install \"fer-toolkit[extra]\"):\n" + "\n".join(rows))


def missing_extra(command: Command) -> str | None:
    """The one-line hint when ``command``'s optional dependencies are not installed, else None."""
    missing = [m for m in command.needs if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return f"this command needs the {command.extra} extra ({missing[0]} is not installed): " \
           f"pip install \"fer-toolkit[{command.extra}]\""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``fer-toolkit``; returns the exit status (2: bad command line)."""
    from fer_toolkit import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"fer-toolkit {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print_error(f"unknown command {name!r} (choose from {', '.join(COMMANDS)})", "fer-toolkit")
        return 2
    hint = missing_extra(command)
    if hint:
        print(f"fer-toolkit {name}: {hint}", file=sys.stderr)
        return 1
    module = importlib.import_module(command.module)
    args = [command.subcommand, *rest] if command.subcommand else rest
    return run_cli(lambda: module.main(args))  # each main runs in it too; this catches what escapes a module


if __name__ == "__main__":
    sys.exit(main())
