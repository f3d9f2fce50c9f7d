"""Stage a self-contained Hugging Face Space folder: ``python -m demo.space OUT``.

The folder holds ``app.py`` at its root, ``requirements.txt`` (no TensorFlow),
the ``fercore`` and ``demo`` packages, the model and a README with the Spaces
YAML front matter.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import gradio

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ["onnxruntime>=1.18", "numpy>=1.26", "pillow>=10.0"]  # YuNet runs on onnxruntime: no OpenCV
APP = '''"""Hugging Face Space entry point."""
import os

from demo.app import build_demo
from demo.handler import DemoModel

demo = build_demo(DemoModel("models/{model}"))

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
Faces are found with YuNet (vendored in `fercore/data/yunet/`, Apache-2.0) and aligned.
Model card: `models/README.md`. For research and demos only.
"""


def stage(out: Path, model: Path = ROOT / "models" / "fer2013_cnn.onnx") -> Path:
    """Write the Space folder to ``out`` (replaced if it exists) and return it.

    Raises:
        FileNotFoundError: ``model`` does not exist.
    """
    if not Path(model).is_file():
        raise FileNotFoundError(f"model not found: {model}")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pkg in ("fercore", "demo"):
        shutil.copytree(ROOT / pkg, out / pkg, ignore=ignore)
    (out / "models").mkdir()
    shutil.copyfile(model, out / "models" / Path(model).name)
    for extra in ("README.md", "confusion_matrix_test.png", "training_curves.png", "metrics_test.json"):
        if (Path(model).parent / extra).exists():
            shutil.copyfile(Path(model).parent / extra, out / "models" / extra)
    (out / "app.py").write_text(APP.format(model=Path(model).name))
    (out / "requirements.txt").write_text("\n".join([f"gradio=={gradio.__version__}", *REQUIREMENTS]) + "\n")
    (out / "README.md").write_text(README.format(gradio=gradio.__version__))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m demo.space")
    p.add_argument("out", type=Path)
    p.add_argument("--model", type=Path, default=ROOT / "models" / "fer2013_cnn.onnx")
    a = p.parse_args()
    print(f"staged {stage(a.out, a.model)}")
    sys.exit(0)
