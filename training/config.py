"""Every option of a training run, in one dataclass (TensorFlow-free, so the CLI parses fast)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: test-time views an exported graph can average (see fer_toolkit.training.views.view_crops)
TTA_MODES = ("none", "flip", "tencrop", "multiscale")


@dataclass
class TrainConfig:
    """Every option of a training run; saved as ``config.json`` in the run folder.

    ``input_size`` is what the exported model takes; with ``crop`` the network
    itself sees ``crop x crop`` pixels: a random crop in training (a random shift
    then a centre crop) and the centre crop at evaluation, as in the ten-crop
    FER2013 recipes (Khaireddin & Chen 2021; WuJie1010's Facial-Expression-Recognition.Pytorch).
    ``soft_labels`` names a ``.npy`` of teacher probabilities ``(N_train, K)``
    for knowledge distillation (Hinton et al. 2015): the loss is
    ``kd_alpha * CE(label) + (1 - kd_alpha) * T^2 * KL(teacher_T || student_T)``.
    """

    data: str = "data/fer2013"
    out: str = "runs/fer2013"
    input_size: tuple[int, int] = (48, 48)
    channels: int = 1
    crop: int = 0  # 0: no crop; else the network's input side (random crop in training, centre crop otherwise)
    epochs: int = 60
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # cosine (with linear warm-up) | plateau (ReduceLROnPlateau) | constant (for SWA)
    swa_start: int = 0  # 0: off; else average the weights from this epoch on (SWA, see training.swa)
    warmup_steps: int = 500
    class_weight: str = "none"  # none | balanced | sqrt
    augment: bool = True
    rotation: float = 0.05  # fraction of a full turn (0.05 = +-18 degrees)
    shift: float = 0.1  # fraction of the side
    zoom: float = 0.1  # fraction of the side
    erasing: float = 0.0  # probability of random erasing (Zhong et al. 2020) per image
    served_crops: float = 0.0  # share 0..1 of training faces given their served crop (training.served_crops)
    photometric: float = 0.0  # strength 0..1 of lighting, contrast, blur, noise and JPEG jitter (training.augment)
    label_smoothing: float = 0.0
    widths: tuple[int, ...] = (32, 64, 128, 256)
    block_dropout: float = 0.1
    head_units: int = 256
    head_dropout: float = 0.4
    precision: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16 | auto (training.hardware.resolve_precision)
    soft_labels: str = ""  # teacher probabilities (.npy, N_train x K) or crowd votes (.npz/.csv, training.votes)
    init: str = ""  # .keras network whose weights start the run (warm restart; see training.warm_start.init_weights)
    kd_alpha: float = 0.5
    kd_temperature: float = 4.0
    patience: int = 30
    val_fraction: float = 0.1
    seed: int = 0
    extra: dict = field(default_factory=dict)
