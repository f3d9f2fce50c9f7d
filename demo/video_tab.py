"""The demo's Video tab over :func:`fer_toolkit.demo.video_handler.analyze_clip`: upload a clip, see each track's
emotion probabilities over time, a strip of annotated keyframes and the per-frame table with a CSV download.

Only the Gradio glue lives here (components, progress, errors as ``gr.Error`` / ``gr.Warning``); the handler is pure.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from fer_toolkit.demo.handler import DemoModel
from fer_toolkit.demo.video_handler import VideoResult, analyze_clip
from fer_toolkit.fercore.video import DEFAULT_FPS, VideoDecodeError

MAX_FPS = 30.0  # the slider's top; 0 samples every frame
SERIES = ("time_s", "emotion", "probability")


def track_plot(result: VideoResult | None, track: int | None) -> pd.DataFrame:
    """Long-form ``time_s`` (s), ``emotion``, ``probability`` (0..1) rows of ``track``, for ``gr.LinePlot``
    (no rows without a result or a track)."""
    rows = result.series(track) if result is not None and track is not None else []
    return pd.DataFrame(rows, columns=list(SERIES))


def build_video_tab(model: DemoModel, concurrency: int = 2) -> None:
    """Add the Video tab to the ``gr.Blocks`` being built (call inside its context).

    Its analyse event is the API endpoint ``/analyze_video``: ``(video file, fps)`` in; summary Markdown, track
    dropdown, plot, keyframe gallery, table and CSV file out. Errors are one line (``gr.Error``); a video that
    breaks off keeps its earlier frames and raises a ``gr.Warning`` with the reason.
    """
    scratch = tempfile.TemporaryDirectory(prefix="fer-demo-video-")  # the CSV files; removed with the app

    def analyse(path, fps, progress=gr.Progress()):  # noqa: B008 (Gradio injects the tracker by this default)
        if not path:
            raise gr.Error("upload a video first", print_exception=False)

        def report(done_s: float, total_s: float | None) -> None:
            if total_s:
                progress(min(done_s / total_s, 1.0), desc=f"{done_s:.1f} of {total_s:.1f} s of video analysed")
            else:
                progress((round(done_s), None), desc="seconds of video analysed", unit="s")

        try:
            result = analyze_clip(path, model, float(fps or 0), report)
        except (VideoDecodeError, ValueError) as e:
            raise gr.Error(str(e), print_exception=False) from None
        except ImportError as e:
            raise gr.Error(f'reading videos needs PyAV and scipy: pip install "fer-toolkit[video]" ({e})',
                           print_exception=False) from None
        if result.warning:
            gr.Warning(f"the video broke off ({result.warning}); showing the frames decoded before it")
        csv = result.write_csv(Path(tempfile.mkdtemp(dir=scratch.name)) / f"{Path(path).stem}.emotions.csv")
        tracks = result.tracks
        first = tracks[0] if tracks else None
        kept = dataclasses.replace(result, keyframes=[])  # the plot's data, without pixels
        return (result.markdown(), gr.Dropdown(choices=[(f"#{t}", t) for t in tracks], value=first),
                track_plot(result, first), result.keyframes,
                pd.DataFrame(result.rows(), columns=result.headers()), str(csv), kept)

    with gr.Tab("Video"):
        with gr.Row():
            with gr.Column():
                clip = gr.Video(sources=["upload"], label="video (mp4, mkv, mov, webm, avi ...)")
                fps = gr.Slider(0, MAX_FPS, value=DEFAULT_FPS, step=0.5, label="sampled frames per second",
                                info="0 = every frame")
                btn = gr.Button("Analyse video", variant="primary")
            with gr.Column():
                summary = gr.Markdown()
                track = gr.Dropdown(choices=[], label="track", interactive=True)
                plot = gr.LinePlot(track_plot(None, None), x="time_s", y="probability",
                                   color="emotion", y_lim=[0, 1], x_title="time (s)",
                                   label="emotion probabilities of the selected track over time")
        strip = gr.Gallery(label="keyframes: box, #track and label per face", columns=6, height=220,
                           allow_preview=True)
        table = gr.Dataframe(label="one row per sampled frame and face", interactive=False, max_height=400)
        download = gr.File(label="the table as CSV", interactive=False)
        state = gr.State(None)
        outputs = [summary, track, plot, strip, table, download, state]
        btn.click(analyse, [clip, fps], outputs, concurrency_limit=concurrency, api_name="analyze_video")
        track.input(track_plot, [state, track], plot, api_name=False)  # a choice by the user, not the reset
