"""The ``evonas`` command.

Subcommands register themselves through small ``_add_*`` functions; each
handler returns an exit code. Errors caused by bad input
(:class:`~evonas.errors.EvonasError`) are printed as one line
``evonas: error: ...`` with exit code 2 and no traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable, Sequence

from evonas.errors import EvonasError

Handler = Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- data


def _data_info(args: argparse.Namespace) -> int:
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


def _data_pack(args: argparse.Namespace) -> int:
    from evonas.data import pack_lmdb

    meta = pack_lmdb(args.source, args.out, root=args.root, overwrite=args.overwrite,
                     progress=not args.quiet)
    print(f"packed {meta['count']} images, {len(meta['classes'])} classes into {args.out}")
    return 0


def _data_verify(args: argparse.Namespace) -> int:
    from evonas.data import verify_lmdb

    count = verify_lmdb(args.path, decode=args.decode)
    print(f"{args.path}: {count} records, all checksums good" + (", all images decode" if args.decode else ""))
    return 0


def _add_data(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect datasets and pack them into LMDB")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{info,pack,verify}")

    info = sub.add_parser("info", help="print image count, classes and image size")
    info.add_argument("dataset", help="a name (cifar10-mini, mnist-test, cifar10, cifar100, imagefolder) or a path")
    info.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_data_info)

    pack = sub.add_parser("pack", help="pack a dataset or image folder into an LMDB")
    pack.add_argument("source", help="a dataset name or path (image folder, .npz)")
    pack.add_argument("out", help="the LMDB to write, e.g. train.lmdb")
    pack.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    pack.add_argument("--overwrite", action="store_true", help="replace an existing evonas LMDB at OUT")
    pack.add_argument("--quiet", action="store_true", help="no progress bar")
    pack.set_defaults(handler=_data_pack)

    verify = sub.add_parser("verify", help="check every record of an LMDB (in a subprocess)")
    verify.add_argument("path")
    verify.add_argument("--decode", action="store_true", help="also decode every image")
    verify.set_defaults(handler=_data_verify)


# --------------------------------------------------------------------------- entry point

_ADDERS = [_add_data]


def build_parser() -> argparse.ArgumentParser:
    """The full ``evonas`` argument parser."""
    from evonas import __version__

    parser = argparse.ArgumentParser(prog="evonas", description="Evolutionary neural architecture search.")
    parser.add_argument("--version", action="version", version=f"evonas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``evonas`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return int(args.handler(args) or 0)
    except EvonasError as exc:
        print(f"evonas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evonas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
