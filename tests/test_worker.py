"""Batch scoring with a real redis-server and real Celery worker processes."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, SHIPPED_MODEL
from tests.worker_harness import CeleryWorker, RedisServer

ASTRONAUT = ROOT / "demo" / "examples" / "astronaut.jpg"
WEIRD_NAMES = ['comma, "quoted".png', "new\nline.png", "ünïcødé_表情.png", "=cmd.png", "-minus.png", "@at.png"]


def write_faces(folder: Path, faces: np.ndarray, size: int | None = None, fmt: str = "png") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, x in enumerate(faces):
        img = Image.fromarray(x)
        if size:
            img = img.resize((size, size), Image.Resampling.BICUBIC)
        names.append(f"face_{i:05d}.{fmt}")
        img.save(folder / names[-1])
    return names


def write_zoo(folder: Path, face: np.ndarray, outside: Path) -> dict[str, str]:
    """Bad and unusual files; returns {name: expected status}."""
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(face)
    buf = io.BytesIO()
    img.resize((200, 200)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image at all")
    Image.new("1", (20000, 20000)).save(folder / "bomb.png")
    img.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(face.astype(np.uint16) * 257).save(folder / "gray16.png")
    img.convert("RGBA").save(folder / "alpha.png")
    img.convert("P").save(folder / "palette.png")
    img.save(folder / "animated.gif", save_all=True, append_images=[img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    exif = Image.Exif()
    exif[0x0112] = 6
    img.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.jpg", exif=exif)
    img.save(outside)
    (folder / "escape.png").symlink_to(outside)
    (folder / "broken_link.png").symlink_to(folder / "does-not-exist.png")
    os.mkfifo(folder / "fifo.png")
    for name in WEIRD_NAMES:
        img.save(folder / name, "PNG")
    (folder / "notes.txt").write_text("not listed: no image extension")
    expected = {n: "error" for n in ("corrupt.jpg", "truncated.jpg", "zero.png", "text.png", "bomb.png",
                                     "escape.png", "broken_link.png", "fifo.png")}
    expected.update({n: "ok" for n in ("cmyk.jpg", "gray16.png", "alpha.png", "palette.png", "animated.gif",
                                       "exif_rotated.jpg", *WEIRD_NAMES)})
    return expected


def read_report(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not SHIPPED_MODEL.is_file():
        pytest.fail(f"{SHIPPED_MODEL} missing")
    base = tmp_path_factory.mktemp("worker")
    server = RedisServer(base / "redis").start()
    e = {**os.environ, "REDIS_URL": server.url, "SCORER_INPUT_ROOTS": str(base / "in"),
         "SCORER_OUTPUT_ROOTS": str(base / "out"), "SCORER_MODEL": str(SHIPPED_MODEL),
         "SCORER_VISIBILITY_TIMEOUT": "8", "SCORER_RESTORE_INTERVAL": "2", "PYTHONUNBUFFERED": "1"}
    (base / "in").mkdir()
    (base / "out").mkdir()
    state = {"base": base, "env": e, "redis": server, "worker": CeleryWorker(e, base / "worker.log").start()}
    yield state
    state["worker"].stop()  # the current one: a test may have replaced the first
    server.kill()


def cli(env, *args, timeout=300):
    try:
        return subprocess.run([sys.executable, "-m", "worker", *args], cwd=ROOT, env=env["env"], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, 124, "", f"timed out after {timeout} s: {(e.stderr or b'')[-300:]!r}")


def submit_and_wait(env, *args) -> tuple[str, subprocess.CompletedProcess]:
    sub = cli(env, "submit", *args)
    assert sub.returncode == 0, sub.stderr
    job = sub.stdout.strip()
    return job, cli(env, "wait", job)


def test_every_file_gets_exactly_one_row(env, fer):
    folder = env["base"] / "in" / "zoo"
    names = write_faces(folder, fer["x_test"][:2000])
    expected = write_zoo(folder, fer["x_test"][500], env["base"] / "outside.png")
    expected.update({n: "ok" for n in names})
    out = env["base"] / "out" / "zoo.csv"
    job, waited = submit_and_wait(env, str(folder), "--out", str(out), "--chunk-size", "64")
    assert waited.returncode == 0, waited.stderr + (env["base"] / "worker.log").read_text()[-3000:]
    rows = read_report(out)
    header = list(rows[0].keys())
    labels = json.loads(subprocess.check_output([sys.executable, "-c", "from fercore.predictor import Predictor;"
                                                 f"print(__import__('json').dumps(Predictor({str(SHIPPED_MODEL)!r}).labels))"],
                                                cwd=ROOT))
    assert header == ["path", "status", "error", "label", "confidence", *[f"p_{x}" for x in labels]]
    paths = [r["path"] for r in rows]
    assert paths == sorted(paths)
    unescaped = [p[1:] if p.startswith("'") else p for p in paths]
    assert sorted(unescaped) == sorted(expected) and len(set(unescaped)) == len(unescaped)
    by_path = dict(zip(unescaped, rows))
    for name, status in expected.items():
        assert by_path[name]["status"] == status, (name, by_path[name])
        if status == "error":
            assert by_path[name]["error"] and "\n" not in by_path[name]["error"]
    assert "outside" in by_path["escape.png"]["error"] and "too large" in by_path["bomb.png"]["error"]
    assert by_path["=cmd.png"]["path"] == "'=cmd.png" and by_path["-minus.png"]["path"] == "'-minus.png"
    assert "new\nline.png" in by_path and "ünïcødé_表情.png" in by_path
    ok = by_path["face_00000.png"]
    assert abs(sum(float(ok[f"p_{x}"]) for x in labels) - 1) < 1e-3 and ok["label"] in labels
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["files"] == len(expected) and summary["status"]["error"] == 8
    assert summary["model_id"].startswith("fer2013_cnn.onnx@") and summary["params"]["chunk_size"] == 64
    status = json.loads(cli(env, "status", job).stdout)
    assert status["state"] == "done" and status["done"] == len(expected) and status["failed"] == 8

    # the in-process scorer gives the same report from the same chunk code, with chunks scored on
    # several threads at once (the default: one per core) or one at a time
    for threads in ("0", "1"):
        local = env["base"] / "out" / f"zoo_local{threads}.csv"
        proc = cli(env, "score", str(folder), "--out", str(local), "--chunk-size", "64", "--threads", threads)
        assert proc.returncode == 0, proc.stderr
        a = read_report(local)
        assert [(r["path"], r["status"], r["label"]) for r in a] == [(r["path"], r["status"], r["label"]) for r in rows]
        assert json.loads(local.with_suffix(".summary.json").read_text())["params"]["threads"] == (int(threads) or
                                                                                                   os.cpu_count())
    proc = cli(env, "score", str(folder), "--out", str(local), "--threads", "-1")
    assert proc.returncode != 0 and proc.stderr.startswith("error: threads must be >= 0")
    assert "Traceback" not in proc.stderr


def test_faces_mode_rows(env, fer):
    folder = env["base"] / "in" / "faces"
    folder.mkdir()
    Image.open(ASTRONAUT).save(folder / "astronaut.jpg")
    Image.new("RGB", (300, 200), (90, 140, 200)).save(folder / "sky.png")
    out = env["base"] / "out" / "faces.csv"
    _, waited = submit_and_wait(env, str(folder), "--out", str(out), "--faces", "all")
    assert waited.returncode == 0, waited.stderr
    rows = {r["path"]: r for r in read_report(out)}
    assert list(next(iter(rows.values())))[-2:] == ["face", "box"]
    assert rows["astronaut.jpg"]["status"] == "ok" and rows["astronaut.jpg"]["face"] == "0"
    x, y, w, h = map(int, rows["astronaut.jpg"]["box"].split(","))
    assert 100 < x < 300 and w > 50
    assert rows["sky.png"]["status"] == "no_face"


def test_sigkill_worker_mid_job_loses_nothing(env, fer):
    folder = env["base"] / "in" / "kill"
    names = write_faces(folder, fer["x_test"][:360], size=480, fmt="jpg")  # face detection on 480x480: slow chunks
    out = env["base"] / "out" / "kill.csv"
    sub = cli(env, "submit", str(folder), "--out", str(out), "--faces", "largest", "--chunk-size", "12")
    job = sub.stdout.strip()
    deadline = time.time() + 120
    while json.loads(cli(env, "status", job).stdout)["done"] < 24 and time.time() < deadline:
        time.sleep(0.3)
    status = json.loads(cli(env, "status", job).stdout)
    assert status["state"] == "running" and status["done"] < len(names), status
    env["worker"].kill(signal.SIGKILL)  # the main process and its pool children, mid-chunk
    env["worker"] = CeleryWorker(env["env"], env["base"] / "worker.log", name="w2").start()
    waited = cli(env, "wait", job, timeout=240)
    import redis

    r = redis.Redis.from_url(env["env"]["REDIS_URL"], decode_responses=True)
    state = {"unacked": r.hlen("unacked"), "mutex": r.get("unacked_mutex"), "queue": r.llen("celery")}
    assert waited.returncode == 0, (waited.stderr[-500:], state)
    rows = read_report(out)
    assert sorted(r["path"] for r in rows) == sorted(names)  # every file exactly once (largest face: one row)


def test_redis_restart_mid_job(env, fer):
    folder = env["base"] / "in" / "restart"
    names = write_faces(folder, fer["x_test"][:240], size=480, fmt="jpg")
    out = env["base"] / "out" / "restart.csv"
    job = cli(env, "submit", str(folder), "--out", str(out), "--faces", "largest", "--chunk-size", "12").stdout.strip()
    deadline = time.time() + 120
    while json.loads(cli(env, "status", job).stdout)["done"] < 24 and time.time() < deadline:
        time.sleep(0.3)
    env["redis"].kill()
    time.sleep(3)
    env["redis"].start()
    waited = cli(env, "wait", job, timeout=300)
    if waited.returncode == 0:
        assert sorted(r["path"] for r in read_report(out)) == sorted(names)
    else:  # allowed: a clear failure, and then no short report
        assert "error:" in waited.stderr and not out.exists()


def test_cancel(env, fer):
    folder = env["base"] / "in" / "cancel"
    write_faces(folder, fer["x_test"][:240], size=480, fmt="jpg")
    out = env["base"] / "out" / "cancel.csv"
    job = cli(env, "submit", str(folder), "--out", str(out), "--faces", "all", "--chunk-size", "12").stdout.strip()
    assert cli(env, "cancel", job).returncode == 0
    waited = cli(env, "wait", job, timeout=120)
    assert waited.returncode == 1 and "cancelled" in waited.stderr
    time.sleep(3)
    assert not out.exists()


def test_paths_outside_roots_are_refused(env, tmp_path):
    inside = env["base"] / "in"
    for bad in (tmp_path, inside / ".." / "out", inside / "link"):
        if bad.name == "link":
            bad.symlink_to(tmp_path)
        proc = cli(env, "submit", str(bad), "--out", str(env["base"] / "out" / "x.csv"))
        assert proc.returncode == 1 and "outside the allowed roots" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    proc = cli(env, "submit", str(inside), "--out", str(tmp_path / "x.csv"))
    assert proc.returncode == 1 and "outside the allowed roots" in proc.stderr


def test_unknown_job_and_bad_option(env):
    proc = cli(env, "status", "nope")
    assert proc.returncode == 1 and proc.stderr.startswith("error: unknown job") and "Traceback" not in proc.stderr
    proc = cli(env, "submit", "--bogus")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_json_only_and_no_tensorflow():
    code = ("import sys, worker.app, worker.tasks, worker.jobs, worker.scoring\n"
            "c = worker.app.app.conf\n"
            "assert c.accept_content == ['json'] and c.task_serializer == 'json' and c.result_serializer == 'json'\n"
            "assert c.result_accept_content == ['json'] and c.task_acks_late and c.worker_prefetch_multiplier == 1\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
