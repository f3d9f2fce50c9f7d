"""``python -m fer_toolkit.demo [--model PATH|ROLE] [--int8] [--host H] [--port P] [--share]``: launch the Gradio
app."""

from __future__ import annotations

import argparse
import sys

from fer_toolkit.fercore.cli import OneLineParser, print_error, run_cli
from fer_toolkit.fercore.options import FaceOptions, add_face_arguments
from fer_toolkit.fercore.session import add_providers_argument
from fer_toolkit.models import default_text


def main(argv: list[str] | None = None) -> int:
    """Parse options, load the model once, launch; returns the exit status."""
    p = OneLineParser(prog="fer-toolkit demo", description="Facial emotion recognition demo (Gradio + onnxruntime).")
    p.add_argument("--model", default=None,
                   help="ONNX model exported by this project, or a shipped role: fast, balanced, accurate "
                   f"(default: {default_text('demo')})")
    p.add_argument("--int8", action="store_true", default=None, help="the shipped role's static INT8 twin")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link (needs internet)")
    p.add_argument("--concurrency", type=int, default=2, help="requests processed at once")
    add_face_arguments(p)
    add_providers_argument(p)
    args = p.parse_args(argv)
    return run_cli(lambda: _serve(args))


def _serve(args: argparse.Namespace) -> int:
    from fer_toolkit.demo.app import build_demo
    from fer_toolkit.demo.handler import DemoModel

    model = DemoModel(args.model, args.int8, FaceOptions.from_args(args), providers=args.providers)
    app = build_demo(model, args.concurrency)
    print(f"model {model.predictor.model_id}; labels {', '.join(model.predictor.labels)}", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True,
                   prevent_thread_lock=True)
    except OSError as e:  # port in use
        print_error(str(e))
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
