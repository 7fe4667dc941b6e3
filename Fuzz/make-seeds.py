#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora: small valid files of every format, one folder per harness.

Run with the system Python (numpy, Pillow; torch and safetensors for the weight formats):

    /usr/bin/python3 Fuzz/make-seeds.py [--dml PATH_TO_DML]

The seeds are committed (Fuzz/seeds/<harness>/), so CI never runs this script. With --dml, a
tiny training run of that binary supplies the checkpoint and config.json seeds; without it they
are left as they are. Every file is small (libFuzzer's inputs are kept under 4 KB where the
format allows) and deterministic, so re-running the script changes nothing.
"""
import argparse
import base64
import gzip
import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEEDS = os.path.join(HERE, "seeds")


def folder(name):
    path = os.path.join(SEEDS, name)
    os.makedirs(path, exist_ok=True)
    return path


def write(harness, name, data):
    with open(os.path.join(folder(harness), name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- .npy

def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_seeds():
    rng = np.random.default_rng(0)
    write("npy", "f32-3x4.npy", npy_bytes(rng.standard_normal((3, 4)).astype(np.float32)))
    write("npy", "f64-2x2.npy", npy_bytes(np.array([[1.0, -2.5], [np.inf, 0.0]])))
    write("npy", "i64-labels.npy", npy_bytes(np.array([0, 1, 1, 2, 7], dtype=np.int64)))
    write("npy", "i32-labels.npy", npy_bytes(np.array([3, 1, 2], dtype=np.int32)))
    write("npy", "u8-2x3.npy", npy_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    write("npy", "f32-big-endian.npy", npy_bytes(np.arange(6, dtype=">f4").reshape(3, 2)))
    write("npy", "f32-fortran.npy", npy_bytes(np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))))
    write("npy", "f32-scalar.npy", npy_bytes(np.float32(1.5).reshape(())))
    write("npy", "f32-empty.npy", npy_bytes(np.zeros((0, 4), dtype=np.float32)))
    write("npy", "f32-v2.npy", npy_bytes(np.ones((2, 2), dtype=np.float32), version=(2, 0)))
    write("npy", "f32-3d.npy", npy_bytes(np.ones((2, 1, 3), dtype=np.float32)))


# ---------------------------------------------------------------- IDX

def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def idx_seeds():
    images = np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5)
    labels = np.array([0, 1, 2, 3], dtype=np.uint8)
    files = {
        "images-4x5x5.idx": idx_bytes(images),
        "labels-4.idx": idx_bytes(labels),
        "images-2x3x2.idx": idx_bytes(np.full((2, 3, 2), 200)),
        "images-1x1x1.idx": idx_bytes(np.zeros((1, 1, 1))),
        "matrix-2x3.idx": idx_bytes(np.ones((2, 3))),
    }
    for name, data in files.items():
        write("idx", name, data)
        # mtime=0: the same bytes on every run.
        write("idx-gzip", name + ".gz", gzip.compress(data, mtime=0))


# ---------------------------------------------------------------- MAT v5

class MATWriter:
    """A Level 5 MAT-file writer (both byte orders), independent of the Swift reader."""

    def __init__(self, big_endian=False):
        self.e = ">" if big_endian else "<"
        self.big = big_endian

    def tag(self, type_, length):
        return struct.pack(self.e + "II", type_, length)

    def element(self, type_, payload, small=True):
        if small and len(payload) <= 4:
            # Small element: byte count in the upper 16 bits, type in the lower, data beside it.
            return struct.pack(self.e + "I", (len(payload) << 16) | type_) + payload.ljust(4, b"\0")
        pad = (8 - len(payload) % 8) % 8
        return self.tag(type_, len(payload)) + payload + b"\0" * pad

    def ints(self, values, fmt="i"):
        return b"".join(struct.pack(self.e + fmt, v) for v in values)

    def matrix(self, name, value):
        kind, data = value
        if kind == "double":
            values, dims = data
            cls, content = 6, self.element(9, b"".join(struct.pack(self.e + "d", v) for v in values))
        elif kind == "uint8":
            values, dims = data
            cls, content = 9, self.element(2, bytes(values))
        elif kind == "int16":
            values, dims = data
            cls, content = 10, self.element(3, self.ints(values, "h"))
        elif kind == "single":
            values, dims = data
            cls, content = 7, self.element(7, b"".join(struct.pack(self.e + "f", v) for v in values))
        elif kind == "char":
            rows = data if isinstance(data, list) else [data]
            width = max(len(r) for r in rows)
            dims = [len(rows), width]
            units = [ord(rows[r][c]) for c in range(width) for r in range(len(rows))]  # column-major
            cls, content = 4, self.element(4, self.ints(units, "H"))
        elif kind == "utf8":
            raw = data.encode("utf-8")
            dims = [1, len(data)]
            cls, content = 4, self.element(16, raw)
        elif kind == "cell":
            dims = [1, len(data)]
            cls, content = 1, b"".join(self.matrix("", v) for v in data)
        elif kind == "struct":
            fields, elements = data
            length = max(len(f) for f in fields) + 1
            names = b"".join(f.encode().ljust(length, b"\0") for f in fields)
            dims = [1, len(elements)]
            content = self.element(5, self.ints([length])) + self.element(1, names)
            for e in elements:
                content += b"".join(self.matrix("", v) for v in e)
            cls = 2
        else:
            raise ValueError(kind)
        body = self.element(6, self.ints([cls, 0], "I"), small=False)
        body += self.element(5, self.ints(dims), small=False)
        body += self.element(1, name.encode())
        body += content
        return self.element(14, body, small=False)

    def file(self, variables, compressed):
        text = b"MATLAB 5.0 MAT-file, written by Fuzz/make-seeds.py"
        header = text.ljust(116, b" ") + b"\0" * 8
        header += struct.pack(self.e + "H", 0x0100) + (b"MI" if self.big else b"IM")
        out = header
        for name, value in variables:
            element = self.matrix(name, value)
            if compressed:
                z = zlib.compress(element, 6)
                out += self.tag(15, len(z)) + z
            else:
                out += element
        return out


def cars_annotations():
    fields = ["relative_im_path", "class", "bbox_x1", "test"]
    elements = [
        [("char", "car_ims/000001.jpg"), ("uint8", ([1], [1, 1])), ("uint8", ([10], [1, 1])), ("uint8", ([0], [1, 1]))],
        [("char", "car_ims/000002.jpg"), ("uint8", ([99], [1, 1])), ("uint8", ([11], [1, 1])), ("uint8", ([1], [1, 1]))],
    ]
    names = ("cell", [("char", "AM General Hummer SUV 2000"), ("utf8", "Ünicode Car")])
    return [("annotations", ("struct", (fields, elements))), ("class_names", names)]


def mat_seeds():
    for big in (False, True):
        for compressed in (False, True):
            w = MATWriter(big)
            suffix = ("be" if big else "le") + ("-z" if compressed else "")
            write("mat", f"cars-{suffix}.mat", w.file(cars_annotations(), compressed))
            write("mat", f"arrays-{suffix}.mat", w.file([
                ("m", ("double", ([1, 2, 3, 4, 5, 6], [2, 3]))),
                ("s", ("single", ([0.5, -1.0], [2, 1]))),
                ("k", ("int16", ([-3, 7, 300], [1, 3]))),
                ("t", ("char", ["ab", "cd"])),
                ("e", ("double", ([], [0, 0]))),
                ("c", ("cell", [("cell", [("uint8", ([5], [1, 1]))])])),
            ], compressed))
    # The SciPy-written fixtures of the test suite: an independent writer.
    source = open(os.path.join(ROOT, "Tests/DMLDataTests/Support/SciPyMATFixtures.swift")).read()
    for name in ("compressed", "uncompressed"):
        block = re.search(r"static let " + name + r" = Data\(base64Encoded:(.*?)\)!", source, re.S).group(1)
        text = "".join(re.findall(r'"([^"]*)"', block))
        write("mat", f"scipy-{name}.mat", base64.b64decode(text))


# ---------------------------------------------------------------- PNG and JPEG

def image_bytes(image, format_, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=format_, **options)
    return buffer.getvalue()


def image_seeds():
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB")
    gray = Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8), "L")
    rgba = Image.fromarray(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8), "RGBA")
    write("png", "rgb.png", image_bytes(rgb, "PNG"))
    write("png", "gray.png", image_bytes(gray, "PNG"))
    write("png", "rgba.png", image_bytes(rgba, "PNG"))
    write("png", "gray-alpha.png", image_bytes(rgba.convert("LA"), "PNG"))
    write("png", "palette.png", image_bytes(rgb.convert("P", palette=Image.ADAPTIVE, colors=8), "PNG"))
    write("png", "bilevel.png", image_bytes(gray.convert("1"), "PNG"))
    write("png", "gray16.png", image_bytes(Image.fromarray(rng.integers(0, 65536, (4, 6), dtype=np.uint16)), "PNG"))
    write("png", "interlaced.png", interlaced_png(rgb))
    write("jpeg", "rgb-444.jpg", image_bytes(rgb, "JPEG", quality=90, subsampling=0))
    write("jpeg", "rgb-420.jpg", image_bytes(rgb, "JPEG", quality=75, subsampling=2))
    write("jpeg", "gray.jpg", image_bytes(gray, "JPEG", quality=90))
    write("jpeg", "progressive.jpg", image_bytes(rgb, "JPEG", quality=80, progressive=True))
    write("jpeg", "cmyk.jpg", image_bytes(rgb.convert("CMYK"), "JPEG", quality=80))
    write("jpeg", "restart.jpg", image_bytes(rgb, "JPEG", quality=80, restart_marker_blocks=1))


def interlaced_png(image):
    """An Adam7-interlaced 8-bit RGB PNG, written by hand (Pillow cannot write interlaced PNGs)."""
    pixels = np.asarray(image)
    h, w, _ = pixels.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        raw += b"".join(b"\0" + row.tobytes() for row in sub)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- tensor archives

def archive_bytes(integers, tensors, scalar_size=4):
    out = b"DMLTENSR" + struct.pack("<II", 1, scalar_size)
    out += struct.pack("<QQ", len(integers), len(tensors))
    for name in sorted(integers):
        out += struct.pack("<I", len(name)) + name.encode() + struct.pack("<q", integers[name])
    for name in sorted(tensors):
        array = np.asarray(tensors[name], dtype=np.float32 if scalar_size == 4 else np.float64)
        rows, columns = array.shape
        out += struct.pack("<I", len(name)) + name.encode() + struct.pack("<QQ", rows, columns)
        out += array.astype("<f4" if scalar_size == 4 else "<f8").tobytes()
    return out + struct.pack("<I", zlib.crc32(out))


def archive_seeds():
    tensors = {"model.0.weight": np.arange(6).reshape(2, 3) / 7, "model.0.bias": np.ones((1, 3))}
    write("tensor-archive", "f32.archive", archive_bytes({"optimizer.step": 12}, tensors))
    write("tensor-archive", "f64.archive", archive_bytes({"optimizer.step": 3}, tensors, scalar_size=8))
    write("tensor-archive", "empty.archive", archive_bytes({}, {}))
    write("tensor-archive", "empty-tensor.archive", archive_bytes({}, {"x": np.zeros((0, 5))}))


# ---------------------------------------------------------------- configurations and checkpoints

def config_seeds():
    write("config", "overlay-loss.json", json.dumps({"loss": {"kind": "triplet", "mining": "hnpm", "synthesis": "symm"}}).encode())
    write("config", "overlay-run.json", json.dumps({"iterations": 20, "seed": 3, "optimizer": {"name": "sgd", "learningRate": 0.01},
                                                    "model": {"architecture": "mlp", "hiddenSizes": [8, 4], "embeddingSize": 2}}).encode())
    write("config", "overlay-data.json", json.dumps({"dataset": {"name": "npy", "root": "/tmp/x", "trainClasses": "0-4"}}).encode())
    write("config", "empty.json", b"{}")
    for name in sorted(os.listdir(os.path.join(ROOT, "experiments"))):
        if name.endswith(".json"):
            shutil.copy(os.path.join(ROOT, "experiments", name), os.path.join(folder("config"), "grid-" + name))


def run_seeds(dml):
    """config.json and checkpoints of a tiny MLP run of `dml` on random .npy features."""
    # A fixed folder: the paths end up in config.json and the checkpoints' metadata.
    tmp = "/tmp/dml-make-seeds"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if True:
        rng = np.random.default_rng(2)
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        np.save(os.path.join(data, "features.npy"), rng.standard_normal((40, 3)).astype(np.float32))
        np.save(os.path.join(data, "labels.npy"), np.repeat(np.arange(8), 5).astype(np.int64))
        run = os.path.join(tmp, "run")
        config = os.path.join(tmp, "model.json")
        with open(config, "w") as f:
            json.dump({"model": {"architecture": "mlp", "hiddenSizes": [4], "embeddingSize": 2}}, f)
        subprocess.run([dml, "train", "--config", config, "--dataset", "npy", "--data-root", data, "--train-classes", "0-3",
                        "--classes-per-batch", "2", "--samples-per-class", "2", "--iterations", "4",
                        "--eval-every", "2", "--quiet", "--no-report", "-o", run], check=True,
                       stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(run, "config.json"), os.path.join(folder("config"), "config.json"))
        for name in sorted(os.listdir(os.path.join(run, "checkpoints"))):
            if name.endswith(".ckpt"):
                shutil.copy(os.path.join(run, "checkpoints", name), os.path.join(folder("checkpoint"), name))


# ---------------------------------------------------------------- weight files

def weight_seeds():
    """The weight readers' committed fixtures (written by torch and safetensors through
    scripts/fixtures/make_weight_fixtures.py), sorted by format."""
    fixtures = os.path.join(ROOT, "Tests/DMLWeightsTests/Fixtures")
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        with open(path, "rb") as f:
            head = f.read(4)
        if name.endswith(".safetensors"):
            harness = "safetensors"
        elif head.startswith(b"PK"):
            harness = "pytorch-zip"
        elif name.endswith(".pth"):
            harness = "pytorch-legacy"
        else:
            continue
        shutil.copy(path, os.path.join(folder(harness), name))
    from safetensors.numpy import save
    write("safetensors", "small.safetensors", save({"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                                                    "b": np.array([1, -2], dtype=np.int64)},
                                                   metadata={"format": "pt"}))
    write("safetensors", "half.safetensors", save({"h": np.array([0.5, -1.0, 2.0], dtype=np.float16),
                                                   "s": np.zeros((), dtype=np.float64)}))
    write("safetensors", "empty.safetensors", save({}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dml", help="a dml binary, for the checkpoint and config.json seeds")
    args = parser.parse_args()
    npy_seeds()
    idx_seeds()
    mat_seeds()
    image_seeds()
    archive_seeds()
    config_seeds()
    weight_seeds()
    if args.dml:
        run_seeds(args.dml)


if __name__ == "__main__":
    main()
