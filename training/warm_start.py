"""Starting a run from a saved network (``fer-toolkit train --init``): load it, adopt its architecture, copy its
weights."""

from __future__ import annotations

from pathlib import Path

import keras

from fer_toolkit.training.config import TrainConfig


def saved_network(path: str | Path) -> keras.Model:
    """The bare network saved at ``path`` (a ``best.keras``, or the trainer of a ``last.keras``).

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--init: no such file {path}")
    saved = keras.models.load_model(path, compile=False)
    return saved.get_layer("fer_cnn") if saved.name == "trainer" else saved


def adopt_architecture(cfg: TrainConfig, saved: keras.Model, input_size: tuple[int, int]) -> None:
    """Set ``cfg.widths``, ``cfg.head_units`` and ``cfg.crop`` to those of the network ``saved``, so that
    ``--init`` needs no architecture options (``crop`` is the saved network's input side where it is smaller than
    ``input_size``).

    Raises:
        ValueError: not a network built by ``build_model``.
    """
    convs = [layer for layer in saved.layers if isinstance(layer, keras.layers.Conv2D)]
    try:
        head = saved.get_layer("head_dense").units
    except ValueError:
        raise ValueError(f"--init: {cfg.init} is not a network built by fer-toolkit (no head_dense layer)") from None
    side = int(saved.inputs[0].shape[1])
    cfg.widths, cfg.head_units = tuple(int(c.filters) for c in convs[::2]), int(head)
    cfg.crop = 0 if side == input_size[0] else side


def init_weights(net: keras.Model, saved: keras.Model) -> None:
    """Copy the weights of the network ``saved`` into ``net`` (a warm restart, as in SGDR's restarts,
    Loshchilov & Hutter 2017, but from a saved network and with a new schedule).

    Raises:
        ValueError: the saved network's weights do not fit ``net`` (other widths or classes); the input size may
            differ, as the network ends in global pooling.
    """
    ours, theirs = net.get_weights(), saved.get_weights()
    if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
        raise ValueError(f"--init: the network {saved.name!r} does not match this run's (widths, head units, "
                         "classes)")
    net.set_weights(theirs)
