"""Batch scoring of videos (issue 36): rows per sampled frame and face, long videos cut into time ranges over many
chunks, tracks linked across the chunks, bad videos as error rows; in-process and on real Celery workers.

The clips are built with PyAV from real faces (:mod:`tests.test_video`'s scikit-image astronaut and
``lfw_subset`` faces moving in opposite directions), small so the tests stay fast.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, SHIPPED_MODEL

pytest.importorskip("av", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")
pytest.importorskip("scipy", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")

from tests.test_video import astronaut_head, av, background, lfw_head, two_faces, write_clip  # noqa: E402
from tests.test_worker import cli, read_report, worker_env  # noqa: E402
from tests.worker_harness import CeleryWorker, RedisServer  # noqa: E402

ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"
VIDEO_COLUMNS = ["frame", "time_s", "track"]


def audio_only(path: Path) -> Path:
    """An .mp4 holding one second of AAC audio and no video stream."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        tone = av.AudioFrame.from_ndarray((np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)[None], "s16", "mono")
        tone.sample_rate = 16000
        out.mux(stream.encode(tone))
        out.mux(stream.encode())
    return path


def arriving(n: int, at: int):
    """Two real faces moving in opposite directions; the one the detector finds larger (``lfw_subset``'s) comes in
    at frame ``at``, so it is track 2 of the video but the first face, and so track 1, of a later range's tracker."""
    bg, a, b = background(), astronaut_head(100), lfw_head(80)
    for i in range(n):
        img = bg.copy()
        img.paste(a, (10 + i, 100 - i))
        if i >= at:
            img.paste(b, (180 - i, 10 + i))
        yield img


def score(folder: Path, out: Path, **kwargs) -> tuple[list[dict], dict]:
    """In-process scoring of ``folder`` (the shipped model, two threads); returns the report's rows and summary."""
    from fer_toolkit.worker.local import score_local

    summary = score_local(folder, out, model=SHIPPED_MODEL, threads=2, progress=False, notify=lambda _: None,
                          **kwargs)
    assert json.loads(out.with_suffix(".summary.json").read_text()) == summary
    return read_report(out), summary


def chunks(log: Path, what: str) -> set[str]:
    """The task ids of the chunks a worker's log says were ``received`` or ``succeeded``."""
    return set(re.findall(rf"fer\.score_chunk\[([0-9a-f-]+)\] {what}", log.read_text(errors="replace")))


def of(rows: list[dict], path: str) -> list[dict]:
    return [r for r in rows if r["path"] == path]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """A photo, a two-face clip (2 s), the first half of a two-face clip (3 s), garbage named .mp4, and an .mp4
    without a video stream."""
    folder = tmp_path_factory.mktemp("mixed")
    Image.open(ASTRONAUT).save(folder / "astronaut.jpg")
    write_clip(folder / "two.mp4", two_faces(60))
    full = write_clip(tmp_path_factory.mktemp("full") / "full.mkv", two_faces(90))
    (folder / "cut.mkv").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    (folder / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, np.uint8).tobytes())
    audio_only(folder / "audio.mp4")
    return folder


def test_in_process_score_of_images_videos_and_bad_videos(mixed, tmp_path):
    rows, summary = score(mixed, tmp_path / "r.csv", chunk_size=4, fps=4)
    assert list(rows[0])[-8:] == ["face", "box", "det_score", "landmarks", "crop", *VIDEO_COLUMNS]
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    photo = of(rows, "astronaut.jpg")
    assert len(photo) == 1 and photo[0]["status"] == "ok" and all(photo[0][c] == "" for c in VIDEO_COLUMNS)

    two = of(rows, "two.mp4")  # 2 s at 4 frames/s in two ranges of 1 s: 8 sampled frames, 2 faces each
    assert len(two) == 16 and all(r["status"] == "ok" and r["crop"] == "aligned" for r in two)
    times = [float(r["time_s"]) for r in two[::2]]
    assert [int(t * 4) for t in times] == list(range(8)) and times == sorted(times)  # one frame per 1/4 s
    assert [int(r["frame"]) for r in two[::2]] == [round(t * 30) for t in times]
    assert sorted({r["track"] for r in two}) == ["1", "2"]

    cut = of(rows, "cut.mkv")  # 3 s declared, half the bytes: three ranges, the last two past the break
    assert cut[-1]["status"] == "error" and cut[-1]["error"].startswith("truncated or corrupt video: it ends at")
    assert all(cut[-1][c] == "" for c in VIDEO_COLUMNS) and cut[-1]["label"] == ""
    kept = cut[:-1]
    assert 8 <= len(kept) < 24 and all(r["status"] == "ok" for r in kept)  # the frames before the break
    assert sorted({r["track"] for r in kept}) == ["1", "2"] and float(kept[-1]["time_s"]) < 1.75

    for name, reason in (("garbage.mp4", "not a readable video: "), ("audio.mp4", "no video stream")):
        bad = of(rows, name)
        assert len(bad) == 1 and bad[0]["status"] == "error" and bad[0]["error"].startswith(reason), bad

    assert summary["files"] == 5 and summary["status"] == {"ok": 17 + len(kept), "error": 3}
    assert summary["errors_by_reason"] == {"truncated or corrupt video": 1, "not a readable video": 1,
                                           "no video stream": 1}
    assert summary["params"]["fps"] == 4 and set(summary["videos"]) == {"two.mp4", "cut.mkv"}
    for track, info in summary["videos"]["two.mp4"].items():
        labels = [r["label"] for r in two if r["track"] == track]
        assert info["frames"] == len(labels) == 8 and (info["first_s"], info["last_s"]) == (times[0], times[-1])
        assert info["share"] == {k: labels.count(k) / 8 for k in sorted(set(labels), key=labels.count, reverse=True)}
        assert abs(sum(info["share"].values()) - 1) < 1e-6


def test_two_faces_keep_two_tracks_across_chunk_borders(tmp_path):
    """Ranges of 3 sampled frames (0.6 s at 5 frames/s): several borders, linked into the tracks of one pass,
    although each range's tracker numbers the faces its own way."""
    from fer_toolkit.fercore.faces import FaceDetector
    from fer_toolkit.fercore.predictor import Predictor
    from fer_toolkit.fercore.video_analysis import analyze_video
    from fer_toolkit.worker.plan import plan_chunks

    folder = tmp_path / "in"
    folder.mkdir()
    clip = write_clip(folder / "two.mp4", arriving(60, 20))  # 2 s, the second face from 0.67 s
    chunks = plan_chunks(folder, False, 3, print, fps=5)
    assert [c[0][1:] for c in chunks] == [[None, 0.6, 3], [0.6, 1.2, 3], [1.2, 1.8, 3], [1.8, None, 1]]
    rows, summary = score(folder, tmp_path / "r.csv", chunk_size=3, fps=5)
    one_pass = [(round(f.time_s, 3), face.track, f"{face.box.x},{face.box.y},{face.box.w},{face.box.h}")
                for f in analyze_video(clip, Predictor(SHIPPED_MODEL), FaceDetector(), fps=5) for face in f.faces]
    assert len(one_pass) == 16 and [t for _, t, _ in one_pass[:8]] == [1] * 4 + [2, 1] * 2  # the second from 0.8 s
    assert [(float(r["time_s"]), int(r["track"]), r["box"]) for r in rows] == one_pass
    xs = {t: [int(r["box"].split(",")[0]) for r in rows if r["track"] == t] for t in ("1", "2")}
    assert sorted(np.sign(np.diff(v)).mean() > 0 for v in xs.values()) == [False, True]  # one moves each way
    assert {k: v["frames"] for k, v in summary["videos"]["two.mp4"].items()} == {"1": 10, "2": 6}


def test_max_pixels_bad_fps_and_no_broker_in_process(mixed, tmp_path):
    from fer_toolkit.fercore.options import FaceOptions

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "two.mp4").write_bytes((mixed / "two.mp4").read_bytes())
    rows, _ = score(folder, tmp_path / "r.csv", chunk_size=2, options=FaceOptions(max_pixels=50_000))
    assert [(r["status"], r["error"]) for r in rows] == [
        ("error", "frame too large: 320x240 pixels exceeds the limit of 50000")]
    proc = subprocess.run([sys.executable, "-m", "fer_toolkit.worker", "score", str(folder), "--out",
                           str(tmp_path / "x.csv"), "--fps", "-1"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--fps" in proc.stderr
    code = ("import sys\nfrom fer_toolkit.worker.local import score_local\n"  # videos in-process: no broker
            f"score_local({str(folder)!r}, {str(tmp_path / 'x.csv')!r}, chunk_size=3, fps=4, "
            f"model={str(SHIPPED_MODEL)!r}, progress=False)\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'celery', 'kombu'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
    assert len(read_report(tmp_path / "x.csv")) == 16


def test_celery_scores_a_video_over_many_chunks_with_a_worker_killed(tmp_path):
    """One clip cut into 10 ranges over two real worker processes; one is SIGKILLed mid-job and Redis restarts:
    the report equals the in-process one (same rows, same track ids after linking)."""
    server = RedisServer(tmp_path / "redis").start()
    env = worker_env(tmp_path, server.url)
    folder = tmp_path / "in" / "clips"
    folder.mkdir()
    write_clip(folder / "long.mp4", [f for f in two_faces(50) for _ in range(3)])  # 5 s; every frame, 15 per range
    Image.open(ASTRONAUT).save(folder / "astronaut.jpg")
    workers = [CeleryWorker(env, tmp_path / f"w{i}.log", concurrency=1, name=f"v{i}").start() for i in (1, 2)]
    state = {"env": env}
    try:
        out = tmp_path / "out" / "clips.csv"
        sub = cli(state, "submit", str(folder), "--out", str(out), "--fps", "0", "--chunk-size", "15")
        assert sub.returncode == 0 and "Traceback" not in sub.stderr, sub.stderr
        job, deadline = sub.stdout.strip(), time.time() + 180
        while (st := json.loads(cli(state, "status", job).stdout))["done"] < 16 and time.time() < deadline:
            time.sleep(0.2)
        assert st["state"] == "running" and st["chunks"].endswith("/11") and st["done"] < st["total"] == 151, st
        while not (running := chunks(tmp_path / "w1.log", "received") - chunks(tmp_path / "w1.log", "succeeded")):
            assert time.time() < deadline, "worker 1 took no second chunk"
            time.sleep(0.05)
        workers[0].kill(signal.SIGKILL)  # mid-chunk: redelivered to the other worker after the visibility timeout
        server.kill()
        time.sleep(3)
        server.start()
        waited = cli(state, "wait", job, timeout=300)
        logs = "".join((tmp_path / f"w{i}.log").read_text()[-2000:] for i in (1, 2))
        assert waited.returncode == 0, waited.stderr[-500:] + logs
        local = tmp_path / "out" / "local.csv"
        proc = cli(state, "score", str(folder), "--out", str(local), "--fps", "0", "--chunk-size", "15",
                   "--threads", "2")
        assert proc.returncode == 0, proc.stderr
        celery_rows = read_report(out)
        assert celery_rows == read_report(local)
        video = of(celery_rows, "long.mp4")
        assert [int(r["frame"]) for r in video[::2]] == list(range(150)) and {r["track"] for r in video} == {"1", "2"}
        summary = json.loads(out.with_suffix(".summary.json").read_text())
        assert summary["files"] == 2 and summary["videos"] == json.loads(local.with_suffix(".summary.json")
                                                                         .read_text())["videos"]
        assert not list(out.parent.glob(".clips.csv.*"))
        assert running <= chunks(tmp_path / "w2.log", "succeeded")  # the killed worker's chunk, done by the other
    finally:
        for w in workers:
            w.stop()
        server.kill()
