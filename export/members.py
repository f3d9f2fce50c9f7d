"""Cut one network out of an ensemble file, so that it can be recovered (:mod:`fer_toolkit.export.recover`).

An ensemble export folds its members into one graph: each member's softmax (``.../member<k>_1/probs_1/Softmax``)
feeds the mean, then the temperature. The member's own subgraph, from the shared input to its softmax, is a
complete single-network export, which ``onnx.utils.extract_model`` writes as a file of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx


def member_index(members: list[str], member: str) -> int:
    """The position of ``member`` (a name from the file's ``members`` metadata, or an index) among ``members``.

    Raises:
        ValueError: no such member.
    """
    if member in members:
        return members.index(member)
    if member.isdigit() and int(member) < len(members):
        return int(member)
    raise ValueError(f"no member {member!r} in this file: its members are {', '.join(members)} "
                     f"(or 0..{len(members) - 1})")


def extract_member(onnx_path: Path, member: str, out_path: Path) -> Path:
    """Write member ``member`` of the ensemble file ``onnx_path`` as a single-network file ``out_path``.

    The new file keeps the input (float32 NHWC pixels 0..255) and outputs the member's own class probabilities,
    ``(N, num_classes)`` float32, before the ensemble's temperature: its metadata is the ensemble's with
    ``members`` = [the member's name], ``temperature`` = 1 and the measured figures dropped (they were the
    ensemble's).

    Args:
        onnx_path: an ensemble exported by fer-toolkit without test-time views (``tta`` none).
        member: the member's name in the ``members`` metadata (e.g. ``base2_swa``) or its index.

    Returns:
        ``out_path``.

    Raises:
        ValueError: a file with test-time views, a file of one network, or no such member.
    """
    proto = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get("tta", "none") != "none":
        raise ValueError(f"{Path(onnx_path).name} has test-time views: take the member from the same networks' "
                         "file without views (e.g. the balanced fer2013_cnn_ens3.onnx)")
    members = json.loads(meta.get("members", "[]"))
    if len(members) == 1:
        raise ValueError(f"{Path(onnx_path).name} holds one network ({members[0]}): recover it without --member")
    k = member_index(members, member)
    softmax = re.compile(rf"/member{k}_\d+/probs_\d+/Softmax:0$")
    outputs = [o for n in proto.graph.node for o in n.output if softmax.search(o)]
    if len(outputs) != 1:
        raise ValueError(f"{Path(onnx_path).name} is not an ensemble exported by fer-toolkit "
                         f"(found {len(outputs)} softmax outputs for member {k})")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.utils.extract_model(str(onnx_path), str(out_path), [proto.graph.input[0].name], outputs)
    single = onnx.load(str(out_path))
    crops = json.loads(meta.get("crop", "0") or "0")  # one crop for all members, or a list (export.crop_metadata)
    keep = {key: value for key, value in meta.items() if not key.startswith(("test_", "val_"))}
    keep.update(members=json.dumps([members[k]]), temperature="1.0",
                crop=str(crops[k] if isinstance(crops, list) else crops),
                extracted_from=f"{Path(onnx_path).name} member {k} ({members[k]})")
    onnx.helper.set_model_props(single, keep)
    onnx.save(single, str(out_path))
    return out_path
