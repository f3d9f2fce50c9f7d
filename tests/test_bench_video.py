"""``bench.video`` (issue 36, item 6): its clips, a quick run of its pieces (no Celery) and its argument errors.

The quick run builds clips of a second or three and writes its section into a copy of a BENCHMARKS.md, so the
section's shape is checked without the full benchmark's 10-minute video.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SHIPPED_MODEL

pytest.importorskip("av", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")
pytest.importorskip("scipy", reason="the video extra is not installed (pip install 'fer-toolkit[video]')")

from bench import video  # noqa: E402
from bench.video_clip import RATE, write_clip  # noqa: E402
from fer_toolkit.fercore.faces import FaceDetector  # noqa: E402
from fer_toolkit.fercore.video import iter_frames  # noqa: E402


def test_the_clip_is_a_real_face_moving_on_a_640x480_frame(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", 1.0)
    frames = list(iter_frames(clip, 0))
    assert len(frames) == RATE and {f.image.size for f in frames} == {(640, 480)}
    assert [f.time_s for f in frames[:3]] == pytest.approx([0, 1 / RATE, 2 / RATE])
    detector = FaceDetector()
    boxes = [detector.detect(frames[i].image) for i in (0, RATE // 4)]
    assert [len(b) for b in boxes] == [1, 1]
    assert boxes[0][0].box != boxes[1][0].box  # the head moves
    assert abs(boxes[0][0].box.x - boxes[1][0].box.x) < 40  # slightly


def _table(lines: list[str], header: str) -> list[list[str]]:
    """The body rows' cells of the markdown table whose header row starts with ``header``."""
    at = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[at + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_a_quick_run_writes_its_section_between_the_markers(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nbefore\n\n<!-- video:start -->\nan earlier run\n<!-- video:end -->\n\nafter\n")
    status = video.main(["--model", str(SHIPPED_MODEL), "--seconds", "1", "--short-seconds", "1", "--minutes",
                         "0.05", "--chunk-size", "8", "--no-celery", "--out", str(out)])
    assert status == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nbefore\n\n<!-- video:start -->\n## Video") and text.endswith("after\n")
    assert "an earlier run" not in text and text.count("<!-- video:start -->") == 1
    lines = text.split("<!-- video:start -->\n")[1].split("\n<!-- video:end -->")[0].splitlines()
    assert "\n".join(lines) in capsys.readouterr().out
    assert f"model `{SHIPPED_MODEL.name}`" in lines[2] and " cores" in lines[2]
    speed = _table(lines, "| layout |")
    assert [r[0] for r in speed] == ["one stream", f"{os.cpu_count()} threads (4 ranges)"]
    for r in speed:  # decode only >= decode+detect >= full path, a share, one face per frame
        decode, detect, full = (float(c.replace(",", "")) for c in r[1:4])
        assert decode > detect > 0 and full > 0 and re.fullmatch(r"\d+%", r[4]) and r[5] == "1.00"
    rss = _table(lines, "| video |")
    assert [r[:2] for r in rss] == [["1 s", "4"], ["3 s", "12"]]  # rows: --fps 4 sampled frames, one face each
    assert all(float(r[3]) > 50 for r in rss)
    assert "Not run (`--no-celery`)." in lines
    targets = _table(lines, "| target |")
    assert len(targets) == 3 and all(r[2] in ("yes", "**no**") for r in targets)
    assert targets[2][0] == "peak RSS, 3 s video within 50 MB of 1 s"


@pytest.mark.parametrize(("args", "text"), [
    (["--model", "none.onnx"], "--model: file not found: none.onnx"),
    (["--seconds", "0"], "--seconds: must be > 0, got 0.0"),
    (["--minutes", "x"], "--minutes: not a number: 'x'"),
    (["--fps", "-1"], "--fps: must be >= 0, got -1.0"),
    (["--chunk-size", "0"], "--chunk-size: must be >= 1, got 0"),
    (["--short-seconds", "0.001"], "must give at least one frame at 30 frames/s"),
])
def test_arguments(args, text, tmp_path):
    """Bad arguments exit 2 with one line, before any clip is built or file written."""
    out = tmp_path / "B.md"
    proc = subprocess.run([sys.executable, "-m", "bench.video", *args, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and text in errors[0], proc.stderr
    assert not out.exists()
