"""Demo server-side latency: the request handler on a 48x48 crop and a 640x480 photo.

``python -m bench.demo_latency [--model PATH] [-n N]`` prints p50/p95 in ms for
the handler the app runs (decode + face detection + inference + annotation),
and the same through a launched app's HTTP API with ``gradio_client``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import fer_crop, p50_p95, photo_640x480, timeit
from fer_toolkit.fercore.cli import OneLineParser, existing_file, positive_int


def run(model_path: Path | None, n: int = 100) -> list[tuple[str, float, float]]:
    """Rows ``(case, p50 ms, p95 ms)``; ``model_path`` None: the demo's default (fer_toolkit.models.DEFAULTS)."""
    from fer_toolkit.demo.handler import DemoModel, classify, faces_markdown, info_markdown

    model = DemoModel(model_path)
    tmp = Path(tempfile.mkdtemp())
    cases = {"48x48 crop (PNG)": fer_crop(tmp / "crop.png"), "640x480 photo (JPEG, face detection)":
             photo_640x480(tmp / "photo.jpg")}
    rows = []
    for name, path in cases.items():
        def handler(path=path):
            r = classify(path, model)
            return faces_markdown(r), info_markdown(r, model)
        rows.append((f"handler, {name}", *p50_p95(timeit(handler, n))))
    return rows


def main() -> None:
    p = OneLineParser(prog="python -m bench.demo_latency")
    p.add_argument("--model", type=existing_file, default=None,
                   help="ONNX file (default: the demo's own, fer_toolkit.models.DEFAULTS)")
    p.add_argument("-n", type=positive_int, default=100)
    a = p.parse_args()
    print("| demo latency | p50 ms | p95 ms |\n| --- | ---: | ---: |")
    for name, p50, p95 in run(a.model, a.n):
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
