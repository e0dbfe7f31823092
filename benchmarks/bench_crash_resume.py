"""Kill ``evonas search`` at random moments, resume it each time, and compare with an uninterrupted run.

1. Runs a small search (toy space, ZDT objectives, NSGA-II by default; the
   Hamming objective for single-objective strategies) once without
   interruption: the reference.
2. Runs the same search in a second run directory, sends SIGKILL at a
   random moment (uniform over the reference's wall time, so kills land in
   start-up, in generations and in checkpoint writes), then continues it with
   ``--resume`` (the first start is a new run; a run killed before its first
   checkpoint resumes from the start); repeats ``--kills`` times, then lets
   the last resume finish.
3. Checks that ``history.csv`` and the front in ``front.json`` equal the
   reference's byte for byte, that no temporary file is left, and prints how
   many kills hit a run after its first checkpoint and how often a resume
   fell back to the previous checkpoint.

The supernet strategies (``--strategy darts``, ``stacnas``, ``dap``,
``relative`` in weight-set mode) run at toy scale on the DARTS space and
their own result files (search curve or trajectory, chosen cell) must be
identical too; a small ``--kills`` keeps them quick.

    python benchmarks/bench_crash_resume.py [--kills 20] [--budget 1500] [--strategy nsga2] [--seed 0]
    python benchmarks/bench_crash_resume.py --strategy darts --kills 3
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evonas.plugins import ENV_VAR
from evonas.registry import strategies

#: the toy space and the synthetic evaluators are test fixtures, registered by name only on request: here in the
#: command-line subprocesses, through the environment they inherit
os.environ[ENV_VAR] = ",".join(filter(None, [os.environ.get(ENV_VAR), "evonas.testing:register_fixtures"]))


#: the strategies that train a supernet while they search, at toy scale on the DARTS space (``--budget`` then
#: only needs to exceed what their epochs / units / generations evaluate), and the result files they write
COST = ["--evaluator", "cost", "--evaluator-opt", 'metrics=["params"]', "--evaluator-opt",
        'net_kwargs={"C": 4, "layers": 3}']
TINY = ["--strategy-opt", "C=4", "--strategy-opt", "layers=3", "--strategy-opt", "batch_size=8"]
SUPERNET = {
    "darts": (["--space", "darts", *COST, "--strategy", "darts", *TINY, "--strategy-opt", "epochs=4",
               "--strategy-opt", "steps_per_epoch=2"], ("search_curve.csv", "chosen.json")),
    "stacnas": (["--space", "darts", *COST, "--strategy", "stacnas", *TINY, "--strategy-opt", "epochs=2",
                 "--strategy-opt", "layers_stage2=4", "--strategy-opt", "steps_per_epoch=2"],
                ("search_curve.csv", "chosen.json")),
    "dap": (["--space", "darts", "--space-opt", 'primitives=["skip_connect", "sep_conv_3x3", "max_pool_3x3"]',
             *COST, "--strategy", "dap", *TINY, "--strategy-opt", "population=1", "--strategy-opt", "train_steps=1",
             "--strategy-opt", "expand_steps=1", "--strategy-opt", "select_steps=1", "--strategy-opt",
             "topology_steps=1", "--strategy-opt", "val_images=8"], ("search_curve.csv", "chosen.json")),
    "relative": (["--space", "darts", "--space-opt", "encoding=relativenas", "--evaluator", "supernet",
                  "--evaluator-opt", "epochs=0", "--evaluator-opt", 'supernet_kwargs={"C": 4, "layers": 3}',
                  "--evaluator-opt", "batch_size=8", "--evaluator-opt", "recalibration_images=8",
                  "--evaluator-opt", "val_images=16", "--strategy", "relative", "--pop-size", "4",
                  "--strategy-opt", "generations=3", "--strategy-opt", "member_steps=1"],
                 ("trajectory.csv", "chosen.json")),
}


def command(run_dir: Path, args, resume: bool) -> list[str]:
    base = [sys.executable, "-m", "evonas.cli", "search"]
    if resume:
        return base + ["--resume", str(run_dir), "--budget", str(args.budget), "--quiet"]
    if args.strategy in SUPERNET:
        return base + SUPERNET[args.strategy][0] + ["--budget", str(args.budget), "--seed", str(args.search_seed),
                                                    "--run-dir", str(run_dir), "--quiet"]
    single = strategies.create(args.strategy, pop_size=20).max_objectives == 1
    evaluator = "hamming" if single else "zdt"  # the toy space's Hamming objective, or its ZDT pair
    return base + ["--space", "toy", "--space-opt", "length=16", "--space-opt", "choices=4", "--evaluator", evaluator,
                   "--strategy", args.strategy, "--pop-size", "20", "--budget", str(args.budget),
                   "--seed", str(args.search_seed), "--run-dir", str(run_dir), "--quiet"]


def front_of(run_dir: Path) -> list:
    return json.loads((run_dir / "front.json").read_text())["front"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--strategy", default="nsga2")
    parser.add_argument("--search-seed", type=int, default=3, help="the search's own seed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="evonas-crash-"))
    try:
        reference, killed = workdir / "reference", workdir / "killed"
        began = time.perf_counter()
        subprocess.run(command(reference, args, False), check=True, capture_output=True)
        duration = time.perf_counter() - began
        print(f"reference: {args.strategy}, budget {args.budget}, {duration:.1f} s")

        after_checkpoint = fallbacks = restarts = 0
        for _ in range(args.kills):
            started = (killed / "checkpoint.pkl").exists()
            proc = subprocess.Popen(command(killed, args, resume=(killed / "config.json").exists()),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0.0, duration))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            fallbacks += "falling back" in err
            restarts += "starting over" in err
            after_checkpoint += started
            if proc.returncode not in (0, -signal.SIGKILL):
                print(f"a run failed (exit code {proc.returncode}):\n{err}")
                return 1
        final = subprocess.run(command(killed, args, resume=(killed / "config.json").exists()),
                               capture_output=True, text=True)
        if final.returncode != 0:
            print(f"the final resume failed:\n{final.stderr}")
            return 1
        fallbacks += "falling back" in final.stderr
        same_history = (killed / "history.csv").read_bytes() == (reference / "history.csv").read_bytes()
        same_front = front_of(killed) == front_of(reference)
        own = SUPERNET.get(args.strategy, ((), ()))[1]
        differ = [name for name in own if (killed / name).read_bytes() != (reference / name).read_bytes()]
        leftovers = [p.name for p in killed.glob(".*.tmp")]
        print(f"kills: {args.kills} ({after_checkpoint} after the first checkpoint); resumes that fell back to the "
              f"previous checkpoint: {fallbacks}; resumes from the start: {restarts}")
        print(f"history.csv identical: {same_history}; front identical: {same_front}; "
              f"temporary files left: {len(leftovers)}"
              + (f"; {', '.join(own)} identical: {not differ}" + (f" (differ: {', '.join(differ)})" if differ else "")
                 if own else ""))
        return 0 if same_history and same_front and not leftovers and not differ else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
