"""``evonas data {info,pack,verify}``: inspect datasets and pack them into LMDB."""
from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect datasets and pack them into LMDB")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{info,pack,verify}")

    info = sub.add_parser("info", help="print image count, classes and image size")
    info.add_argument("dataset", help="a name (cifar10-mini, mnist-test, cifar10, cifar100, imagefolder) or a path")
    info.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")

    pack = sub.add_parser("pack", help="pack a dataset or image folder into an LMDB")
    pack.add_argument("source", help="a dataset name or path (image folder, .npz)")
    pack.add_argument("out", help="the LMDB to write, e.g. train.lmdb")
    pack.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    pack.add_argument("--overwrite", action="store_true", help="replace an existing evonas LMDB at OUT")
    pack.add_argument("--quiet", action="store_true", help="no progress bar")

    verify = sub.add_parser("verify", help="check every record of an LMDB (in a subprocess)")
    verify.add_argument("path")
    verify.add_argument("--decode", action="store_true", help="also decode every image")
    data.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return {"info": _info, "pack": _pack, "verify": _verify}[args.data_command](args)


def _info(args: argparse.Namespace) -> int:
    from evonas.data import dataset_info

    info = dataset_info(args.dataset, root=args.root)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    size = "x".join(map(str, info.image_size)) if info.image_size else "varies"
    counts = ""
    if info.count <= 2_000_000:
        import numpy as np

        from evonas.data import get_dataset, labels_of

        per_class = np.bincount(labels_of(get_dataset(args.dataset, root=args.root)), minlength=len(info.classes))
        counts = f"  per class:  {int(per_class.min())}-{int(per_class.max())}\n"
    print(
        f"dataset:    {info.name}\n"
        f"format:     {info.format}\n"
        f"images:     {info.count}\n"
        f"{counts}"
        f"classes:    {len(info.classes)} ({', '.join(info.classes[:10])}{', ...' if len(info.classes) > 10 else ''})\n"
        f"image size: {size}, {info.channels} channel(s)\n"
        f"family:     {info.family}" + (f"\npath:       {info.path}" if info.path else "")
    )
    return 0


def _pack(args: argparse.Namespace) -> int:
    from evonas.data import pack_lmdb

    meta = pack_lmdb(args.source, args.out, root=args.root, overwrite=args.overwrite, progress=not args.quiet)
    print(f"packed {meta['count']} images, {len(meta['classes'])} classes into {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from evonas.data import verify_lmdb

    count = verify_lmdb(args.path, decode=args.decode)
    print(f"{args.path}: {count} records, all checksums good" + (", all images decode" if args.decode else ""))
    return 0
