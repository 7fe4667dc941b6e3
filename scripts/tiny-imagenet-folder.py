#!/usr/bin/env python3
"""Arrange the shared Tiny ImageNet classes 0-99 as a `--dataset folder` tree (hard links).

Usage: tiny-imagenet-folder.py UNPACKED_DIR OUT_DIR [TRAIN_PER_CLASS]

UNPACKED_DIR is `tar --zstd -xf tiny-imagenet-200-classes-0-99.tar.zst` unpacked (it holds
wnids.txt, train/, val/). The classes sorted by WordNet id: the first 50 get the first
TRAIN_PER_CLASS (default 100) training images by sorted file name, the last 50 get their
50 validation images. Then `--train-classes 0-49` trains on the former and tests on the latter.
"""
import os
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    root, out = sys.argv[1], sys.argv[2]
    per_class = int(sys.argv[3]) if len(sys.argv) == 4 else 100
    wnids = sorted(open(os.path.join(root, "wnids.txt")).read().split())
    if len(wnids) != 100:
        sys.exit(f"{root}/wnids.txt: expected 100 WordNet ids, found {len(wnids)}")
    train, test = wnids[:50], wnids[50:]
    for wnid in train:
        source = os.path.join(root, "train", wnid)
        files = sorted(f for f in os.listdir(source) if f.endswith(".JPEG"))[:per_class]
        target = os.path.join(out, wnid)
        os.makedirs(target, exist_ok=True)
        for name in files:
            os.link(os.path.join(source, name), os.path.join(target, name))
    validation = {}
    with open(os.path.join(root, "val", "val_annotations.txt")) as annotations:
        for line in annotations:
            fields = line.split("\t")
            validation.setdefault(fields[1], []).append(fields[0])
    for wnid in test:
        target = os.path.join(out, wnid)
        os.makedirs(target, exist_ok=True)
        for name in sorted(validation[wnid]):
            os.link(os.path.join(root, "val", "images", name), os.path.join(target, name))
    print(f"{out}: {len(train)} training classes x {per_class}, {len(test)} test classes x 50")


if __name__ == "__main__":
    main()
