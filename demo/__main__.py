"""``python -m fer_toolkit.demo [--model PATH|ROLE] [--host H] [--port P] [--share]``: launch the Gradio app."""

from __future__ import annotations

import sys

from fer_toolkit.fercore.analyze import FACE_MODES
from fer_toolkit.fercore.cli import OneLineParser, unit_interval
from fer_toolkit.fercore.preprocess import DEFAULT_MAX_PIXELS


def main(argv: list[str] | None = None) -> int:
    """Parse options, load the model once, launch; returns the exit status."""
    p = OneLineParser(prog="fer-toolkit demo", description="Facial emotion recognition demo (Gradio + onnxruntime).")
    p.add_argument("--model", default=None,
                   help="ONNX model exported by this project, or a shipped role: fast, balanced, accurate "
                   "(default: the accurate file's INT8 twin)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link (needs internet)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="largest accepted image (w x h)")
    p.add_argument("--concurrency", type=int, default=2, help="requests processed at once")
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="auto: detected faces, or a face crop whole (default); largest/all faces; none: whole")
    p.add_argument("--no-align", dest="align", action="store_false",
                   help="crop the detector's box instead of rotating faces level and framing them like FER2013")
    p.add_argument("--face-threshold", type=unit_interval, default=0.8, help="detector score threshold 0..1")
    args = p.parse_args(argv)

    from fer_toolkit.demo.app import build_demo
    from fer_toolkit.demo.handler import DemoModel

    try:
        model = DemoModel(args.model, args.max_pixels, args.faces, args.align, args.face_threshold)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    app = build_demo(model, args.concurrency)
    print(f"model {model.predictor.model_id}; labels {', '.join(model.predictor.labels)}", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True,
                   prevent_thread_lock=True)
    except OSError as e:  # port in use
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.share and not app.share_url:
        print(f"share link unavailable (it needs internet access); serving locally at {app.local_url}", flush=True)
    try:
        app.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
