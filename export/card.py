"""Write the model card (``models/README.md``) from the files a run and its export wrote.

Every figure in the card is read from a JSON file written by a command
(``training train``, ``training evaluate``, ``export``), and the card names them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from training.evaluate import format_report
from training.train import hardware

ARTIFACTS = {  # run file -> name beside the model
    "metrics_test.json": "metrics_test.json",
    "confusion_matrix_test.png": "confusion_matrix_test.png",
    "curves.png": "training_curves.png",
    "config.json": "training_config.json",
    "train_summary.json": "train_summary.json",
    "export_parity.json": "export_parity.json",
    "history.csv": "history.csv",
}


def write_card(run: Path, onnx_path: Path, note: str = "") -> Path:
    """Copy the run's metrics and plots next to ``onnx_path`` and render ``README.md`` there.

    ``note`` (optional) is printed under the recipe, e.g. how an interrupted run was resumed.

    Raises:
        FileNotFoundError: the run was not evaluated on test (``make evaluate``).
    """
    run, onnx_path = Path(run), Path(onnx_path)
    dest = onnx_path.parent
    if not (run / "metrics_test.json").exists():
        raise FileNotFoundError(f"{run / 'metrics_test.json'} not found: run `make evaluate` before the card")
    for src, name in ARTIFACTS.items():
        if (run / src).exists():
            shutil.copyfile(run / src, dest / name)
    m = json.loads((run / "metrics_test.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    summ = json.loads((run / "train_summary.json").read_text()) if (run / "train_summary.json").exists() else {}
    par = json.loads((run / "export_parity.json").read_text())
    t, labels = cfg["train"], cfg["data_config"]["labels"]
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    size_kb = onnx_path.stat().st_size / 1024
    epochs = summ.get("epochs_run", t["epochs"])
    minutes = summ.get("train_seconds", 0) / 60
    text = f"""# Model card: `{onnx_path.name}`

A VGG-style CNN (four blocks of two 3x3 conv + BatchNorm + ReLU, widths {', '.join(map(str, t['widths']))};
global average pooling; dense {t['head_units']}) that classifies a face crop into one of {len(labels)}
expressions: {', '.join(labels)}. {summ.get('parameters', 'n/a'):,} parameters. Exported to ONNX
(opset {par['opset']}, BatchNorm folded into the convolutions) with tf2onnx.

| | |
| --- | --- |
| file | `{onnx_path.name}`, {size_kb:.0f} KiB, sha256 `{sha}` |
| input | `pixels`: float32 `(batch, {', '.join(map(str, cfg['data_config']['input_size']))}, {cfg['data_config']['channels']})`, NHWC, {'grayscale' if cfg['data_config']['channels'] == 1 else 'RGB'} pixel values 0..255 (the network rescales) |
| output | `probs`: float32 `(batch, {len(labels)})` softmax probabilities in the order of the `labels` metadata |
| preprocessing | `fercore.load_image`: decode, EXIF orientation, grayscale, bilinear resize to 48x48 |
| metadata | `labels`, `input_size`, `channels`, `training_data`, `test_top1_accuracy`, `model_version`, `exported_at` (read them with `onnxruntime` `get_modelmeta()`) |

## Data and protocol

FER2013 (Goodfellow et al., 2013), the Kaggle image-folder copy described in `../shared/data/README.md`:
Training ({cfg['counts'].get('train')} images) to fit, PublicTest ({cfg['counts'].get('val')}) to select the
checkpoint (best val top-1), PrivateTest ({m['n']}) reported once. No test-time augmentation.
The 314 PrivateTest images that also occur in Training/PublicTest (a known FER2013 artefact, counted in the
data README) are kept, so the
figure is comparable with published FER2013 numbers.

Recipe: {epochs} epochs of {t['optimizer']} (peak LR {t['lr']}, weight decay {t['weight_decay']},
{t['schedule']} schedule with {t['warmup_steps']} warm-up steps), batch {t['batch_size']}, class weights
`{t['class_weight']}`, {'augmentation (horizontal flip, rotation 0.05, shift 0.1, zoom 0.1) in the tf.data pipeline' if t['augment'] else 'no augmentation'},
dropout {t['block_dropout']} per block and {t['head_dropout']} in the head, seed {t['seed']}.
Best epoch: {summ.get('best_epoch', 'n/a')} (PublicTest top-1 {summ.get('best_val_accuracy', float('nan')):.4f}).
Training took {minutes:.0f} minutes ({summ.get('seconds_per_epoch', 'n/a')} s/epoch) on {cfg.get('hardware') or hardware()},
TensorFlow {cfg['tensorflow']}, Keras {cfg['keras']} (wall-clock time, including any other load on the machine).
{note}

## Results on PrivateTest

**Top-1 accuracy {m['top1_accuracy']:.2%}, macro-F1 {m['macro_f1']:.3f}** (majority-class baseline
{m['majority_baseline']:.2%}). Anchors on the same split: the seed README 50%, deepface's model 57.4%,
mini-Xception ~66% (figures quoted by the project's issue tracker, not re-measured here).

{format_report(m, labels)}
{_int8_rows(par, onnx_path, m)}

![confusion matrix](confusion_matrix_test.png)

Training curves (train accuracy is measured on augmented batches):

![training curves](training_curves.png)

Export parity: on {par['n']} real {par['parity_split']} images, Keras and onnxruntime agree on top-1 for
{par['top1_agreement']:.2%} of them, max absolute probability difference {par['max_abs_diff']:.1e}.

Reproduce: `make install data train export` (trains with the recipe above, writes `runs/fer2013/` and this
folder). The figures come from `metrics_test.json`, `train_summary.json` and `export_parity.json` here;
`make test` re-checks the PrivateTest top-1 of the shipped file against this card.

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
    card = dest / "README.md"
    card.write_text(text)
    return card


def _int8_rows(par: dict, onnx_path: Path, m: dict) -> str:
    q = par.get("int8")
    if not q:
        return ""
    q_path = onnx_path.with_suffix(".int8.onnx")
    ips = q.get("images_per_second_batch256", {})
    speed = {k: f"{v:,.0f} ({v / ips['fp32']:.2f}x)" for k, v in ips.items()} if ips else {}
    return f"""
Both shipped files, same split. Speed: images/s at batch 256 on {hardware()}, measured side by side by
`make export` (onnxruntime CPU, default threads); `make bench` (`BENCHMARKS.md`) has latency and more.

| file | weights | size | PrivateTest top-1 | macro-F1 | top-1 agreement with fp32 | images/s, batch 256 |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
| `{onnx_path.name}` | fp32 | {onnx_path.stat().st_size / 1024:.0f} KiB | {m['top1_accuracy']:.2%} | {m['macro_f1']:.3f} | 100% | {speed.get('fp32', 'n/a')} |
| `{q_path.name}` | static INT8 (QDQ, per-channel, {q['calibration_images']} calibration images) | {q['size_bytes'] / 1024:.0f} KiB | {q['top1_accuracy']:.2%} | {q['macro_f1']:.3f} | {q['top1_agreement_with_fp32']:.2%} | {speed.get('int8', 'n/a')} |
"""
