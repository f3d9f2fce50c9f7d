"""Every option of a training run, in one dataclass (TensorFlow-free, so the CLI parses fast)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    """Every option of a training run; saved as ``config.json`` in the run folder."""

    data: str = "data/fer2013"
    out: str = "runs/fer2013"
    input_size: tuple[int, int] = (48, 48)
    channels: int = 1
    epochs: int = 60
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # cosine (with linear warm-up) | plateau (ReduceLROnPlateau)
    warmup_steps: int = 500
    class_weight: str = "none"  # none | balanced | sqrt
    augment: bool = True
    widths: tuple[int, ...] = (32, 64, 128, 256)
    block_dropout: float = 0.1
    head_units: int = 256
    head_dropout: float = 0.4
    patience: int = 30
    val_fraction: float = 0.1
    seed: int = 0
    extra: dict = field(default_factory=dict)
