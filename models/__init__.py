"""The shipped models, importable as ``fer_toolkit.models``: one resolver for every default-model lookup.

The FER2013 model files travel inside the package (wheel package data), so a non-editable install
finds them with no checkout and no download. The demo, the worker (``SCORER_MODEL``'s default),
``predict``, the Python API, the benchmarks and the Space staging all call :func:`default_model`.
"""

from __future__ import annotations

from pathlib import Path

#: The shipped models (FER2013, 7 classes, 48x48 grayscale input; index and cards: ``README.md`` beside them):
#: ``fast`` is one pass of the network (the workers' default, as INT8), ``accurate`` averages it with its
#: mirror image (flip test-time augmentation) inside the graph (the default of the demo, ``predict`` and the API).
NAMES = {"fast": "fer2013_cnn", "accurate": "fer2013_cnn_flip"}
HERE = Path(__file__).resolve().parent


def default_model(int8: bool = False, accurate: bool = False) -> Path:
    """Path of a shipped ONNX model: the fast one (fp32, or its static INT8 twin with ``int8=True``), or with
    ``accurate=True`` the flip-TTA one.

    Raises:
        FileNotFoundError: the file is not in the installed package (a broken install or checkout).
    """
    stem = NAMES["accurate" if accurate else "fast"]
    path = HERE / (f"{stem}.int8.onnx" if int8 else f"{stem}.onnx")
    if not path.is_file():
        raise FileNotFoundError(f"the shipped model {path.name} is missing from {HERE}: reinstall fer-toolkit")
    return path


def card(path: Path | None = None) -> Path:
    """The model card of a shipped file (``<stem>.md``), or with no argument the index ``README.md``."""
    if path is None:
        return HERE / "README.md"
    return HERE / (Path(path).name.removesuffix(".onnx").removesuffix(".int8") + ".md")
