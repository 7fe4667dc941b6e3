#!/usr/bin/env python3
"""PyTorch reference for `TrainingBenchmark` (DMLNetworks): the same default Fashion-MNIST CNN
(ModelPresets.fashionMNIST), the same step (forward + backward of 0.5*||y - t||^2 + Adam update),
batch 128, random 1x28x28 inputs, on the CPU.

Usage: python3 benchmarks/torch_reference.py [--threads 1] [--batch 128] [--iterations 20] [--warmup 3]
(Debian: apt-get install python3-torch; run with /usr/bin/python3.)
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class L2Normalize(nn.Module):
    def forward(self, x):
        return F.normalize(x, dim=1)


def fashion_mnist_model(embedding=512, widths=(32, 64, 128), in_channels=1):
    layers = []
    c = in_channels
    for i, w in enumerate(widths):
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, embedding), L2Normalize()]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--embedding", type=int, default=512)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = fashion_mnist_model(args.embedding)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    x = torch.randn(args.batch, 1, 28, 28)
    target = torch.randn(args.batch, args.embedding)
    parameters = sum(p.numel() for p in model.parameters())

    total = 0.0
    cpu_total = 0.0
    process_total = 0.0
    for iteration in range(args.warmup + args.iterations):
        start = time.perf_counter()
        cpu_start = time.thread_time()
        process_start = time.process_time()
        optimizer.zero_grad(set_to_none=False)
        y = model(x)
        loss = 0.5 * ((y - target) ** 2).sum()
        loss.backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        cpu_elapsed = time.thread_time() - cpu_start
        process_elapsed = time.process_time() - process_start
        if iteration >= args.warmup:
            total += elapsed
            cpu_total += cpu_elapsed
            process_total += process_elapsed
    per_iteration = total / args.iterations
    cpu_per_iteration = cpu_total / args.iterations
    process_per_iteration = process_total / args.iterations
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"batch {args.batch}: {args.batch / per_iteration:.0f} images/s "
          f"({args.batch / cpu_per_iteration:.0f} per CPU second of the calling thread, "
          f"{args.batch / process_per_iteration:.0f} per CPU second of all threads), "
          f"{per_iteration * 1000:.1f} ms/iteration, {parameters} parameters")


if __name__ == "__main__":
    main()
