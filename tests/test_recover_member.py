"""One network recovered from a folded ensemble: the member asked for, exactly, by name or index."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from fer_toolkit.fercore.predictor import Predictor
from fer_toolkit.training.data import load_split


@pytest.fixture(scope="module")
def pair(tiny_run, tmp_path_factory):
    """An ensemble file of two different networks: ``tiny_run`` and ``other``, whose logits layer is changed."""
    import keras

    from fer_toolkit.export.onnx_export import export_run

    tmp = tmp_path_factory.mktemp("pair")
    other = tmp / "other"
    shutil.copytree(tiny_run, other)
    net = keras.saving.load_model(other / "best.keras")
    kernel, bias = net.get_layer("logits").get_weights()
    net.get_layer("logits").set_weights([kernel * 0.5, bias + np.arange(len(bias), dtype=np.float32)])
    net.save(other / "best.keras")
    export_run([tiny_run, other], tmp / "pair.onnx", int8=False, evaluate_test=False)
    export_run([tiny_run, other], tmp / "pair_flip.onnx", tta="flip", int8=False, evaluate_test=False)
    export_run([tiny_run, other], tmp / "pair_multiscale.onnx", tta="multiscale", int8=False, evaluate_test=False)
    return tmp / "pair.onnx", {0: tiny_run, "other": other}


@pytest.mark.parametrize(("member", "file"), [(0, "pair.onnx"), ("other", "pair.onnx"), ("other", "pair_flip.onnx"),
                                                  ("other", "pair_multiscale.onnx")])
def test_a_member_comes_back_exactly_by_index_or_name(pair, small_tree, tmp_path, member, file):
    """From a file with or without test-time views (with flip or multiscale: the member's pass over the unmirrored
    image at its own scale)."""
    import keras

    from fer_toolkit.export.recover import recover_run

    path, runs = pair[0].with_name(file), pair[1]
    assert Predictor(path).metadata["tta"] == {"pair.onnx": "none"}.get(file, file[5:-5])
    best = recover_run(path, tmp_path / "rec", small_tree, member=str(member))
    rec = json.loads((tmp_path / "rec" / "config.json").read_text())["recovered_from"]
    assert rec["file"] == file and rec["member"] == str(member) and rec["val_top1_agreement"] == 1.0
    assert not (tmp_path / "rec" / "member.onnx").exists()
    x = load_split(small_tree / "val", Predictor(path).config, small_tree).x
    want = keras.saving.load_model(runs[member] / "best.keras").predict(x, verbose=0)
    got = keras.saving.load_model(best).predict(x, verbose=0)
    assert np.abs(want - got).max() < 1e-4
    wrong = keras.saving.load_model(runs[0 if member == "other" else "other"] / "best.keras").predict(x, verbose=0)
    assert np.abs(wrong - got).max() > 0.05  # the two members differ, and the one asked for came back


def test_a_recovered_member_exports_again_and_its_card_points_to_the_ensemble(pair, small_tree, tmp_path):
    from fer_toolkit.export.card import write_card
    from fer_toolkit.export.onnx_export import export_run
    from fer_toolkit.export.recover import recover_run

    recover_run(pair[0], tmp_path / "other", small_tree, member="other")
    report = export_run(tmp_path / "other", tmp_path / "other.onnx", int8=False, evaluate_test=False)
    assert report["parity"]["top1_agreement"] == 1.0
    card = write_card(tmp_path / "other.onnx").read_text()
    sha = hashlib.sha256(pair[0].read_bytes()).hexdigest()[:12]
    assert f"- `other`: member `other` of `pair.onnx` (model version 1, sha256 `{sha}`), recovered exactly" in card


def test_member_errors(pair, small_tree, tmp_path):
    from fer_toolkit.export.recover import recover_run
    from fer_toolkit.models import resolve

    with pytest.raises(ValueError, match="no member 'nope'.*its members are"):
        recover_run(pair[0], tmp_path / "rec", small_tree, member="nope")
    with pytest.raises(ValueError, match="several members"):
        recover_run(pair[0], tmp_path / "rec", small_tree)
    with pytest.raises(ValueError, match="several members or test-time views: recover one member"):
        recover_run(resolve("accurate"), tmp_path / "rec", small_tree)
    with pytest.raises(ValueError, match=r"holds one network \(student_ferplus\): recover it without --member"):
        recover_run(resolve("fast"), tmp_path / "rec", small_tree, member="0")
    assert not (tmp_path / "rec").exists()
