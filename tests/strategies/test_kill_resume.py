"""The supernet strategies (darts, stacnas, dap, weight-set relative) resumed after kill -9 give the files of an
uninterrupted run, byte for byte.

Each run is a child process (:func:`child`): the reference runs to the end; a second run SIGKILLs itself at a
fixed call of a function inside the strategy's work, once its first generation (epoch, unit, pair) has ended and
so a checkpoint has been written (no cleanup, no ``finally``: what kill -9 from outside leaves); a third process
resumes that run. Nothing here reads the checkpoint files, so the tests hold for any correct checkpoint format.
The resumed process also counts the calls it made: fewer than the reference's, or the "resume" started over.
``benchmarks/bench_crash_resume.py`` kills at random moments instead.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: per strategy: the function the child counts (module, attribute path), the call at which it kills itself,
#: and the result files the strategy writes besides history.csv and front.json
CASES = {
    # 2 epochs of 1 step; killed at the step of epoch 2
    "darts": (("evonas.operators.gradient", "GradientSearch.step"), 2, ("search_curve.csv", "chosen.json",
                                                                         "chosen.txt")),
    # 1 epoch of 1 step in each of the 2 stages; killed at stage 2's step
    "stacnas": (("evonas.operators.gradient", "GradientSearch.step"), 2, ("search_curve.csv", "chosen.json",
                                                                           "chosen.txt")),
    # 3 ops: 14 x 3 expand valuations, then fine and topology ones; killed at edge 2's second op, after the
    # checkpoint written at its first (checkpoints after every valued op here)
    "dap": (("evonas.operators.perturbation", "PerturbationValuer.value"), 8, ("search_curve.csv", "chosen.json",
                                                                                "chosen.txt")),
    # 2 generations of 1 pair; killed at generation 2's first member
    "relative": (("evonas.training.weight_set", "train_member"), 3, ("trajectory.csv", "chosen.json",
                                                                      "chosen.txt")),
}


def _search(name: str, run_dir: str, resume: bool):
    import evonas
    from evonas.evaluators.cost import CostEvaluator
    from evonas.registry import strategies
    from evonas.spaces.darts import DartsSpace

    quick = dict(C=4, layers=3, steps_per_epoch=1, batch_size=8)
    cost = CostEvaluator(metrics=("params",), net_kwargs={"C": 4, "layers": 3})
    if name == "darts":
        space, strategy, evaluator, seed = DartsSpace(), strategies.create("darts", epochs=2, **quick), cost, 0
    elif name == "stacnas":
        space, evaluator, seed = DartsSpace(), cost, 0
        strategy = strategies.create("stacnas", epochs=1, layers_stage2=4, **quick)
    elif name == "dap":
        space, evaluator, seed = DartsSpace(primitives=("skip_connect", "sep_conv_3x3", "max_pool_3x3")), cost, 0
        strategy = strategies.create("dap", population=1, C=4, layers=3, batch_size=8, train_steps=1,
                                     expand_steps=1, select_steps=1, topology_steps=1, val_images=8,
                                     checkpoint_seconds=1e9)
    else:
        from evonas.evaluators.supernet import SupernetEvaluator

        space, seed = DartsSpace(encoding="relativenas"), 3
        evaluator = SupernetEvaluator(epochs=0, supernet_kwargs={"C": 4, "layers": 3}, batch_size=8,
                                      recalibration_images=8, val_images=16, progress=False)
        strategy = strategies.create("relative", pop_size=2, generations=2, member_steps=1)
    # a checkpoint after every generation (by default at most one every 2 s), so the kill comes after one
    evonas.search(space, strategy, evaluator, budget=1000, seed=seed, run_dir=run_dir, resume=resume,
                  progress=False, plots=False, checkpoint_every=0)


def child(name: str, run_dir: str, resume: bool, kill_at: int, calls_file: str) -> None:
    """One run in this process: SIGKILL itself at call ``kill_at`` (0: never) of the case's counted function;
    write how many calls it made to ``calls_file`` when it ends."""
    import importlib

    import torch

    torch.set_num_threads(1)
    (module_name, path), _, _ = CASES[name]
    owner = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    real, calls = getattr(owner, attribute), []

    def counted(*args, **kwargs):
        calls.append(1)
        if len(calls) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(owner, attribute, counted)
    _search(name, run_dir, resume)
    Path(calls_file).write_text(json.dumps(len(calls)))


def _run(name: str, run_dir: Path, *, resume: bool = False, kill_at: int = 0) -> subprocess.CompletedProcess:
    calls = run_dir.parent / f"{run_dir.name}.calls"
    code = (f"from tests.strategies.test_kill_resume import child; "
            f"child({name!r}, {str(run_dir)!r}, {resume}, {kill_at}, {str(calls)!r})")
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("name", sorted(CASES))
def test_kill_9_then_resume_equals_an_uninterrupted_run(name, tmp_path):
    _, kill_at, own_files = CASES[name]
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    done = _run(name, reference)
    assert done.returncode == 0, done.stderr[-3000:]
    total = json.loads((tmp_path / "reference.calls").read_text())
    assert total >= kill_at, "the kill would come after the run's end"

    died = _run(name, killed, kill_at=kill_at)
    assert died.returncode == -signal.SIGKILL, died.stderr[-3000:]
    assert not (tmp_path / "killed.calls").exists()
    resumed = _run(name, killed, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = json.loads((tmp_path / "killed.calls").read_text())
    assert again < total, f"the resumed run made {again} of the run's {total} calls: it started over"

    for file in ("history.csv", "front.json", *own_files):
        assert (killed / file).read_bytes() == (reference / file).read_bytes(), file
