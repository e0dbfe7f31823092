"""Candidates per second scored by a trained single-path DARTS supernet: in this process, and on 1 vs 2 local
Ray actors (``--executor ray``), measured in one run on the same batch.

Setup: a C=8, 5-cell DARTS supernet (cifar10-mini, 1 epoch: the weights do not matter for speed), each
candidate BN-recalibrated on 256 images and scored on 512 validation images; a batch of ``--candidates``
random cells. Every arm scores the same batch and must give the same values (checked). Each actor holds a
replica set up once from the supernet's weights (it never trains); the time of that set-up is reported
apart from the scoring.

Measured on this machine's 2 cores (``--candidates 24``; the values agree to 1.8e-06 in val_loss):

    in process (2 threads)   1.88 candidates/s   1.00x
    ray, 1 actor (1 CPU)     1.27 candidates/s   0.68x
    ray, 2 actors (1 CPU)    2.62 candidates/s   1.39x   (2.05x over one actor)

Setting up an actor from the weights took 3.6-3.9 s (data and supernet built once per actor). Two
single-threaded actors beat one process with two torch threads here because small convolutions do not
split well over threads; each further machine or GPU adds one actor's rate.

    python benchmarks/bench_ray_executor.py [--candidates 24]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=24)
    args = parser.parse_args()

    import ray

    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.runtime.ray_executor import RayExecutor
    from evonas.spaces.darts import DartsSpace

    torch.set_num_threads(2)
    space = DartsSpace()
    evaluator = SupernetEvaluator(supernet_kwargs=dict(C=8, layers=5), epochs=1, recalibration_images=256,
                                  val_images=512, progress=False, device="cpu")
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(args.candidates)]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    executors = {workers: RayExecutor(workers=workers, chunk_size=1) for workers in (1, 2)}
    for executor in executors.values():
        executor.start(space, evaluator)
    evaluator.setup(space)

    start = time.perf_counter()
    reference = evaluator.evaluate(archs)
    rates = {"in process (2 threads)": args.candidates / (time.perf_counter() - start)}
    for workers, executor in executors.items():
        start = time.perf_counter()
        executor.evaluate(evaluator, archs[:1])  # starts the actors: set-up from the weights
        setup = time.perf_counter() - start
        start = time.perf_counter()
        results = executor.evaluate(evaluator, archs)
        rates[f"ray, {workers} actor{'s' if workers > 1 else ''} (1 CPU)"] = (
            args.candidates / (time.perf_counter() - start))
        drift = max(abs(a["val_loss"] - b["val_loss"]) for a, b in zip(results, reference))
        print(f"ray with {workers} actor(s): set-up + first candidate {setup:.1f} s; "
              f"largest val_loss difference to in-process scoring {drift:.1e}")
        executor.close()
    ray.shutdown()

    base = rates["in process (2 threads)"]
    print(f"\n{args.candidates} candidates, C=8, 5 cells, 256 recalibration + 512 validation images each")
    for name, rate in rates.items():
        print(f"  {name:26s} {rate:6.2f} candidates/s  {rate / base:5.2f}x")
    one, two = rates["ray, 1 actor (1 CPU)"], rates["ray, 2 actors (1 CPU)"]
    print(f"  2 actors over 1 actor: {two / one:.2f}x")


if __name__ == "__main__":
    main()
