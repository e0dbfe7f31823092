"""Images per second reading the same CIFAR images from three stores.

Stores: the in-memory npz (``cifar10-mini``), an image folder of PNG files,
and an evonas LMDB, each read through a DataLoader with the same number of
workers. Every image is decoded to a ``uint8 (3, 32, 32)`` tensor; with
``--augment`` the CIFAR training pipeline (crop, flip, normalise, Cutout)
runs too. Prints images/s per store and the ratios against the npz.

    python benchmarks/bench_data.py [--workers 2] [--epochs 3] [--augment]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from evonas.data import default_transforms, get_dataset, pack_lmdb
from evonas.data.datasets import encode_png


def write_png_folder(dataset, root: Path) -> None:
    for cls in dataset.classes:
        (root / cls).mkdir(parents=True)
    for i in range(len(dataset)):
        image, label = dataset[i]
        (root / dataset.classes[label] / f"{i:05d}.png").write_bytes(encode_png(image))


def images_per_second(dataset, *, workers: int, batch: int, epochs: int) -> float:
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
    for _ in loader:  # warm-up epoch: worker start, page cache
        pass
    start = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for images, _ in loader:
            seen += len(images)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--augment", action="store_true", help="apply the CIFAR training transform")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the workers do the decoding; keep the main process from competing

    transform = default_transforms("cifar10")[0] if args.augment else None
    npz = get_dataset("cifar10-mini")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "png"
        write_png_folder(npz, folder)
        lmdb_path = Path(tmp) / "cifar.lmdb"
        pack_lmdb(npz, lmdb_path, progress=False)
        stores = {
            "npz (in memory)": get_dataset("cifar10-mini", transform=transform),
            "PNG image folder": get_dataset(folder, transform=transform),
            "LMDB (PNG records)": get_dataset(lmdb_path, transform=transform),
        }
        rates = {name: images_per_second(ds, workers=args.workers, batch=args.batch, epochs=args.epochs)
                 for name, ds in stores.items()}
    base = rates["npz (in memory)"]
    print(f"{len(npz)} CIFAR images, DataLoader workers={args.workers}, batch={args.batch}, "
          f"augment={args.augment}, {args.epochs} timed epochs")
    print(f"{'store':<22}{'images/s':>12}{'vs npz':>10}")
    for name, rate in rates.items():
        print(f"{name:<22}{rate:>12.0f}{rate / base:>10.2f}")
    print(f"LMDB / image folder: {rates['LMDB (PNG records)'] / rates['PNG image folder']:.2f}x")


if __name__ == "__main__":
    main()
