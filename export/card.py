"""Model cards: ``<stem>.md`` beside each exported file, and the index of the shipped models (``models/README.md``).

Every figure in a card is read from the export report (``<stem>.export.json``,
written by :func:`fer_toolkit.export.onnx_export.export_run`) and the member runs'
``config.json`` / ``train_summary.json``; the card names them. Exporting one
model never rewrites another model's card.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fer_toolkit.export.metadata import report_path
from fer_toolkit.export.photos import photos_section
from fer_toolkit.training.evaluate import format_report
from fer_toolkit.training.views import member_views, report_crops, zoom_margin

TTA_TEXT = {"none": "centre crop only", "flip": "centre crop and its mirror image",
            "tencrop": "ten crops (four corners and the centre, each also mirrored)",
            "multiscale": "the centre crop at three scales (as is, zoomed in and zoomed out by {m} px a side, resized "
                          "back bilinearly), each also mirrored"}


def card_path(onnx_path: Path) -> Path:
    """``<stem>.md`` beside ``onnx_path``."""
    return Path(onnx_path).with_name(Path(onnx_path).name.removesuffix(".onnx") + ".md")


def _views_text(report: dict, size: tuple[int, int]) -> str:
    """The test-time views in words, per member crop (:func:`fer_toolkit.training.views.member_views`)."""
    crops, names = report_crops(report), [Path(m).name for m in report["members"]]
    parts = []
    for c in dict.fromkeys(crops):
        who = "" if len(set(crops)) == 1 else " for " + ", ".join(f"`{n}`" for n, k in zip(names, crops) if k == c)
        n = len(member_views(size, c, report["tta"]))
        mode = report["tta"] if n > 2 else {1: "none", 2: "flip"}[n]  # ten crops of the full input are two views
        text = TTA_TEXT[mode].format(m=zoom_margin(c or min(size)))
        parts.append(f"{text}{f' of {c}x{c} crops' if c else ''}{who}")
    return "; ".join(parts)


def _recipe_known(cfg: dict) -> bool:
    """False for a network recovered from an export without its training options (``recovered_from["recipe"]``
    None, :func:`fer_toolkit.export.recover.recover_run`): its ``train`` entries are defaults, not its recipe."""
    rec = cfg.get("recovered_from") or {}
    return not rec or (rec.get("member") is None and rec.get("recipe", "") is not None)


def _parameters(run: Path) -> int:
    """The parameter count of ``run/best.keras``, for a run without a training summary (a recovered network)."""
    import keras

    return int(keras.saving.load_model(run / "best.keras", compile=False).count_params())


def _member_rows(report: dict) -> str:
    rows = ["| member run | widths | parameters | input | epochs | s/epoch | best epoch (PublicTest top-1) | trained on |",
            "| --- | --- | ---: | --- | ---: | ---: | --- | --- |"]
    for run in map(Path, report["members"]):
        cfg = json.loads((run / "config.json").read_text())
        summ = json.loads((run / "train_summary.json").read_text()) if (run / "train_summary.json").exists() else {}
        t, net = cfg["train"], cfg.get("network", {})
        kd = f", distilled from `{Path(t['soft_labels']).name}`" if t.get("soft_labels") else ""
        best = (f"{summ['best_epoch']} ({summ['best_val_accuracy']:.4f})" if "best_epoch" in summ else "n/a")
        rows.append(
            f"| `{run.name}` | {','.join(map(str, t['widths']))} | {summ.get('parameters') or _parameters(run):,} | "
            f"{'x'.join(map(str, net.get('input_shape', t['input_size'])[:2]))} | {summ.get('epochs_run', t['epochs'] if _recipe_known(cfg) else 'n/a')} | "
            f"{summ.get('seconds_per_epoch', 'n/a')} | {best} | {cfg.get('hardware', 'n/a')}{kd} |")
    return "\n".join(rows)


def _which(rec: dict) -> str:
    """Which version of a file a network was recovered from: `` (model version V, sha256 0123abcd...)``, or ''."""
    parts = ([f"model version {rec['model_version']}"] if rec.get("model_version") else []) + (
        [f"sha256 `{rec['sha256'][:12]}`"] if rec.get("sha256") else [])
    return f" ({', '.join(parts)})" if parts else ""


def _recipe(report: dict) -> str:
    lines = []
    for run in map(Path, report["members"]):
        cfg = json.loads((run / "config.json").read_text())
        t, rec = cfg["train"], cfg.get("recovered_from") or {}
        if rec.get("member") is not None:  # recovered from an ensemble: its recipe is not in the file
            lines.append(f"- `{run.name}`: member `{rec['member']}` of `{rec['file']}`{_which(rec)}, recovered "
                         "exactly (`fer-toolkit export --from-onnx ... --member`); its training recipe is in the card "
                         "shipped with that file")
            continue
        if not _recipe_known(cfg):
            lines.append(f"- `{run.name}`: recovered exactly from `{rec['file']}`{_which(rec)} (`fer-toolkit export "
                         "--from-onnx`); that file does not carry its training recipe (the card or README shipped beside it does)")
            continue
        extra = (f"; knowledge distillation (alpha {t['kd_alpha']}, T {t['kd_temperature']}) from `{t['soft_labels']}`"
              if t.get("soft_labels") else "")
        warm = f", {t['warmup_steps']} warm-up steps" if t["schedule"] == "cosine" else ""
        if t.get("init"):
            extra += f"; started from the network `{t['init']}` (`fer-toolkit train --init`)"
        if t.get("swa_start"):
            extra += (f"; stochastic weight averaging of the ends of epochs {t['swa_start']}-{t['epochs']}, BatchNorm "
                   "statistics recomputed (Izmailov et al. 2018), the best average on PublicTest kept")
        lines.append(
            f"- `{run.name}`: {t['epochs']} epochs of {t['optimizer']} (peak LR {t['lr']}, weight decay "
            f"{t['weight_decay']}, {t['schedule']} schedule{warm}), batch {t['batch_size']}, "
            f"{cfg.get('precision', t.get('precision', 'float32'))}; augmentation: " + (
                f"flip, rotation {t.get('rotation', 0.05)} turn, shift {t.get('shift', 0.1)}, zoom {t.get('zoom', 0.1)}, "
                f"random erasing p {t.get('erasing', 0.0)}, random {t.get('crop') or 'full'}-px crops"
                if t["augment"] else "none") + f"; dropout {t['block_dropout']}/{t['head_dropout']}; "
            f"class weights `{t['class_weight']}`; label smoothing {t.get('label_smoothing', 0.0)}; seed {t['seed']}{extra}")
    return "\n".join(lines)


def write_card(onnx_path: Path, note: str = "") -> Path:
    """Render ``<stem>.md`` for an exported file from its export report.

    Raises:
        FileNotFoundError: no export report beside ``onnx_path`` (run `make export`).
    """
    onnx_path = Path(onnx_path)
    rp = report_path(onnx_path)
    if not rp.exists():
        raise FileNotFoundError(f"{rp} not found: run `make export` first")
    r = json.loads(rp.read_text())
    cfg0 = json.loads((Path(r["members"][0]) / "config.json").read_text())
    labels, d = cfg0["data_config"]["labels"], cfg0["data_config"]
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    test = r.get("test")
    results = "Not measured on a test split." if not test else f"""**Top-1 accuracy {test['top1_accuracy']:.2%}, macro-F1 {test['macro_f1']:.3f}, ECE {test['ece']:.3f}**
({test['ece_bins']} bins; majority-class baseline {test['majority_baseline']:.2%}), on {test['n']} test images.
PrivateTest evaluations recorded in this folder so far: {r.get('privatetest_evaluations', 'n/a')}
(`privatetest_evaluations.json` lists each: file, sha256, time, top-1, purpose).

{format_report(test, labels)}

![reliability diagram]({test['plots']['reliability']})
![confusion matrix]({test['plots']['confusion']})"""
    q = r.get("int8")
    int8 = "" if not q else f"""
Static INT8 twin `{Path(q['path']).name}` (QDQ, per-channel 7-bit weights, {q['calibration_images']} calibration
images): top-1 {q['top1_accuracy']:.2%}, macro-F1 {q['macro_f1']:.3f}, ECE {q['ece']:.3f}, top-1 agreement
with fp32 {q['top1_agreement_with_fp32']:.2%}, {q['size_bytes'] / 1024:.0f} KiB; images/s at batch 256
(side by side, this export): fp32 {q['images_per_second_batch256']['fp32']:,.0f}, INT8 {q['images_per_second_batch256']['int8']:,.0f}.
"""
    note_block = f"\n{note}\n" if note else ""  # a paragraph of its own, not part of the recipe's list
    text = f"""# Model card: `{onnx_path.name}`

{len(r['members'])} VGG-style CNN{'s' if len(r['members']) > 1 else ''} (blocks of two 3x3 conv + BatchNorm + ReLU, global average
pooling, a dense head) that classify a face crop into one of {len(labels)} expressions: {', '.join(labels)}.
Test-time augmentation: {_views_text(r, tuple(d['input_size']))}; the probabilities are
averaged over each member's views{', then over members' if len(r['members']) > 1 else ''}, then temperature-scaled (T = {r['temperature']:.4f},
fitted on PublicTest), all inside the one ONNX graph (opset {r['opset']}, BatchNorm folded, tf2onnx).

| | |
| --- | --- |
| file | `{onnx_path.name}`, {onnx_path.stat().st_size / 1024:.0f} KiB, sha256 `{sha}` |
| input | `pixels`: float32 `(batch, {', '.join(map(str, d['input_size']))}, {d['channels']})`, NHWC, pixel values 0..255 |
| output | float32 `(batch, {len(labels)})` calibrated probabilities in the order of the `labels` metadata |
| metadata | `labels`, `input_size`, `channels`, `members`, `tta`, `crop`, `temperature`, `val_top1_accuracy`, `test_top1_accuracy`, `test_ece`, `model_version`, `exported_at` |

## Data and protocol

FER2013 (Goodfellow et al., 2013): fit on Training, select each member's checkpoint and fit the temperature on
PublicTest ({r['val']['n']} images; top-1 {r['val']['top1_accuracy']:.2%}, NLL {r['val']['nll']['before']:.3f} -> {r['val']['nll']['after']:.3f}
nats with temperature scaling), report PrivateTest. Parity: Keras and onnxruntime agree on
{r['parity']['top1_agreement']:.2%} of {r['parity']['n']} PublicTest top-1 labels, max |dp| {r['parity']['max_abs_diff']:.1e}.

{_member_rows(r)}

Recipe:
{_recipe(r)}
{note_block}
## Results

{results}
{int8}{photos_section(r)}
## Intended use and limits

- For research, education and demos of facial expression recognition. Not for decisions about people
  (hiring, policing, health, emotion "detection" of individuals): a face's expression is not a person's
  feeling, and the labels are one annotator's reading of a posed or candid photo.
- FER2013 faces are 48x48 grayscale crops found by Google image search, roughly aligned; photos must be
  face-detected and cropped first (the demo and the worker do this). Accuracy on other populations, lighting,
  poses, ages and cameras is unknown; the dataset's demographic balance was never documented.
- Some FER2013 images are mislabelled or not faces; disgust has 436 training images, so its recall is low.
- Data terms: FER2013 was released for the ICML 2013 challenge for research and non-commercial use; cite
  Goodfellow et al., "Challenges in Representation Learning: A report on three machine learning contests".
"""
    card = card_path(onnx_path)
    card.write_text(text)
    return card
