"""The demo's Video tab (issue 36): the pure handler on clips of real faces, bad input, gradio_client and Chromium.

Clips are built here with PyAV from real faces (scikit-image's astronaut and ``lfw_subset``), with the helpers of
``tests/test_video.py``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHIPPED_MODEL

pytest.importorskip("av", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")
pytest.importorskip("scipy", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")

from fer_toolkit.fercore.video import VideoDecodeError  # noqa: E402
from tests.test_demo import server, wait_for  # noqa: E402, F401 (the launched app's fixture)
from tests.test_video import two_faces, write_clip  # noqa: E402

FPS = 5.0


@pytest.fixture(scope="module")
def model():
    from fer_toolkit.demo.handler import DemoModel

    return DemoModel(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s at 30 frames/s: two real faces moving in opposite directions."""
    return write_clip(tmp_path_factory.mktemp("clips") / "two faces.mp4", two_faces(60))


def expected_rows(model, path: Path) -> list[list]:
    """The table's rows built straight from ``EmotionModel.analyze_video`` on the same clip."""
    rows = []
    for frame in model.analyze_video(path, fps=FPS):
        for f in frame.faces:
            b = f.box
            rows.append([round(frame.time_s, 3), frame.index, f.track, f"{b.x},{b.y},{b.w},{b.h}", f.label,
                         round(float(f.confidence), 6), *(round(float(f.probs[k]), 6) for k in model.labels)])
    return rows


def test_two_moving_faces_give_two_tracks_a_table_a_plot_keyframes_and_a_csv(model, clip, tmp_path):
    from fer_toolkit.demo.video_handler import KEYFRAMES, analyze_clip

    seen = []
    result = analyze_clip(clip, model, FPS, progress=lambda done, total: seen.append((done, total)))
    times = [f["time_s"] for f in result.frames]
    assert times == [round(i / FPS, 3) for i in range(10)] and np.all(np.diff(times) > 0)
    assert sorted(result.tracks) == [1, 2] and result.warning is None
    assert all(sorted(x["track"] for x in f["faces"]) == [1, 2] for f in result.frames)
    assert result.rows() == expected_rows(model, clip)
    assert result.headers()[:6] == ["time_s", "frame", "track", "box", "label", "confidence"]
    assert result.headers()[6:] == [f"p_{k}" for k in model.labels]
    # progress: seconds decoded, rising, over the declared duration
    assert [d for d, _ in seen] == times and all(abs(total - 2.0) < 0.1 for _, total in seen)
    # the plot: every class at each of the track's sampled frames
    series = result.series(1)
    assert len(series) == 10 * len(model.labels) and {s[1] for s in series} == set(model.labels)
    assert [s[0] for s in series[:: len(model.labels)]] == times
    # the keyframes: evenly spaced, the first and the last sampled frame, boxes drawn
    assert len(result.keyframes) == KEYFRAMES
    assert result.keyframes[0][1] == "0.00 s, frame 0" and result.keyframes[-1][1] == "1.80 s, frame 54"
    image = np.asarray(result.keyframes[0][0])
    assert image.shape == (240, 320, 3) and np.all(image == (255, 64, 64), axis=-1).sum() > 200
    assert "**10 sampled frames**" in result.markdown() and "2 tracks: #1, #2" in result.markdown()
    # the CSV: the same header and rows, as text
    path = result.write_csv(tmp_path / "two.csv")
    with path.open(newline="", encoding="utf-8") as f:
        written = list(csv.reader(f))
    assert written[0] == result.headers() and written[1:] == [[str(v) for v in r] for r in result.rows()]


def test_a_frame_without_a_face_is_one_row(model, tmp_path):
    from PIL import Image

    from fer_toolkit.demo.video_handler import NO_FACE, analyze_clip

    path = write_clip(tmp_path / "empty.mkv", [Image.new("RGB", (320, 240), (90, 120, 150))] * 15)
    result = analyze_clip(path, model, 2)
    assert result.tracks == [] and [r[:4] for r in result.rows()] == [[0.0, 0, "", NO_FACE]]
    assert "a face in 0; 0 tracks" in result.markdown()


def test_garbage_and_text_named_mp4_are_one_readable_error(model, tmp_path):
    from fer_toolkit.demo.video_handler import analyze_clip

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    notes = tmp_path / "notes.mp4"
    notes.write_text("this is not a video")
    for path in (garbage, notes):
        with pytest.raises(VideoDecodeError, match="^not a readable video: ") as e:
            analyze_clip(path, model)
        assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="fps"):
        analyze_clip(garbage, model, -1)


def test_truncated_video_keeps_its_earlier_frames_and_says_why(model, clip, tmp_path):
    from fer_toolkit.demo.video_handler import analyze_clip

    full = write_clip(tmp_path / "full.mkv", two_faces(90))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    result = analyze_clip(cut, model, FPS)
    assert result.warning.startswith("truncated or corrupt video") and "\n" not in result.warning
    assert 3 <= len(result.frames) < 15
    assert [f["time_s"] for f in result.frames] == [round(i / FPS, 3) for i in range(len(result.frames))]
    assert "stopped early" in result.markdown()


def test_video_tab_with_gradio_client(server, model, clip, tmp_path):  # noqa: F811
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    summary, track, plot, strip, table, csv_file = client.predict(handle_file(str(clip)), FPS,
                                                                  api_name="/analyze_video")
    assert "2 tracks" in summary and len(strip) == 6
    assert table["headers"][:3] == ["time_s", "frame", "track"]
    assert table["data"] == expected_rows(model, clip)
    with open(csv_file, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert Path(csv_file).name == "two faces.emotions.csv" and rows[0] == table["headers"] and len(rows) == 21
    # progress while it runs: the share of the video's duration analysed, rising (every frame: 60 analyses)
    job, seen = client.submit(handle_file(str(clip)), 0, api_name="/analyze_video"), []
    while not job.done():
        units = job.status().progress_data
        if units and units[0].progress is not None:
            seen.append((units[0].progress, units[0].desc))
        time.sleep(0.01)
    assert len(job.result()[4]["data"]) == 120
    shares = [v for v, _ in seen]
    assert shares == sorted(shares) and all(0 <= v <= 1 for v in shares) and len(set(shares)) >= 2, seen
    assert seen[-1][1].endswith("s of video analysed")
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"not a video at all " * 100)
    with pytest.raises(Exception, match="not a readable video"):
        client.predict(handle_file(str(bad)), FPS, api_name="/analyze_video")


def test_video_tab_in_chromium(server, clip, tmp_path):  # noqa: F811
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    full = write_clip(tmp_path / "full.mkv", two_faces(90))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(server)
        page.get_by_role("tab", name="Video").click()
        upload = page.locator("input[type=file][accept*='video']")
        upload.set_input_files(str(clip))
        page.get_by_role("button", name="Analyse video").click()
        expect(page.get_by_text("2 tracks: #1, #2")).to_be_visible(timeout=120_000)
        expect(page.get_by_text("p_happy").first).to_be_attached()
        expect(page.get_by_role("cell", name="two faces.emotions.csv")).to_be_visible()
        page.screenshot(path=str(tmp_path / "video.png"), full_page=True)
        page.get_by_role("button", name="Clear").first.click()
        upload.set_input_files(str(cut))
        page.get_by_role("button", name="Analyse video").click()
        expect(page.get_by_text("broke off").first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("stopped early")).to_be_visible()
        browser.close()
    assert (tmp_path / "video.png").stat().st_size > 10_000


def test_staged_space_serves_the_video_tab(clip, tmp_path):
    """The Space folder lists the video extra's packages and its own copy of the package serves the Video tab
    (run with this interpreter: ``test_demo.py`` installs the requirements into a fresh venv)."""
    import subprocess
    import sys

    from gradio_client import Client, handle_file

    from fer_toolkit.demo.space import stage
    from tests.test_demo import OFFLINE_ENV
    from tests.worker_harness import free_port

    space = stage(tmp_path / "space", SHIPPED_MODEL)
    assert {"av>=12", "scipy>=1.10"} <= set((space / "requirements.txt").read_text().split())
    port = free_port()
    env = {**OFFLINE_ENV, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    code = ("import fer_toolkit, runpy; print(fer_toolkit.__file__, flush=True); "
            "runpy.run_path('app.py', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=space, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout.readline().strip() == str(space / "fer_toolkit" / "__init__.py")
        wait_for(f"http://127.0.0.1:{port}/", proc)
        summary, *_, table, _ = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(clip)), FPS, api_name="/analyze_video")
        assert "2 tracks" in summary and len(table["data"]) == 20
    finally:
        proc.terminate()
        proc.wait(timeout=30)
