"""The shipped models, importable as ``fer_toolkit.models``: the one model resolver, :func:`resolve`.

The FER2013 model files travel inside the package (wheel package data), so a non-editable install finds them
with no checkout and no download. Every entry point (``predict``, the Python API, the demo and its Space, ``score``,
``submit`` and the workers, the benchmarks) turns its ``--model`` / ``--int8`` into a file with :func:`resolve`,
and takes its default from :data:`DEFAULTS`. This module imports nothing else of the package (the Space copies it
alone).
"""

from __future__ import annotations

from pathlib import Path

#: The shipped models (FER2013, 7 classes, 48x48 grayscale input; index and cards: ``README.md`` beside them), by
#: role: ``fast`` is one pass of one network; ``balanced`` averages three networks, one pass each; ``accurate``
#: averages two networks over the face at three scales and their mirror images (multiscale test-time augmentation)
#: inside the graph (the file kept its ``_flip`` name from the versions that averaged over the mirror image alone).
#: Each role has an fp32 file ``<stem>.onnx`` and its static INT8 twin ``<stem>.int8.onnx``.
NAMES = {"fast": "fer2013_cnn", "balanced": "fer2013_cnn_ens3", "accurate": "fer2013_cnn_flip"}
#: Each entry point's default model, ``(role, int8)``: the one table of defaults. The balanced file everywhere: the
#: most accurate on real photographs (``accurate`` is the most accurate on FER2013's own crops; figures of each
#: file: ``README.md`` beside them, ``BENCHMARKS.md``).
DEFAULTS: dict[str, tuple[str, bool]] = {
    "api": ("balanced", False),  # load_model(), EmotionModel()
    "predict": ("balanced", False),  # fer-toolkit predict
    "demo": ("balanced", True),  # fer-toolkit demo, make demo, the Space
    "workers": ("balanced", True),  # score / submit, the Celery workers (SCORER_MODEL unset), evaluate-photos
}
HERE = Path(__file__).resolve().parent


def is_role(spec: str | Path | None) -> bool:
    """True where ``spec`` names a role of :data:`NAMES` and no existing file of that name shadows it."""
    return spec is not None and str(spec) in NAMES and not Path(spec).is_file()


def resolve(spec: str | Path | None = None, int8: bool | None = None, entry: str = "api",
            must_exist: bool = True) -> Path:
    """The model file for ``spec``: the one resolver of every entry point.

    Args:
        spec: a role of :data:`NAMES` (``fast``, ``balanced``, ``accurate``; an existing file of that name wins),
            a path to an ONNX file, or None for ``entry``'s default role (:data:`DEFAULTS`).
        int8: True: the role's static INT8 twin; False or None with a role: its fp32 file. With ``spec`` None,
            None keeps the default's own choice. A path is taken as it is (``int8=True`` with a path is refused).
        entry: a key of :data:`DEFAULTS` (``api``, ``predict``, ``demo``, ``workers``).
        must_exist: refuse a path that is not a file (False: a worker starts, and a job says why).

    Returns:
        the file's path (a role's file is absolute, inside the installed package).

    Raises:
        ValueError: unknown ``entry``, or ``int8=True`` with a path (one line).
        FileNotFoundError: a path that is not a file, or a shipped file missing from the package (one line).
    """
    if entry not in DEFAULTS:
        raise ValueError(f"unknown entry point {entry!r}: one of {', '.join(DEFAULTS)}")
    if spec is None:
        spec, default_int8 = DEFAULTS[entry]
        int8 = default_int8 if int8 is None else int8
    if is_role(spec):
        stem = NAMES[str(spec)]
        path = HERE / (f"{stem}.int8.onnx" if int8 else f"{stem}.onnx")
        if not path.is_file():
            raise FileNotFoundError(f"the shipped model {path.name} is missing from {HERE}: reinstall fer-toolkit")
        return path
    if int8:
        raise ValueError(f"--int8 picks a shipped role's INT8 twin, not a file's: give a role ({', '.join(NAMES)}) "
                         f"with --int8, or the .int8.onnx file itself instead of {spec}")
    if must_exist and not Path(spec).is_file():
        raise FileNotFoundError(f"model {spec} not found: give an ONNX file or one of {', '.join(NAMES)}")
    return Path(spec)


def default_text(entry: str) -> str:
    """``entry``'s default model as a command line would give it (``accurate``, ``balanced --int8``), for help text.

    Raises:
        KeyError: unknown ``entry``.
    """
    role, int8 = DEFAULTS[entry]
    return f"{role} --int8" if int8 else role


def add_model_arguments(parser, entry: str) -> None:
    """Add ``--model ROLE|FILE`` and ``--int8`` to an argparse ``parser``, their help naming ``entry``'s default;
    read them back with ``resolve(args.model, args.int8, entry)``.

    Raises:
        KeyError: unknown ``entry``.
    """
    parser.add_argument("--model", help="ONNX model exported by this project, or a shipped role: "
                        f"{', '.join(NAMES)} (default: {default_text(entry)})")
    parser.add_argument("--int8", action="store_true", default=None, help="the shipped role's static INT8 twin")


def card(path: Path | None = None) -> Path:
    """The model card of a shipped file (``<stem>.md``), or with no argument the index ``README.md``."""
    if path is None:
        return HERE / "README.md"
    return HERE / (Path(path).name.removesuffix(".onnx").removesuffix(".int8") + ".md")
