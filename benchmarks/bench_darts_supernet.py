"""Discrete (single-path) vs continuous (mixed-op) steps on the DARTS search network, and how fast evonas'
continuous DARTS step is against the op-by-op baseline and the original DARTS code.

Claims measured:

* Running a sampled genotype alone through the supernet (discrete mode) is
  many times faster and lighter than the DARTS mixture, which computes
  every op on every edge.
* evonas' continuous step (``continuous``: channels-last on the CPU, the
  fused mixture of :mod:`evonas.spaces.darts.mixture`, strided dilated
  convs computed on the subsampled input) against the op-by-op mixture in
  contiguous memory with oneDNN's dilated strided kernels
  (``continuous-plain``, what evonas did before, at parity with the
  original DARTS code). The original code's figure on this kind of machine
  (2 cores, C=16, 8 cells, batch 64, measured side by side with
  ``continuous-plain`` in one run, two rounds) is printed beside them:
  7.2 / 7.4 s per step, 9.6 GiB peak RSS, against 5.9 / 7.3 s and 9.9 GiB
  for ``continuous-plain``. Goal: half the reference's time or less, at
  equal or lower memory.

Each mode runs in a fresh subprocess so that its peak RSS (``ru_maxrss``) is
its own. A step is forward + cross-entropy + backward in training mode on
random data. Discrete mode cycles through ``--genotypes`` random genotypes
(one warm-up step each, then ``--steps`` timed steps each); continuous modes
use the network's own softmax(alpha) weights (one warm-up step, then
``--steps`` timed steps).

    python benchmarks/bench_darts_supernet.py                 # C=16, 8 cells, batch 64
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

#: the original DARTS search network's step and peak RSS, and continuous-plain's beside it in the same runs
#: (two rounds, C=16, 8 cells, batch 64, 2 threads, 2-core CPU)
REFERENCE_SECONDS, REFERENCE_GIB = (7.2, 7.4), 9.6
PLAIN_SECONDS = (5.9, 7.3)


def _step(net, x, y, **kwargs) -> float:
    import torch.nn.functional as F

    t0 = time.perf_counter()
    loss = F.cross_entropy(net(x, **kwargs), y)
    loss.backward()
    net.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def worker(args: argparse.Namespace) -> dict:
    """Run one mode in this process; return timings and memory as a dict."""
    import numpy as np
    import torch

    from evonas.spaces.darts import SearchNetwork, sample_genotype
    from evonas.spaces.darts.cells import MixedOp
    from evonas.spaces.darts.ops import DilatedDepthwiseConv

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = SearchNetwork(C=args.C, num_classes=10, layers=args.layers).train()
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 10, (args.batch,))
    if args.worker == "continuous-plain":  # op by op, oneDNN's dilated strided kernels, contiguous memory
        for module in net.modules():
            if isinstance(module, MixedOp):
                module.fused = False
            if isinstance(module, DilatedDepthwiseConv):
                module.subsample = False
    elif not args.contiguous:  # what evonas' strategies and supernets do on the CPU
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=("discrete", "continuous", "continuous-plain"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return

    forwarded = [f"--C={args.C}", f"--layers={args.layers}", f"--batch={args.batch}", f"--size={args.size}",
                 f"--steps={args.steps}", f"--genotypes={args.genotypes}", f"--threads={args.threads}",
                 f"--seed={args.seed}"] + (["--contiguous"] if args.contiguous else [])
    import torch

    print(f"DARTS search network: C={args.C}, {args.layers} cells, batch {args.batch}, "
          f"{args.size}x{args.size}, {args.threads} threads, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")
    results = {}
    for mode in args.modes.split(","):
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
    if (args.C, args.layers, args.batch, args.size, args.threads) == (16, 8, 64, 32, 2) and "continuous" in results:
        c = results["continuous"]
        print(f"original DARTS code (recorded on this kind of machine, not measured here): {REFERENCE_SECONDS[0]} / "
              f"{REFERENCE_SECONDS[1]} s per step, {REFERENCE_GIB} GiB; continuous-plain was "
              f"{PLAIN_SECONDS[0]} / {PLAIN_SECONDS[1]} s beside it")
        median = statistics.median(c["times"])
        print(f"continuous against the recorded reference: time {median / REFERENCE_SECONDS[0]:.2f}x / "
              f"{median / REFERENCE_SECONDS[1]:.2f}x, peak RSS {c['peak_rss_mib'] / 1024 / REFERENCE_GIB:.2f}x; "
              "compare with continuous / continuous-plain above, which is measured in this run")


if __name__ == "__main__":
    main()
