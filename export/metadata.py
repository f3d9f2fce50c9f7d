"""What an export writes beside the graph: ONNX metadata entries and the ``<stem>.export.json`` report path."""

from __future__ import annotations

import json
from pathlib import Path

import onnx


def set_metadata(proto: onnx.ModelProto, meta: dict[str, str]) -> None:
    """Replace ``metadata_props`` entries with ``meta`` (string keys and values)."""
    keep = [p for p in proto.metadata_props if p.key not in meta]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=str(v))


def report_path(onnx_path: Path) -> Path:
    """``<stem>.export.json`` beside an exported file: everything the export measured (read by the card)."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(onnx_path.name.removesuffix(".onnx") + ".export.json")


def crop_metadata(crops: list[int]) -> str:
    """The ``crop`` metadata value: the members' input side as one number (``"40"``; ``"0"``: the full input)
    where all members share it, else a JSON list with one per member (``"[40, 0, 0]"``)."""
    return str(crops[0]) if len(set(crops)) == 1 else json.dumps(crops)
