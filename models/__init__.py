"""The shipped models, importable as ``fer_toolkit.models``: one resolver for every default-model lookup.

The FER2013 model files travel inside the package (wheel package data), so a non-editable install
finds them with no checkout and no download. The demo, the worker (``SCORER_MODEL``'s default),
``predict``, the Python API, the benchmarks and the Space staging all call :func:`default_model`.
"""

from __future__ import annotations

from pathlib import Path

#: The shipped default: FER2013, 7 classes, 48x48 grayscale input (card: ``README.md`` beside it).
DEFAULT_NAME = "fer2013_cnn"
HERE = Path(__file__).resolve().parent


def default_model(int8: bool = False) -> Path:
    """Path of the shipped default ONNX model: fp32, or its static INT8 twin with ``int8=True``.

    Raises:
        FileNotFoundError: the file is not in the installed package (a broken install or checkout).
    """
    path = HERE / (f"{DEFAULT_NAME}.int8.onnx" if int8 else f"{DEFAULT_NAME}.onnx")
    if not path.is_file():
        raise FileNotFoundError(f"the shipped model {path.name} is missing from {HERE}: reinstall fer-toolkit")
    return path


def card() -> Path:
    """Path of the default model's card (Markdown)."""
    return HERE / "README.md"
