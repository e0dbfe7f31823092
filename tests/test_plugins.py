"""A third-party package, really installed, registers a space, an evaluator and a strategy through the
``evonas.plugins`` entry points; ``evonas search`` runs them; a broken plugin costs one warning line."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evonas.plugins import ENV_VAR

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "evonas-chain-demo"
version = "0.1"

[project.entry-points."evonas.plugins"]
chain = "evonas_chain_demo:register"
chain-strategies = "evonas_chain_demo_strategies"
chain-broken = "evonas_chain_demo_broken"

[tool.setuptools]
py-modules = ["evonas_chain_demo", "evonas_chain_demo_strategies", "evonas_chain_demo_broken"]
"""

# a function entry point: registers a space and an evaluator when called
SPACE_AND_EVALUATOR = '''
import numpy as np

from evonas.evaluators.base import Evaluator, Objective
from evonas.spaces.base import SearchSpace


class ChainSpace(SearchSpace):
    """A chain of `depth` blocks, each with a kernel size in KERNELS."""

    KERNELS = (3, 5, 7)
    name = "chain"

    def __init__(self, *, depth=6):
        self.depth = depth

    def validate(self, arch):
        arch = tuple(int(k) for k in arch)
        if len(arch) != self.depth or any(k not in self.KERNELS for k in arch):
            raise ValueError(f"not a chain: {arch}")
        return arch

    def _sample(self, rng):
        return tuple(int(k) for k in rng.choice(self.KERNELS, size=self.depth))

    def _mutate(self, arch, rng):
        i = int(rng.integers(self.depth))
        return arch[:i] + (int(rng.choice([k for k in self.KERNELS if k != arch[i]])),) + arch[i + 1:]

    def _crossover(self, a, b, rng):
        cut = int(rng.integers(1, self.depth))
        return a[:cut] + b[cut:], b[:cut] + a[cut:]

    def _encode(self, arch):
        return np.asarray(arch, dtype=np.int64)

    def _decode(self, vector):
        return tuple(int(v) for v in vector)

    def _build(self, arch, **kwargs):
        raise NotImplementedError

    def _key(self, arch):
        return "-".join(map(str, arch))


class ReceptiveField(Evaluator):
    """`field` (max): the chain's receptive field."""

    name = "receptive-field"

    @property
    def objectives(self):
        return (Objective("field", "max"),)

    def _evaluate(self, archs):
        return [{"field": float(1 + sum(k - 1 for k in arch))} for arch in archs]


def register():
    from evonas.registry import evaluators, spaces

    spaces.register("chain", ChainSpace)
    evaluators.register("receptive-field", ReceptiveField)
'''

# a module entry point: registers a strategy when imported
STRATEGY = '''
from evonas.registry import strategies
from evonas.strategies.base import Strategy


@strategies.register("hill-climb")
class HillClimb(Strategy):
    """Mutants of the best architecture so far (a random start)."""

    name = "hill-climb"
    max_objectives = 1

    def __init__(self, *, neighbours: int = 4):
        super().__init__(neighbours=neighbours)
        self.best, self.best_value = None, None

    def ask(self):
        n = self.config["neighbours"]
        if self.best is None:
            return [self.space.sample(self.rng) for _ in range(n)]
        return [self.space.mutate(self.best, self.rng) for _ in range(n)]

    def tell(self, archs, results):
        objective = self.objectives[0]
        for arch, result in zip(archs, results):
            value = objective.to_min(result[objective.name])
            if self.best_value is None or value < self.best_value:
                self.best, self.best_value = arch, value
'''

BROKEN = "import evonas_chain_demo_missing_dependency\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The demo package installed (pip, into a folder put on PYTHONPATH); returns that folder."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    (source / "pyproject.toml").write_text(PYPROJECT)
    (source / "evonas_chain_demo.py").write_text(textwrap.dedent(SPACE_AND_EVALUATOR))
    (source / "evonas_chain_demo_strategies.py").write_text(textwrap.dedent(STRATEGY))
    (source / "evonas_chain_demo_broken.py").write_text(BROKEN)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(target.glob("evonas_chain_demo-0.1.dist-info/entry_points.txt"))
    return target


def run_evonas(site: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m evonas.cli ARGS`` with the installed package on the path and none of the suite's plugins."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "evonas.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_an_installed_plugin_runs_in_evonas_search_and_a_broken_one_is_one_line(installed, tmp_path):
    run = tmp_path / "run"
    proc = run_evonas(installed, "search", "--space", "chain", "--evaluator", "receptive-field", "--strategy",
                      "hill-climb", "--budget", "24", "--seed", "1", "--run-dir", str(run), "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 24 and max(int(r["generation"]) for r in rows) >= 5  # 4 neighbours a generation
    for row in rows:  # the plugin's evaluator scored the plugin's space
        kernels = json.loads(row["arch"])
        assert len(kernels) == 6 and set(kernels) <= {3, 5, 7}
        assert float(row["field"]) == 1 + sum(k - 1 for k in kernels)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "evonas plugin 'chain-broken' was not loaded (ModuleNotFoundError: No module " \
        "named 'evonas_chain_demo_missing_dependency')" in warnings[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_installed_plugin_shows_in_the_search_help(installed):
    proc = run_evonas(installed, "search", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(name in proc.stdout for name in ("chain", "receptive-field", "hill-climb")), proc.stdout
