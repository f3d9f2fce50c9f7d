"""The serving core must never import TensorFlow (the Space and workers install onnxruntime only)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, SHIPPED_MODEL


def test_core_predictor_does_not_import_tensorflow():
    code = (
        "import sys, fer_toolkit.fercore.predictor, fer_toolkit.fercore.preprocess\n"
        f"p = fer_toolkit.fercore.predictor.Predictor({str(SHIPPED_MODEL)!r}) if {SHIPPED_MODEL.is_file()} else None\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported: {out.stdout}"


def test_the_in_process_scorer_imports_neither_redis_nor_celery():
    """``fer_toolkit.worker.local`` (``fer-toolkit score``, ``make score``) scores without a broker: job planning
    (``worker.plan``) stands apart from the Redis store."""
    code = ("import sys, fer_toolkit.worker.local, fer_toolkit.worker.__main__\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'celery', 'kombu'))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported: {out.stdout}"


def test_serving_runs_face_detection_without_opencv():
    code = (
        "import sys, fer_toolkit.fercore.analyze as analyze, fer_toolkit.fercore.faces as faces\n"
        "import fer_toolkit.fercore.align, fer_toolkit.fercore.occlusion\n"
        "import fer_toolkit.demo.handler, fer_toolkit.worker.scoring\n"
        "from PIL import Image\n"
        f"faces.FaceDetector().detect(Image.open({str(ROOT / 'demo' / 'examples' / 'astronaut.jpg')!r}))\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('cv2', 'tensorflow', 'keras'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported: {out.stdout}"
