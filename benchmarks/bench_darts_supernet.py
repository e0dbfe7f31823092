"""Discrete (single-path) vs continuous (mixed-op) steps on the DARTS search network, and how fast evonas'
continuous DARTS step is against the op-by-op baseline and, when given, the released DARTS code.

Claims measured:

* Running a sampled genotype alone through the supernet (discrete mode) is
  many times faster and lighter than the DARTS mixture, which computes
  every op on every edge.
* evonas' continuous step (``continuous``: channels-last on the CPU, the
  fused mixture of :mod:`evonas.spaces.darts.mixture`, strided dilated
  convs computed on the subsampled input) against the op-by-op mixture in
  contiguous memory with oneDNN's dilated strided kernels
  (``continuous-plain``, what evonas did before). Goal: half the
  reference's time or less, at equal or lower memory.
* With ``--reference PATH`` (a clone of the released DARTS code,
  https://github.com/quark0/darts: the folder holding ``cnn/model_search.py``
  or ``cnn`` itself), the released search network (``reference``) is timed
  in this run too, under the same settings, and the continuous step is
  compared with it. Without it the released code is not compared (nothing
  is typed in). Its alphas are created with ``.cuda()``; the reference
  worker makes ``.cuda()`` a no-op in its own process so that it runs on
  the CPU, and changes nothing else.

Each mode runs in a fresh subprocess so that its peak RSS (``ru_maxrss``) is
its own. A step is forward + cross-entropy + backward in training mode on
random data. Discrete mode cycles through ``--genotypes`` random genotypes
(one warm-up step each, then ``--steps`` timed steps each); continuous modes
use the network's own softmax(alpha) weights (one warm-up step, then
``--steps`` timed steps).

    python benchmarks/bench_darts_supernet.py                 # C=16, 8 cells, batch 64
    python benchmarks/bench_darts_supernet.py --reference ~/src/darts   # also the released DARTS code
    python benchmarks/bench_darts_supernet.py --batch 8 --C 8 --layers 5   # quick check
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODES = ("discrete", "continuous", "continuous-plain", "reference")


def _step(net, x, y, **kwargs) -> float:
    import torch.nn.functional as F

    t0 = time.perf_counter()
    loss = F.cross_entropy(net(x, **kwargs), y)
    loss.backward()
    net.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def reference_folder(path: str) -> Path:
    """The folder of the released DARTS code that holds ``model_search.py`` (``PATH`` or ``PATH/cnn``)."""
    root = Path(path).expanduser()
    for folder in (root / "cnn", root):
        if (folder / "model_search.py").is_file() and (folder / "operations.py").is_file():
            return folder.resolve()
    raise SystemExit(f"--reference {path}: no model_search.py and operations.py of the released DARTS code there "
                     "or in its cnn/ folder (a clone of https://github.com/quark0/darts)")


def _reference_network(path: str, C: int, layers: int):
    """The released code's search network (``model_search.Network``), on the CPU."""
    import torch
    from torch import nn

    sys.path.insert(0, str(reference_folder(path)))
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # its alphas are made with .cuda(): stay on the CPU
    import model_search

    return model_search.Network(C, 10, layers, nn.CrossEntropyLoss())


def worker(args: argparse.Namespace) -> dict:
    """Run one mode in this process; return timings and memory as a dict."""
    import numpy as np
    import torch

    from evonas.spaces.darts import SearchNetwork, sample_genotype
    from evonas.spaces.darts.cells import MixedOp
    from evonas.spaces.darts.ops import DilatedDepthwiseConv

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.worker == "reference":
        net = _reference_network(args.reference, args.C, args.layers).train()
    else:
        net = SearchNetwork(C=args.C, num_classes=10, layers=args.layers).train()
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 10, (args.batch,))
    if args.worker == "continuous-plain":  # op by op, oneDNN's dilated strided kernels, contiguous memory
        for module in net.modules():
            if isinstance(module, MixedOp):
                module.fused = False
            if isinstance(module, DilatedDepthwiseConv):
                module.subsample = False
    elif args.worker != "reference" and not args.contiguous:  # what evonas' strategies and supernets do on the CPU
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    rss_built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    if args.worker == "discrete":
        rng = np.random.default_rng(args.seed)
        for _ in range(args.genotypes):
            g = sample_genotype(rng)
            _step(net, x, y, genotype=g)  # warm-up
            times += [_step(net, x, y, genotype=g) for _ in range(args.steps)]
    else:
        _step(net, x, y)  # warm-up
        times = [_step(net, x, y) for _ in range(args.steps)]
    return {
        "mode": args.worker,
        "times": times,
        "rss_built_mib": rss_built,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_mode(mode: str, argv: list) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--worker", mode]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--C", type=int, default=16, help="initial channels (default 16)")
    parser.add_argument("--layers", type=int, default=8, help="cells (default 8)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--size", type=int, default=32, help="input height = width (default 32)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per genotype / mode (default 2)")
    parser.add_argument("--genotypes", type=int, default=3, help="random genotypes in discrete mode (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--modes", default="discrete,continuous,continuous-plain",
                        help="comma-separated modes to run (default: all three)")
    parser.add_argument("--contiguous", action="store_true",
                        help="run discrete / continuous in contiguous (NCHW) memory instead of channels-last")
    parser.add_argument("--reference", metavar="PATH",
                        help="a clone of the released DARTS code (https://github.com/quark0/darts): time its search "
                             "network in this run too and compare (default: not compared)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return

    forwarded = [f"--C={args.C}", f"--layers={args.layers}", f"--batch={args.batch}", f"--size={args.size}",
                 f"--steps={args.steps}", f"--genotypes={args.genotypes}", f"--threads={args.threads}",
                 f"--seed={args.seed}"] + (["--contiguous"] if args.contiguous else [])
    modes = [m for m in args.modes.split(",") if m != "reference"]
    if "reference" in args.modes.split(",") and not args.reference:
        parser.error("mode 'reference' needs --reference PATH (a clone of the released DARTS code)")
    if args.reference:
        forwarded.append(f"--reference={reference_folder(args.reference)}")
        modes.append("reference")
    import torch

    print(f"DARTS search network: C={args.C}, {args.layers} cells, batch {args.batch}, "
          f"{args.size}x{args.size}, {args.threads} threads, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")
    results = {}
    for mode in modes:
        t0 = time.perf_counter()
        results[mode] = run_mode(mode, forwarded)
        results[mode]["wall"] = time.perf_counter() - t0

    header = (f"{'mode':<17} {'steps':>5} {'median s/step':>14} {'min s/step':>11} {'RSS built MiB':>14} "
              f"{'peak RSS MiB':>13} {'wall s':>7}")
    print(header)
    print("-" * len(header))
    for mode, r in results.items():
        print(f"{mode:<17} {len(r['times']):>5} {statistics.median(r['times']):>14.3f} {min(r['times']):>11.3f} "
              f"{r['rss_built_mib']:>14.0f} {r['peak_rss_mib']:>13.0f} {r['wall']:>7.1f}")
    if {"discrete", "continuous"} <= set(results):
        d, c = results["discrete"], results["continuous"]
        print(f"continuous / discrete: time {statistics.median(c['times']) / statistics.median(d['times']):.1f}x, "
              f"peak RSS {c['peak_rss_mib'] / d['peak_rss_mib']:.1f}x, "
              f"RSS above model "
              f"{(c['peak_rss_mib'] - c['rss_built_mib']) / max(d['peak_rss_mib'] - d['rss_built_mib'], 1):.1f}x")
    if {"continuous", "continuous-plain"} <= set(results):
        c, p = results["continuous"], results["continuous-plain"]
        ratio = statistics.median(c['times']) / statistics.median(p['times'])
        print(f"continuous / continuous-plain: time {ratio:.2f}x, "
              f"peak RSS {c['peak_rss_mib'] / p['peak_rss_mib']:.2f}x")
    if {"continuous", "reference"} <= set(results):
        c, r = results["continuous"], results["reference"]
        print(f"continuous / reference (the released DARTS code, measured in this run): time "
              f"{statistics.median(c['times']) / statistics.median(r['times']):.2f}x, "
              f"peak RSS {c['peak_rss_mib'] / r['peak_rss_mib']:.2f}x")
    elif "reference" not in results:
        print("the released DARTS code was not compared in this run: pass --reference PATH (a clone of "
              "https://github.com/quark0/darts) to time it beside these modes")


if __name__ == "__main__":
    main()
