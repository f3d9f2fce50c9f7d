"""The Gradio app: upload, webcam snapshot and live webcam stream over :mod:`fer_toolkit.demo.handler`, and the
Video tab (:mod:`fer_toolkit.demo.video_tab`).

``python -m fer_toolkit.demo`` (or ``make demo``) launches it; importing this module does not.
"""

from __future__ import annotations

import os

# Offline by default: no analytics call, no Hugging Face Hub lookups at start.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import base64  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from fer_toolkit.demo.handler import DemoModel, classify, explain, faces_markdown, info_markdown  # noqa: E402
from fer_toolkit.demo.video_tab import build_video_tab  # noqa: E402
from fer_toolkit.fercore.preprocess import ImageDecodeError  # noqa: E402

EXAMPLES = sorted(str(p) for p in (Path(__file__).parent / "examples").glob("*.jpg"))
TOP_K = 3


def upload_source(payload) -> str | bytes:
    """The uploaded file's path (or bytes, for a data URL) from a raw ``gr.Image`` payload.

    Events run with ``preprocess=False`` so that Gradio does not decode the upload:
    decoding, the pixel limit and the error messages are the project's own.

    Raises:
        gradio.Error: no image was given.
    """
    if isinstance(payload, dict):
        url = payload.get("url") or ""
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        payload = payload.get("path")
    if not payload:
        raise gr.Error("upload an image or take a webcam snapshot first", print_exception=False)
    return payload


def build_demo(model: DemoModel, concurrency: int = 2) -> gr.Blocks:
    """The Blocks app for ``model`` (created once and shared read-only by all requests).

    Args:
        concurrency: requests run at once per event (the queue's limit).
    """

    def predict(payload):
        try:
            result = classify(upload_source(payload), model)
        except ImageDecodeError as e:
            raise gr.Error(str(e), print_exception=False) from None
        return (result.annotated, result.top, faces_markdown(result, TOP_K), info_markdown(result, model),
                result.gallery(), [f.pixels for f in result.faces], None, "")

    def heatmap(crops, evt: gr.SelectData):
        if not crops or evt.index is None or not 0 <= evt.index < len(crops):
            return None, ""
        img, caption = explain(np.asarray(crops[evt.index], np.uint8), model)
        return img, f"face {evt.index + 1}: {caption}"

    def stream(frame):
        if frame is None:
            return None, None
        result = classify(frame, model)
        return result.annotated, result.top

    labels = ", ".join(model.predictor.labels)
    with gr.Blocks(title="Facial emotion recognition") as app:
        gr.Markdown(f"# Facial emotion recognition\nONNX model on onnxruntime; faces found with YuNet, rotated "
                    f"level, framed like FER2013 and classified into: {labels}. An image that is itself a face "
                    f"crop is classified whole.")
        with gr.Tab("Photo or snapshot"):
            with gr.Row():
                inp = gr.Image(sources=["upload", "webcam", "clipboard"], type="filepath", label="image")
                out_img = gr.Image(label="faces", interactive=False)
            with gr.Row():
                out_label = gr.Label(num_top_classes=TOP_K, label="largest face")
                with gr.Column():
                    out_faces = gr.Markdown()
                    out_info = gr.Markdown()
            with gr.Row():
                gallery = gr.Gallery(label="what the model saw (aligned crops); select one for its heatmap",
                                     columns=6, height=220, allow_preview=False)
                with gr.Column():
                    heat = gr.Image(label="occlusion sensitivity of the selected face", interactive=False,
                                    height=220)
                    heat_info = gr.Markdown()
            crops = gr.State([])
            btn = gr.Button("Classify", variant="primary")
            outputs = [out_img, out_label, out_faces, out_info, gallery, crops, heat, heat_info]
            gallery.select(heatmap, crops, [heat, heat_info], concurrency_limit=concurrency, api_name=False)
            btn.click(predict, inp, outputs, concurrency_limit=concurrency, api_name="predict", preprocess=False)
            inp.upload(predict, inp, outputs, concurrency_limit=concurrency, api_name=False, preprocess=False)
            if EXAMPLES:
                gr.Examples(EXAMPLES, inp)
        with gr.Tab("Live webcam"):
            with gr.Row():
                cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="webcam")
                cam_out = gr.Image(label="faces", interactive=False)
            cam_label = gr.Label(num_top_classes=TOP_K, label="largest face")
            cam.stream(stream, cam, [cam_out, cam_label], stream_every=0.3, concurrency_limit=concurrency,
                       api_name=False)
        build_video_tab(model, concurrency)
    app.queue(default_concurrency_limit=concurrency, max_size=64)
    return app
