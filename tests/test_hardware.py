"""`--precision auto` picks the policy that trains faster on this CPU, and test-time views of full-size members."""

from __future__ import annotations

import pytest

from fer_toolkit.training import hardware

NET = {"input_shape": (40, 40, 1), "num_classes": 7, "widths": (8, 16), "head_units": 16}


def test_step_seconds_times_a_real_training_step_and_restores_the_policy():
    import keras

    before = keras.config.dtype_policy().name
    for precision in ("float32", "mixed_bfloat16"):
        assert 0 < hardware.step_seconds(precision, NET, batch=8, steps=2) < 30
    assert keras.config.dtype_policy().name == before


@pytest.mark.parametrize("timed, expected", [({"float32": 0.17, "mixed_bfloat16": 0.34}, "float32"),
                                             ({"float32": 0.17, "mixed_bfloat16": 0.12}, "mixed_bfloat16")])
def test_auto_takes_the_faster_policy_on_a_cpu_with_native_bf16(monkeypatch, timed, expected):
    monkeypatch.setattr(hardware, "accelerator", lambda: None)
    monkeypatch.setattr(hardware, "native_bf16", lambda: True)
    monkeypatch.setattr(hardware, "step_seconds", lambda precision, network: timed[precision])
    assert hardware.resolve_precision("auto", NET) == expected
    assert hardware.resolve_precision("float32", NET) == "float32"  # an explicit policy is never probed


def test_auto_is_float32_without_native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "accelerator", lambda: None)
    monkeypatch.setattr(hardware, "native_bf16", lambda: False)
    assert hardware.resolve_precision("auto", NET) == "float32"


def test_a_full_size_member_sees_the_image_and_its_mirror_under_tencrop():
    from fer_toolkit.training.views import member_views

    assert member_views((48, 48), 0, "tencrop") == [(((0, 0), (0, 0)), False), (((0, 0), (0, 0)), True)]
    assert len(member_views((48, 48), 40, "tencrop")) == 10 and len(member_views((48, 48), 48, "flip")) == 2
