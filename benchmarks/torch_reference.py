#!/usr/bin/env python3
"""PyTorch reference for `TrainingBenchmark` (DMLNetworks): the same default Fashion-MNIST CNN
(ModelPresets.fashionMNIST), the same step (forward + backward of 0.5*||y - t||^2 + Adam update),
batch 128, random 1x28x28 inputs, on the CPU; with --backbone, an ImageNet backbone with the
embedding head on random 3xSxS inputs (`dml bench train --backbone NAME --torch`).

Usage: python3 benchmarks/torch_reference.py [--threads 1] [--batch 128] [--iterations 20] [--warmup 3]
           [--backbone resnet18 --image-size 224 [--inference]]
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


def backbone_model(name, image_size, embedding):
    """The ImageNet backbone `name` (torchvision's ResNet-18/50 and GoogLeNet without aux heads,
    the reference EfficientNet-Lite0 without drop connect), pooled features, then the 512-d
    embedding layer and L2 normalization: the network of `dml train --backbone NAME`."""
    import torchvision
    if name == "efficientnet-lite0":
        from efficientnet_lite_pytorch import EfficientNet
        net = EfficientNet.from_name("efficientnet-lite0", image_size=image_size, drop_connect_rate=0.0)
        class Lite(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net
            def forward(self, x):
                return torch.flatten(self.net._avg_pooling(self.net.extract_features(x)), 1)
        backbone, width = Lite(), 1280
    elif name == "googlenet":
        backbone = torchvision.models.googlenet(aux_logits=False, init_weights=False)
        backbone.fc, backbone.dropout, width = nn.Identity(), nn.Identity(), 1024
    else:
        backbone = getattr(torchvision.models, name)()
        width = backbone.fc.in_features
        backbone.fc = nn.Identity()
    return nn.Sequential(backbone, nn.Linear(width, embedding), L2Normalize())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=None, help="efficientnet-lite0, resnet18, resnet50 or googlenet (default: the Fashion-MNIST CNN)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--embedding", type=int, default=512)
    parser.add_argument("--inference", action="store_true",
                        help="with --backbone: the backbone's forward pass in eval mode under no_grad (pooled features), as dml features")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.backbone:
        model = backbone_model(args.backbone, args.image_size, args.embedding)
        x = torch.randn(args.batch, 3, args.image_size, args.image_size)
    else:
        model = fashion_mnist_model(args.embedding)
        x = torch.randn(args.batch, 1, 28, 28)
    if args.inference:
        if not args.backbone:
            parser.error("--inference needs --backbone")
        inference(model[0], x, args)
        return
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
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


def inference(backbone, x, args):
    """Times the backbone's forward pass in evaluation mode without autograd."""
    backbone.eval()
    total = cpu_total = process_total = 0.0
    with torch.no_grad():
        for iteration in range(args.warmup + args.iterations):
            start, cpu_start, process_start = time.perf_counter(), time.thread_time(), time.process_time()
            backbone(x)
            if iteration >= args.warmup:
                total += time.perf_counter() - start
                cpu_total += time.thread_time() - cpu_start
                process_total += time.process_time() - process_start
    n = args.iterations
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"{args.backbone} inference at {args.image_size} px, batch {args.batch}: {args.batch * n / total:.0f} images/s "
          f"({args.batch * n / cpu_total:.0f} per CPU second of the calling thread, "
          f"{args.batch * n / process_total:.0f} per CPU second of all threads), {total / n * 1000:.1f} ms/batch "
          f"({cpu_total / n * 1000:.1f} CPU ms of the calling thread)")


if __name__ == "__main__":
    main()
