"""Stochastic weight averaging (training/swa.py) on real FER2013 images."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def _pick(fer, n: int, seed: int = 0) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(len(fer["y_train"]))[:n])  # the split is sorted by class


def _images(fer, n: int, seed: int = 0) -> np.ndarray:
    return fer["x_train"][_pick(fer, n, seed)].astype(np.float32)[..., None]


def _net(seed: int):
    from fer_toolkit.training.model import build_model

    keras.utils.set_random_seed(seed)
    return build_model((48, 48, 1), 7, widths=(8, 16), head_units=16)


def test_update_batchnorm_gives_each_layer_the_statistics_it_sees(fer):
    """After the pass, every BatchNorm's moving mean and variance are those of its own input on the images,
    with the earlier layers already updated (checked against a probe on the updated network)."""
    from fer_toolkit.training.swa import update_batchnorm

    x = _images(fer, 512)
    net = _net(0)
    update_batchnorm(net, x, batch=100)
    for bn in [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]:
        z = np.asarray(keras.Model(net.input, bn.input)(x, training=False), np.float64).reshape(-1, bn.input.shape[-1])
        _, _, mean, var = bn.get_weights()
        np.testing.assert_allclose(mean, z.mean(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(var, z.var(0), rtol=1e-3, atol=1e-5)
    # the statistics make the network's activations normalised: the first block's BN output has mean ~beta = 0
    out = np.asarray(keras.Model(net.input, net.get_layer("block1_bn1").output)(x, training=False))
    assert np.abs(out.mean((0, 1, 2))).max() < 1e-3


def test_channel_moments_of_outputs_of_different_sizes(fer):
    """Each output's moments count its own positions (a 48x48 and a 24x24 map in one probe)."""
    from fer_toolkit.training.swa import channel_moments

    x = _images(fer, 300)
    net = _net(0)
    outs = [net.get_layer("block1_conv1").output, net.get_layer("block2_conv1").output]
    got = channel_moments(keras.Model(net.input, outs), x, batch=128)
    for (mean, var), z in zip(got, keras.Model(net.input, outs)(x, training=False)):
        z = np.asarray(z, np.float64).reshape(-1, z.shape[-1])
        np.testing.assert_allclose(mean, z.mean(0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(var, z.var(0), rtol=1e-5, atol=1e-9)


def test_weight_average_is_the_mean_of_the_epochs_and_resumes(fer, tmp_path):
    """The average holds the mean of the weights at the ends of the epochs from ``start`` on; a new callback on
    the same folder (``--resume``) continues it; an epoch already averaged is not counted twice; the averaged
    network's val top-1 is the one put in the logs."""
    from fer_toolkit.training.swa import WeightAverage

    net = _net(0)
    snapshots = [_net(s).get_weights() for s in (1, 2, 3, 4)]
    x, y = _images(fer, 256), fer["y_train"][_pick(fer, 100, seed=1)]
    val = (_images(fer, 100, seed=1), y)

    def copy(weights):
        other = _net(9)
        other.set_weights(weights)
        return other

    def run(callback, epoch, weights):
        net.set_weights(weights)
        logs = {}
        callback.on_epoch_end(epoch, logs)
        return logs

    swa = WeightAverage(tmp_path, net, copy, start=2, stats_x=x, val=val)
    assert np.isnan(run(swa, 0, snapshots[0])["swa_val_accuracy"])  # epoch 1 < start
    run(swa, 1, snapshots[1])
    logs = run(swa, 2, snapshots[2])
    resumed = WeightAverage(tmp_path, net, copy, start=2, stats_x=x, val=val)
    assert np.isnan(run(resumed, 2, snapshots[0])["swa_val_accuracy"])  # epoch 3 again: already in the mean
    logs = run(resumed, 3, snapshots[3])
    assert json.loads((tmp_path / "swa.json").read_text())["count"] == 3
    trainable = {id(v) for v in net.trainable_weights}
    mask = [id(v) in trainable for v in net.weights]
    for i, (got, trained) in enumerate(zip(resumed.averaged.get_weights(), mask)):
        if trained:
            want = np.mean([snapshots[k][i] for k in (1, 2, 3)], axis=0)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    pred = resumed.averaged.predict(val[0], verbose=0).argmax(1)
    assert logs["swa_val_accuracy"] == pytest.approx(float((pred == y).mean()))


def test_a_swa_run_selects_the_best_average(small_tree, tmp_path):
    """``train`` with ``swa_start``: the history logs the average's val top-1 from that epoch on, the summary's
    best is their maximum, ``best.keras`` is the average that scored it, and ``--resume`` continues."""
    import csv

    from fer_toolkit.training.config import TrainConfig
    from fer_toolkit.training.data import load_data
    from fer_toolkit.training.train import train

    cfg = TrainConfig(data=str(small_tree), out=str(tmp_path / "swa"), epochs=3, batch_size=32, optimizer="sgd",
                      schedule="constant", lr=0.01, widths=(16, 32), head_units=32, augment=False, swa_start=2)
    train(cfg)
    cfg.epochs = 4
    best = train(cfg, resume=True)
    with (tmp_path / "swa" / "history.csv").open() as f:
        scores = [float(row["swa_val_accuracy"]) for row in csv.DictReader(f)]
    assert np.isnan(scores[0]) and not np.isnan(scores[1:]).any() and len(scores) == 4
    summary = json.loads((tmp_path / "swa" / "train_summary.json").read_text())
    assert summary["best_val_accuracy"] == pytest.approx(max(scores[1:]))
    assert json.loads((tmp_path / "swa" / "swa.json").read_text())["count"] == 3
    _, splits = load_data(small_tree, (48, 48), 1, 0.1, 0)
    net = keras.models.load_model(best, compile=False)
    pred = net.predict(splits["val"].x.astype(np.float32), verbose=0).argmax(1)
    assert float((pred == splits["val"].y).mean()) == pytest.approx(summary["best_val_accuracy"])
