"""The NAS-Bench-201 table: lookups, the optimum, cost columns, bad input; searches on it beat random search."""
from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.evaluators.tabular import NB201TableEvaluator, load_nb201_table
from evonas.loop import search
from evonas.registry import strategies
from evonas.spaces.nb201 import NB201Space

BEST_TEST = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def test_lookup_matches_the_shipped_table(shared_data):
    import csv

    evaluator = NB201TableEvaluator()
    evaluator.setup(NB201Space())
    row = evaluator.evaluate([BEST_TEST])[0]
    assert (row["accuracy"], row["test_accuracy"]) == (84.612, 89.16) and row["params"] == 830426
    shared = {r["arch_str"]: r for r in csv.DictReader(open(shared_data / "nb201" / "nb201-12epoch.csv"))}
    table = load_nb201_table()
    assert len(table) == len(shared) == 15625
    for cell in list(shared)[::997]:
        assert table[cell]["cifar100_test"] == float(shared[cell]["cifar100_test"])
    assert evaluator.optimum()["best_test_accuracy"] == 89.16


def test_other_datasets_and_bad_input():
    evaluator = NB201TableEvaluator(dataset="imagenet16", cost=True)
    evaluator.setup(NB201Space())
    row = evaluator.evaluate([BEST_TEST])[0]
    assert row["params"] > 830426 and row["flops"] < 117_883_520  # 120 classes; 16x16 inputs
    with pytest.raises(ConfigError, match="unknown NAS-Bench-201 dataset 'cifar1o'"):
        NB201TableEvaluator(dataset="cifar1o")
    from evonas.testing import ToySpace

    with pytest.raises(ConfigError, match="scores cells of a space keyed by it"):
        NB201TableEvaluator().setup(ToySpace())


def test_cost_is_computed_once_per_cell_and_results_are_copies(monkeypatch):
    space = NB201Space()
    evaluator = NB201TableEvaluator(dataset="cifar100")
    evaluator.setup(space)
    counted = []
    real = space.analytic_cost
    monkeypatch.setattr(space, "analytic_cost", lambda arch, **kw: counted.append(arch) or real(arch, **kw))
    cells = [space.sample(np.random.default_rng(i)) for i in range(20)]
    first = evaluator.evaluate(cells + [space.key(cells[0])])  # a cell string is the same cell
    assert len(counted) == 20 and first[0] == first[-1]
    first[0]["params"] = -1.0  # a caller's change never reaches the cache
    again = evaluator.evaluate(cells)
    assert len(counted) == 20 and again[1:] == first[1:20] and again[0]["params"] == real(cells[0], num_classes=100)[
        "params"]
    from evonas.errors import GenotypeError

    with pytest.raises(GenotypeError):
        evaluator.evaluate(["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"])


@pytest.mark.parametrize("name", ["evolution", "ga"])
def test_searches_beat_random_search_on_the_table(name):
    from scipy.stats import mannwhitneyu

    def best(strategy, seed):
        result = search(NB201Space(), strategies.create(strategy, **({} if strategy == "random" else
                                                                      {"pop_size": 20})),
                        NB201TableEvaluator(cost=False), budget=150, seed=seed, progress=False)
        return max(ind.values["accuracy"] for ind in result.individuals)

    ours = [best(name, seed) for seed in range(12)]
    random = [best("random", seed) for seed in range(12)]
    assert np.median(ours) > np.median(random)
    assert mannwhitneyu(ours, random, alternative="greater").pvalue < 0.05
