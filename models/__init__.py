"""The shipped models, importable as ``fer_toolkit.models``: one resolver for every default-model lookup.

The FER2013 model files travel inside the package (wheel package data), so a non-editable install
finds them with no checkout and no download. The demo, the worker (``SCORER_MODEL``'s default),
``predict``, the Python API, the benchmarks and the Space staging all call :func:`default_model`.
"""

from __future__ import annotations

from pathlib import Path

#: The shipped models (FER2013, 7 classes, 48x48 grayscale input; index and cards: ``README.md`` beside them):
#: ``fast`` is one pass of one network; ``balanced`` averages three networks, one pass each (the workers' default,
#: as INT8); ``accurate`` averages two of the balanced file's networks over the face at three scales and their
#: mirror images (multiscale test-time augmentation) inside the graph (the default of the demo, ``predict`` and the
#: API; the file kept its ``_flip`` name from the versions that averaged over the mirror image alone).
NAMES = {"fast": "fer2013_cnn", "balanced": "fer2013_cnn_ens3", "accurate": "fer2013_cnn_flip"}
HERE = Path(__file__).resolve().parent


def default_model(int8: bool = False, accurate: bool = False, role: str | None = None) -> Path:
    """Path of a shipped ONNX model: the fast one (fp32, or its static INT8 twin with ``int8=True``), with
    ``accurate=True`` the multiscale-TTA ensemble, or the one of ``role`` (a key of :data:`NAMES`, e.g. ``"balanced"``).

    Raises:
        ValueError: an unknown ``role``.
        FileNotFoundError: the file is not in the installed package (a broken install or checkout).
    """
    role = role or ("accurate" if accurate else "fast")
    if role not in NAMES:
        raise ValueError(f"unknown model role {role!r}: one of {', '.join(NAMES)}")
    stem = NAMES[role]
    path = HERE / (f"{stem}.int8.onnx" if int8 else f"{stem}.onnx")
    if not path.is_file():
        raise FileNotFoundError(f"the shipped model {path.name} is missing from {HERE}: reinstall fer-toolkit")
    return path


def is_role(spec: str | Path | None) -> bool:
    """True where ``spec`` names a shipped role of :data:`NAMES` and no existing file of that name shadows it."""
    return spec is not None and str(spec) in NAMES and not Path(spec).is_file()


def model_path(spec: str | Path, int8: bool = True, must_exist: bool = True) -> Path:
    """``spec`` as a model file: a role of :data:`NAMES` (``fast``, ``balanced``, ``accurate``) that is not also
    an existing file names that shipped file, its static INT8 twin with ``int8=True`` (the workers' choice: as
    accurate as fp32 on PrivateTest and 1.7-2.8x faster, models/README.md); anything else is a path.

    Raises:
        FileNotFoundError: with ``must_exist``, a path that is not a file (one line, naming the roles).
    """
    if is_role(spec):
        return default_model(int8=int8, role=str(spec))
    if must_exist and not Path(spec).is_file():
        raise FileNotFoundError(f"model {spec} not found: give an ONNX file or one of {', '.join(NAMES)}")
    return Path(spec)


def card(path: Path | None = None) -> Path:
    """The model card of a shipped file (``<stem>.md``), or with no argument the index ``README.md``."""
    if path is None:
        return HERE / "README.md"
    return HERE / (Path(path).name.removesuffix(".onnx").removesuffix(".int8") + ".md")
