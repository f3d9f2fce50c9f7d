"""Cut one network out of an ensemble file, so that it can be recovered (:mod:`fer_toolkit.export.recover`).

An ensemble export folds its members into one graph: each member's softmax (``.../member<k>_1/probs_1/Softmax``)
feeds the mean, then the temperature. The member's own subgraph, from the shared input to its softmax, is a
complete single-network export, which ``onnx.utils.extract_model`` writes as a file of its own. In a file with
test-time views (flip, ten crops) each member is called once per view, and the first call (the lowest call
number in the name) sees the first view, the centre crop without mirroring
(:func:`fer_toolkit.training.inference.build_inference_model`): that call's subgraph is the member's one-pass
export.
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
        onnx_path: an ensemble exported by fer-toolkit, with or without test-time views.
        member: the member's name in the ``members`` metadata (e.g. ``base2_swa``) or its index.

    Returns:
        ``out_path``.

    Raises:
        ValueError: a file of one network, no such member, or not a fer-toolkit ensemble.
    """
    proto = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    members = json.loads(meta.get("members", "[]"))
    if len(members) == 1:
        raise ValueError(f"{Path(onnx_path).name} holds one network ({members[0]}): recover it without --member")
    k = member_index(members, member)
    softmax = re.compile(rf"/member{k}_(\d+)/probs_\d+/Softmax:0$")
    calls = sorted((int(m.group(1)), o) for n in proto.graph.node for o in n.output if (m := softmax.search(o)))
    views = meta.get("tta", "none") != "none"
    if not calls or (len(calls) > 1 and not views):
        raise ValueError(f"{Path(onnx_path).name} is not an ensemble exported by fer-toolkit "
                         f"(found {len(calls)} softmax outputs for member {k})")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.utils.extract_model(str(onnx_path), str(out_path), [proto.graph.input[0].name], [calls[0][1]])
    single = onnx.load(str(out_path))
    if any(n.op_type == "ReverseSequence" for n in single.graph.node):  # a mirrored view, not the first
        out_path.unlink()
        raise ValueError(f"{Path(onnx_path).name}: the first call of member {k} sees a mirrored view; "
                         "take the member from the same networks' file without views")
    crops = json.loads(meta.get("crop", "0") or "0")  # one crop for all members, or a list (export.crop_metadata)
    keep = {key: value for key, value in meta.items() if not key.startswith(("test_", "val_"))}
    keep.update(members=json.dumps([members[k]]), temperature="1.0", tta="none",
                crop=str(crops[k] if isinstance(crops, list) else crops),
                extracted_from=f"{Path(onnx_path).name} member {k} ({members[k]})")
    onnx.helper.set_model_props(single, keep)
    onnx.save(single, str(out_path))
    return out_path
