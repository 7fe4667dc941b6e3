"""scikit-learn's k-means objective on the files of kmeans-vs-sklearn-data.py (docs/evaluation.md).

    python3 scripts/kmeans-vs-sklearn.py NAME SEEDS DIR     # NAME: blobs or fmnist

Prints one JSON object: scikit-learn's version, K, the final inertia for seeds 0..SEEDS-1 and
their median. The matching dml runs: dml eval --embeddings DIR/NAME_x.npy --labels
DIR/NAME_y.npy --seed S --threads 1 (key kmeans_objective). scikit-learn is needed only here.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans

name, seeds, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
x = np.load(f"{directory}/{name}_x.npy")
y = np.load(f"{directory}/{name}_y.npy")
k = len(np.unique(y))
inertia = [float(KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=s).fit(x).inertia_) for s in range(seeds)]
print(json.dumps({"sklearn": sklearn.__version__, "data": name, "k": k, "inertia": inertia, "median": float(np.median(inertia))}))
