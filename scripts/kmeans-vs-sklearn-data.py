"""Writes the two k-means comparison sets of docs/evaluation.md into DIR (NumPy only).

    python3 scripts/kmeans-vs-sklearn-data.py DIR

fmnist: the Fashion-MNIST test images / 255 (10,000 × 784, float32; Debian's
dataset-fashion-mnist). blobs: 100 classes of 50 points in 32-d, centres N(0, 1), noise 0.35.
"""
import gzip
import sys

import numpy as np

out = sys.argv[1]
root = "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{root}/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
with gzip.open(f"{root}/t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
np.save(f"{out}/fmnist_x.npy", x)
np.save(f"{out}/fmnist_y.npy", y)
rng = np.random.default_rng(7)
centres = rng.normal(size=(100, 32))
labels = np.repeat(np.arange(100), 50)
points = (centres[labels] + 0.35 * rng.normal(size=(5000, 32))).astype(np.float32)
np.save(f"{out}/blobs_x.npy", points)
np.save(f"{out}/blobs_y.npy", labels.astype(np.int64))
