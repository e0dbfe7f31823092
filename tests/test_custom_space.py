"""``examples/custom_space.py``: a space written outside evonas gets every engine, evaluator, export and plot.

The example runs once (``--quick``, about 20 s on a CPU); the tests read what it wrote and check it against the
example's own space, loaded from the file. The last test proves evonas knows nothing of the example.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_space.py"
ENGINES = ("random", "evolution", "nsga2", "deap-nsga2", "relative")
BUDGET = 8  # the example's --quick budget per engine


@pytest.fixture(scope="module")
def example_module():
    spec = importlib.util.spec_from_file_location("custom_space_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def space(example_module):
    return example_module.MobileChainSpace()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("custom_space") / "run"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--run-dir", str(run_dir)],
                          cwd=run_dir.parent, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc, run_dir


def _history(run_dir: Path, engine: str) -> list[dict]:
    with (run_dir / engine / "history.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_contract_suite_passed(run):
    proc, run_dir = run
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["contract"] == ["check_space", "check_operator(space-mutation)", "check_operator(space-crossover)",
                                   "check_operator(pm)", "check_operator(sbx)"]
    assert "contract suite: 5 checks passed" in proc.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_searched_valid_architectures(run, space, engine):
    _, run_dir = run
    rows = _history(run_dir, engine)
    assert len(rows) >= BUDGET
    archs = [space.from_json(json.loads(row["arch"])) for row in rows]  # raises for an invalid architecture
    assert [row["key"] for row in rows] == [space.key(arch) for arch in archs]
    if engine != "relative":  # RelativeNAS changes the weights, so a member is scored again under new ones
        assert len({row["key"] for row in rows}) == len(rows), "an architecture was evaluated twice"
    accuracies = [float(row["accuracy"]) for row in rows]
    assert all(0.0 <= a <= 100.0 for a in accuracies) and len(set(accuracies)) > 1, accuracies
    front = json.loads((run_dir / engine / "front.json").read_text())
    assert front["evaluations"] == len(rows) and front["front"]
    assert (run_dir / engine / "progress.png").read_bytes()[:4] == b"\x89PNG"
    objectives = [o["name"] for o in front["objectives"]]
    assert objectives == (["accuracy"] if engine in ("evolution", "relative") else ["accuracy", "flops"])
    if len(objectives) == 2:
        assert (run_dir / engine / "pareto.png").read_bytes()[:4] == b"\x89PNG"


def test_relativenas_trained_the_supernet_and_drew_its_choice(run, space):
    proc, run_dir = run
    assert "generation 1 pair 2/2" in proc.stderr  # two generations of two slow-fast pairs, each merged
    space.from_json(json.loads((run_dir / "relative" / "chosen.json").read_text()))
    assert (run_dir / "relative" / "chosen.png").read_bytes()[:4] == b"\x89PNG"  # the space's draw()


def test_cost_values_are_the_built_networks(run, space):
    from evonas.counting import count_macs, count_params

    _, run_dir = run
    row = _history(run_dir, "nsga2")[0]
    model = space.build(space.from_json(json.loads(row["arch"])))
    assert float(row["params"]) == count_params(model)
    assert float(row["flops"]) == count_macs(model, (1, 3, 32, 32))


def test_the_supernet_was_trained_once_and_shared(run):
    proc, run_dir = run
    assert (run_dir / "supernet.pt").is_file()
    assert len(re.findall(r"supernet epoch \d+/1:", proc.stderr)) == 1  # --quick trains 1 epoch
    assert proc.stderr.count("loaded the trained supernet") == len(ENGINES) - 1


def test_the_best_architecture_is_exported_and_checked_in_onnxruntime(run, space):
    _, run_dir = run
    index = json.loads((run_dir / "export" / "index.json").read_text())
    assert index and all(row["onnx_check_passed"] for row in index)
    folder = Path(index[0]["folder"])
    for name in ("model.onnx", "model.pt2", "model.pt", "genotype.json"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "cell.png").read_bytes()[:4] == b"\x89PNG"  # drawn by the space's draw()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["space"] == "mobile-chain" and space.key(meta["arch"]) == meta["key"] == index[0]["key"]
    evolution = json.loads((run_dir / "evolution" / "front.json").read_text())
    assert meta["key"] in {row["key"] for row in evolution["front"]}
    assert (run_dir / "best.png").read_bytes()[:4] == b"\x89PNG"


def test_no_evonas_file_mentions_the_example(example_module):
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    assert {"MobileChainSpace", "MobileChainSupernet", "MobileChainNetwork"} <= names
    words = ["custom_space", example_module.MobileChainSpace.name, *sorted(names)]
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(word)}(?![\w-])" for word in words))
    mentions = [f"{path.relative_to(ROOT)}: {match.group(0)}"
                for path in sorted((ROOT / "evonas").rglob("*")) if path.is_file() and "__pycache__" not in path.parts
                for match in [pattern.search(path.read_text(encoding="utf-8", errors="ignore"))] if match]
    assert not mentions, f"evonas must not know the example: {mentions}"
