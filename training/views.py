"""Test-time views: which crops of the input (and their mirror images) each ensemble member sees.

Plain Python (no TensorFlow): the inference graph (:mod:`fer_toolkit.training.inference`), the model card and
the benchmarks all count and describe views with these functions.
"""

from __future__ import annotations

from fer_toolkit.training.config import TTA_MODES


def zoom_margin(side: int) -> int:
    """Pixels cropped (zoom in) or reflect-padded (zoom out) on each side by the ``multiscale`` views of a
    ``side``-pixel network input: ``max(1, round(side / 24))``, 2 for 48 px, so the views are zoomed by ~8%
    either way, inside the training augmentation's 10% zoom (:func:`fer_toolkit.training.augment.build_augmenter`)."""
    return max(1, round(side / 24))


def view_crops(size: tuple[int, int], crop: int, tta: str) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """The test-time views as ``((top, bottom), (left, right)) cropping, flipped`` triples.

    A negative margin pads that side by reflection instead of cropping it. A view whose side differs from the
    network's input side (``crop``, or the input's with ``crop`` 0) is resized to it, bilinearly
    (:func:`fer_toolkit.training.inference.build_inference_model`).

    Args:
        size: the input's ``(H, W)``.
        crop: the networks' input side (0: the full input).
        tta: ``none`` (centre crop), ``flip`` (centre crop and its mirror), ``tencrop`` (four corners and the
            centre, each also mirrored) or ``multiscale`` (the centre crop, zoomed in and zoomed out by
            :func:`zoom_margin` pixels a side, each also mirrored: multi-scale test-time augmentation, as in
            Simonyan & Zisserman 2015, section 4.2).

    Raises:
        ValueError: unknown mode, or a crop larger than the input.
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {', '.join(TTA_MODES)}, got {tta!r}")
    h, w = size
    ch, cw = (crop, crop) if crop else (h, w)
    if ch > h or cw > w:
        raise ValueError(f"crop {crop} is larger than the input {h}x{w}")
    dh, dw = h - ch, w - cw
    centre = ((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2))
    boxes = [centre]
    if tta == "tencrop":
        boxes += [((0, dh), (0, dw)), ((0, dh), (dw, 0)), ((dh, 0), (0, dw)), ((dh, 0), (dw, 0))]
    if tta == "multiscale":
        m = zoom_margin(min(ch, cw))
        boxes += [tuple((a + sign * m, b + sign * m) for a, b in centre) for sign in (1, -1)]
    flips = (False,) if tta == "none" else (False, True)
    return [(box, flip) for box in boxes for flip in flips]


def member_views(size: tuple[int, int], crop: int, tta: str) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """:func:`view_crops` without repeats: the distinct views one member sees.

    A member that takes the full input (``crop`` 0, or ``crop`` equal to the input side) has no corners to crop,
    so ``tencrop`` gives it the image and its mirror image, the same as ``flip``.
    """
    unique = []
    for view in view_crops(size, crop, tta):
        if view not in unique:
            unique.append(view)
    return unique


def report_crops(report: dict) -> list[int]:
    """Each member's crop (0: the full input) from an export report (``<stem>.export.json``); reports written
    before members could differ in crop hold one ``crop`` for all."""
    return report.get("crops") or [report.get("crop", 0)] * len(report["members"])
