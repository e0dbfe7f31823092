"""Cost of supernet training: fp32 eager vs bf16 autocast (vs torch.compile of the candidate ops), in one run.

Trains the same supernet (same initial weights, same batches, same paths)
for ``--steps`` single-path steps in each mode and prints seconds per step
and the ratio to fp32 eager. Modes are interleaved over ``--repeats``
rounds and the median round counts, so that a busy machine's load hits
every mode alike. Modes:

* ``fp32``: what ``SupernetEvaluator`` trains by default;
* ``bf16``: forward passes under bf16 autocast (``train_dtype="bfloat16"``;
  weights, gradients and optimiser stay fp32), fast on CPUs with AMX /
  AVX-512 BF16 (the CPU's flags are printed);
* ``compile`` / ``compile-bf16``: each candidate op module compiled with
  ``torch.compile`` (the supernet's ``candidate_modules()``; a single-path
  forward changes its path every step, so the whole network is not
  compiled); compilation happens in ``--warmup`` steps, reported apart.

    python benchmarks/bench_supernet_speed.py [--space nb201] [--supernet-kwargs '{"C": 16, "N": 2}']
        [--steps 20] [--repeats 3] [--modes fp32 bf16 compile compile-bf16]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from evonas.registry import spaces
from evonas.spaces.base import NamesCandidateModules
from evonas.training.shared_supernet import SharedSupernet

MODES = ("fp32", "bf16", "compile", "compile-bf16")


def cpu_flags() -> str:
    """The bf16-relevant flags of this CPU (Linux), e.g. ``amx_bf16 avx512_bf16``."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    return " ".join(sorted(f for f in set(flags) if f in ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f"))) or "none"


def build(space, args, mode: str) -> tuple[SharedSupernet, float]:
    """A shared supernet for ``mode`` and the seconds its compilation took in the warm-up steps."""
    shared = SharedSupernet(space, supernet_kwargs=json.loads(args.supernet_kwargs), epochs=1,
                            batch_size=args.batch_size, seed=0, progress=False, recalibration_images=0,
                            val_images=1, device="cpu", train_dtype="bfloat16" if mode.endswith("bf16") else "float32")
    if mode.startswith("compile"):
        module = shared.module
        if not isinstance(module, NamesCandidateModules):
            raise SystemExit(f"{args.space}'s supernet does not name its candidate modules: no compile mode")
        for name in module.candidate_modules():
            module.get_submodule(name).compile()
    began = time.perf_counter()
    shared.train(steps=args.warmup)  # first passes: oneDNN kernel choice; for compile modes, compilation
    return shared, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--supernet-kwargs", default='{"C": 16, "N": 2}')
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per mode and round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed first steps per mode")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (modes interleaved; the median counts)")
    parser.add_argument("--modes", nargs="+", default=["fp32", "bf16"], choices=MODES)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    space = spaces.create(args.space)
    print(f"{args.space} supernet {args.supernet_kwargs}, batch {args.batch_size}, {args.threads} thread(s), "
          f"torch {torch.__version__}, CPU flags: {cpu_flags()}", flush=True)
    nets, warm = {}, {}
    for mode in args.modes:
        nets[mode], warm[mode] = build(space, args, mode)
        print(f"  {mode:13s} warm-up {args.warmup} steps: {warm[mode]:.1f} s", flush=True)
    rounds: dict[str, list[float]] = {mode: [] for mode in args.modes}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):
        for mode in args.modes:
            began = time.perf_counter()
            stats = nets[mode].train(steps=args.steps)
            rounds[mode].append((time.perf_counter() - began) / args.steps)
            losses[mode] = stats.loss
    base = statistics.median(rounds["fp32"]) if "fp32" in rounds else None
    print(f"seconds per training step (median of {args.repeats} rounds of {args.steps}):")
    for mode in args.modes:
        seconds = statistics.median(rounds[mode])
        ratio = f"  {base / seconds:.2f}x fp32 eager" if base else ""
        print(f"  {mode:13s} {seconds:.3f} s/step{ratio}  (rounds: "
              f"{', '.join(f'{s:.3f}' for s in rounds[mode])}; last loss {losses[mode]:.3f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
