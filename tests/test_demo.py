"""The Gradio demo: pure handler on real images, a launched app, the Space folder, no TensorFlow."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_toolkit.fercore import ImageDecodeError
from tests.conftest import ROOT, SAMPLES, SHIPPED_MODEL
from tests.worker_harness import free_port

ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"
OFFLINE_ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def model():
    from fer_toolkit.demo.handler import DemoModel

    return DemoModel(SHIPPED_MODEL, max_pixels=4_000_000)


def test_samples_give_probabilities_for_every_label(model):
    from fer_toolkit.demo.handler import classify

    files = sorted(SAMPLES.glob("*.png")) if SAMPLES.is_dir() else []
    if not files:
        pytest.skip(f"FER2013 samples not found at {SAMPLES}")
    for f in files:
        r = classify(f, model)
        assert set(r.top) == set(model.predictor.labels)
        assert abs(sum(r.top.values()) - 1) < 1e-4
        assert r.path in ("faces", "whole image") and r.annotated.size == (48, 48)
    # a 48x48 crop is classified whole, with the same probabilities as the predictor gives
    r = classify(files[0], model)
    if r.path == "whole image":
        direct = model.predictor.classify([files[0]])[0]
        assert all(abs(direct[k] - r.top[k]) < 1e-6 for k in direct)


def test_real_photo_finds_a_face(model):
    from fer_toolkit.demo.handler import classify, explain, faces_markdown, font_size, info_markdown

    r = classify(ASTRONAUT, model)
    assert r.path == "faces" and len(r.faces) >= 1
    b = r.faces[0].box
    assert 100 < b.x < 300 and 0 < b.y < 200 and 50 < b.w < 200  # Eileen Collins' face in the 512x512 photo
    assert r.annotated.size == (512, 512)
    assert "| 1 |" in faces_markdown(r) and model.predictor.model_id in info_markdown(r, model)
    [(crop, caption)] = r.gallery()
    assert caption.startswith(f"1: {r.faces[0].label}") and "aligned" in caption and crop.size == (144, 144)
    heat, text = explain(r.faces[0].pixels, model)
    assert heat.size == (192, 192) and f"`{r.faces[0].label}`" in text
    # the label font grows with the image: 3% of the longer side (30 px on a 995x960 photo), at least 12 px
    assert font_size(995, 960) == 30 and font_size(4000, 3000) == 120 and font_size(48, 48) == 12
    big = classify(np.asarray(Image.open(ASTRONAUT).resize((2048, 2048))), model)
    red = np.all(np.asarray(big.annotated) == (255, 64, 64), axis=-1)  # the label's background
    rows = np.nonzero(red[:, big.faces[0].box.x + big.faces[0].box.w // 2])[0]
    assert rows.size > font_size(2048, 2048)  # a label band at least a font size tall above the box


def test_two_faces_are_both_reported(model):
    from fer_toolkit.demo.handler import classify

    face = Image.open(ASTRONAUT)
    canvas = Image.new("RGB", (1024, 512), "white")
    canvas.paste(face, (0, 0))
    canvas.paste(face, (512, 0))
    r = classify(np.asarray(canvas), model)
    assert r.path == "faces" and len(r.faces) == 2
    assert abs(r.faces[0].box.x - r.faces[1].box.x) > 400


@pytest.mark.parametrize("payload, reason", [
    (b"%PDF-1.4 not an image", "not a readable image"),
    (b"", "not a readable image"),
    ("huge", "too large"),
    ("truncated", "corrupt or truncated"),
])
def test_bad_input_is_one_line(model, payload, reason):
    from fer_toolkit.demo.handler import classify

    if payload == "huge":
        buf = io.BytesIO()
        Image.new("L", (2500, 2000)).save(buf, "PNG")
        payload = buf.getvalue()
    elif payload == "truncated":
        payload = ASTRONAUT.read_bytes()[:5000]
    with pytest.raises(ImageDecodeError, match=reason) as e:
        classify(payload, model)
    assert "\n" not in str(e.value)


def test_demo_does_not_import_tensorflow():
    code = ("import sys, fer_toolkit.demo.app, fer_toolkit.demo.handler, fer_toolkit.demo.space\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=OFFLINE_ENV)
    assert out.stdout.strip() == ""


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fer_toolkit.demo", "--model", str(SHIPPED_MODEL),
                             "--port", str(port)],
                            cwd=ROOT, env=OFFLINE_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_launched_app_with_gradio_client(server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    _, label, faces, info, gallery, *_ = client.predict(handle_file(str(ASTRONAUT)), api_name="/predict")
    assert label["label"] in {c["label"] for c in label["confidences"]}
    assert "1 face detected" in info and "| 1 |" in faces and "| aligned |" in faces
    assert len(gallery) == 1 and gallery[0]["caption"].startswith(f"1: {label['label']}")
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    with pytest.raises(Exception, match="not a readable image"):
        client.predict(handle_file(str(bad)), api_name="/predict")
    label = client.predict(handle_file(str(ASTRONAUT)), api_name="/predict")[1]  # still serving
    assert label["label"]


def test_browser_upload_of_a_group_photo_numbers_every_face(server, tmp_path, fer):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    from fer_toolkit.fercore.faces import FaceDetector
    from tests.test_faces import clear_fer_faces, group_photo

    photo, truth = group_photo(clear_fer_faces(fer, FaceDetector()))
    path = tmp_path / "group.jpg"
    photo.save(path, quality=92)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.locator("input[type=file]").first.set_input_files(str(path))
        expect(page.get_by_text(f"{len(truth)} faces detected")).to_be_visible(timeout=60_000)
        table = page.locator("table").filter(has_text="detector score")
        for n in range(1, len(truth) + 1):
            expect(table.get_by_role("cell", name=str(n), exact=True)).to_be_visible()
        expect(page.get_by_text(f"{len(truth)}: ").first).to_be_attached()  # the gallery's last caption
        page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        browser.close()
    assert (tmp_path / "demo.png").stat().st_size > 10_000


def test_share_without_internet_says_so_and_keeps_serving():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fer_toolkit.demo", "--model", str(SHIPPED_MODEL),
                             "--port", str(port),
                             "--share"], cwd=ROOT, env=OFFLINE_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline, seen = time.time() + 120, []
        while time.time() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            seen.append(line)
            if "share link unavailable" in line:
                break
        assert any("share link unavailable" in s for s in seen), "".join(seen)
        wait_for(f"http://127.0.0.1:{port}/", proc, timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_space_folder_installs_and_starts(tmp_path):
    from fer_toolkit.demo.space import stage

    space = stage(tmp_path / "space", SHIPPED_MODEL)
    req = (space / "requirements.txt").read_text()
    assert "tensorflow" not in req and "gradio==" in req
    front = (space / "README.md").read_text().split("---")[1]
    for key in ("sdk: gradio", "sdk_version:", "app_file: app.py", "python_version:"):
        assert key in front
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "requirements.txt"], cwd=space, check=True,
                   timeout=900)
    port = free_port()
    env = {**OFFLINE_ENV, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    proc = subprocess.Popen([str(py), "app.py"], cwd=space, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
        from gradio_client import Client, handle_file

        label = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(ASTRONAUT)), api_name="/predict")[1]
        assert label["label"]
        tf = subprocess.run([str(py), "-c", "import tensorflow"], capture_output=True)
        assert tf.returncode != 0, "the Space venv must not have TensorFlow"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
