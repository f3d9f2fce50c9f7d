"""Stage a self-contained Hugging Face Space folder: ``python -m fer_toolkit.demo.space OUT``.

The folder holds ``app.py`` at its root, ``requirements.txt`` (no TensorFlow), a
``fer_toolkit`` package with only what serving needs (``api``, ``fercore``,
``demo`` and ``models`` with the model and its card, copied from
wherever the toolkit is imported from: a checkout or an installed wheel) and a
README with the Spaces YAML front matter. The requirements include the ``video``
extra's packages (PyAV, scipy) for the Video tab. The app finds its model with
the package's resolver.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import gradio

import fer_toolkit
from fer_toolkit.fercore.cli import OneLineParser, run_cli
from fer_toolkit.models import HERE, default_text, resolve

# YuNet runs on onnxruntime: no OpenCV. The Video tab: PyAV (its wheels bundle FFmpeg) and scipy (the tracks).
REQUIREMENTS = ["onnxruntime>=1.18", "numpy>=1.26", "pillow>=10.0", "av>=12", "scipy>=1.10"]
APP = '''"""Hugging Face Space entry point."""
import os

from fer_toolkit.demo.app import build_demo
from fer_toolkit.demo.handler import DemoModel
from fer_toolkit.models import HERE

demo = build_demo(DemoModel(HERE / "{model}"))

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
'''
README = """---
title: Facial Emotion Recognition
emoji: 🙂
colorFrom: blue
colorTo: indigo
sdk: gradio
sdk_version: {gradio}
app_file: app.py
python_version: "3.11"
pinned: false
license: mit
---

Facial emotion recognition with an ONNX CNN trained on FER2013 (7 classes), served with onnxruntime.
Faces are found with YuNet (vendored in `fer_toolkit/fercore/data/yunet/`, Apache-2.0) and aligned.
Model card: `fer_toolkit/models/README.md`. For research and demos only.
"""


def stage(out: Path, model: str | Path | None = None, int8: bool | None = None) -> Path:
    """Write the Space folder to ``out`` (replaced if it exists) and return it.

    Args:
        model, int8: the ONNX file to serve, or a shipped role (``fast``, ``balanced``, ``accurate``) and its INT8
            choice (:func:`fer_toolkit.models.resolve`); default: the demo's (:data:`fer_toolkit.models.DEFAULTS`).

    Raises:
        FileNotFoundError: ``model`` does not exist. ValueError: ``int8`` with a file.
    """
    model = resolve(model, int8, entry="demo")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    pkg = out / "fer_toolkit"
    root = Path(fer_toolkit.__file__).parent
    pkg.mkdir(parents=True)
    for module in ("__init__.py", "api.py"):
        shutil.copyfile(root / module, pkg / module)
    for name in ("fercore", "demo"):
        shutil.copytree(Path(importlib.import_module(f"fer_toolkit.{name}").__file__).parent, pkg / name, ignore=ignore)
    (pkg / "models").mkdir()
    shutil.copyfile(HERE / "__init__.py", pkg / "models" / "__init__.py")
    shutil.copyfile(model, pkg / "models" / model.name)
    stem = model.name.removesuffix(".onnx").removesuffix(".int8")
    for extra in ("README.md", f"{stem}.md", f"{stem}.reliability.png", f"{stem}.confusion.png", "training_curves.png"):
        if (model.parent / extra).exists():
            shutil.copyfile(model.parent / extra, pkg / "models" / extra)
    (out / "app.py").write_text(APP.format(model=Path(model).name))
    (out / "requirements.txt").write_text("\n".join([f"gradio=={gradio.__version__}", *REQUIREMENTS]) + "\n")
    (out / "README.md").write_text(README.format(gradio=gradio.__version__))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m fer_toolkit.demo.space OUT [--model FILE|ROLE]``; 0, or 1 with one ``error:`` line."""
    p = OneLineParser(prog="python -m fer_toolkit.demo.space", description="Stage a Hugging Face Space folder.")
    p.add_argument("out", type=Path, help="folder to write (replaced if it exists)")
    p.add_argument("--model", default=None,
                   help=f"ONNX file, or a shipped role: fast, balanced, accurate (default: {default_text('demo')})")
    p.add_argument("--int8", action="store_true", default=None, help="the shipped role's static INT8 twin")
    a = p.parse_args(argv)

    def run() -> int:
        print(f"staged {stage(a.out, a.model, a.int8)}")
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
