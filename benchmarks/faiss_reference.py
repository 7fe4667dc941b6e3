#!/usr/bin/env python3
"""faiss reference for `dml bench eval --faiss`: exact leave-one-out k-nearest-neighbour search
with faiss.IndexFlatL2 (squared Euclidean, exhaustive, BLAS for large query batches), the usual
choice of Python users, on the same embeddings dml evaluates.

Every row is a query against all rows; faiss finds k = K + 1 neighbours and the query itself is
dropped, so each query keeps K neighbours among the other rows. Timed: index construction (add)
and search. Recall@1 is printed as a check that both tools searched the same data.

Usage: python3 benchmarks/faiss_reference.py EMBEDDINGS.npy LABELS.npy [--k 8] [--threads 1] [--repeats 1]
(Debian: apt-get install python3-faiss; run with /usr/bin/python3.)
"""
import argparse
import os
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("embeddings")
    parser.add_argument("labels")
    parser.add_argument("--k", type=int, default=8, help="neighbours per query after removing the query itself")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    # faiss's search runs OpenMP threads and, for large query batches, OpenBLAS SGEMM, which
    # starts its own threads (one per core) unless told otherwise before the library loads:
    # both get the same budget, as dml's pool does.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(args.threads)
    x = np.ascontiguousarray(np.load(args.embeddings).astype(np.float32))
    labels = np.load(args.labels)
    n, d = x.shape
    for _ in range(args.repeats):
        start = time.perf_counter()
        cpu_start = time.process_time()
        index = faiss.IndexFlatL2(d)
        index.add(x)
        _, neighbours = index.search(x, args.k + 1)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        # Drop the query itself (with exact duplicates it need not come first; drop it by index).
        rows = np.arange(n)[:, None]
        keep = neighbours != rows
        first = np.array([nb[kp][0] for nb, kp in zip(neighbours, keep)])
        recall1 = float(np.mean(labels[first] == labels))
        print(f"faiss {faiss.__version__} IndexFlatL2, {faiss.omp_get_max_threads()} thread(s): N {n}, d {d}, "
              f"k {args.k + 1}: {seconds:.2f} s ({cpu_seconds:.2f} CPU s, all threads), Recall@1 {recall1:.4f}", flush=True)


if __name__ == "__main__":
    main()
