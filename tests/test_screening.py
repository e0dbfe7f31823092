"""Predictor-guided screening (evonas.screening): the predicted best are kept, by dominance with several
objectives; runs are reproducible, resume exactly, and work from evonas.search and the command line."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.loop import search
from evonas.registry import strategies
from evonas.screening import PredictorScreen, non_dominated_rank, predicted_order, resolve_screen
from evonas.testing import HammingEvaluator, ToySpace, ZDTEvaluator
from tests.test_search import KILL_SCRIPT

SPACE = ToySpace(length=8, choices=4)
SCREENED = ["evolution", "deap-ga", "ga", "nsga2", "deap-nsga2"]


def fitted_screen(n: int = 60, **options) -> PredictorScreen:
    """A screen that observed ``n`` random toy architectures scored by a Hamming evaluator."""
    evaluator = HammingEvaluator(target=(1,) * 8)
    evaluator.setup(SPACE)
    screen = PredictorScreen(**{"warmup": 10, "explore": 0.0, **options}).setup(SPACE, evaluator.objectives)
    rng = np.random.default_rng(0)
    archs = [SPACE.sample(rng) for _ in range(n)]
    screen.observe(archs, evaluator.evaluate(archs))
    return screen


def test_select_keeps_the_candidates_the_predictor_ranks_best():
    screen = fitted_screen()
    rng = np.random.default_rng(1)
    pool = [SPACE.sample(rng) for _ in range(40)]
    pool = [a for a in pool if SPACE.key(a) not in screen.keys][:30]
    chosen = screen.select(pool, 5)
    predicted = screen.predict(pool)[:, 0]  # minimisation form: -similarity
    assert [SPACE.key(a) for a in chosen] == [SPACE.key(pool[i]) for i in np.argsort(predicted, kind="stable")[:5]]
    # and the predictor is worth following: what it keeps is truly better than what it drops
    truth = np.asarray([np.mean(np.asarray(a) == 1) for a in pool])
    kept = {SPACE.key(a) for a in chosen}
    assert truth[[SPACE.key(a) in kept for a in pool]].mean() > truth[[SPACE.key(a) not in kept for a in pool]].mean()


def test_before_warmup_and_with_few_candidates_nothing_is_screened():
    screen = fitted_screen(n=5)
    pool = [SPACE.sample(np.random.default_rng(k)) for k in range(6)]
    assert not screen.active and screen.pool_size(3) == 3 and screen.select(pool, 3) == pool[:3]
    screen = fitted_screen(candidates=7)
    assert screen.active and screen.pool_size(3) == 21 and screen.select(pool[:2], 3) == pool[:2]


def test_explore_takes_random_candidates_from_the_strategys_rng():
    greedy, exploring = fitted_screen(), fitted_screen(explore=1.0)
    pool = [SPACE.sample(np.random.default_rng(100 + k)) for k in range(30)]
    best = greedy.select(pool, 4)
    draws = [exploring.select(pool, 4, np.random.default_rng(seed)) for seed in range(3)]
    assert draws[0] == exploring.select(pool, 4, np.random.default_rng(0))  # same generator state, same picks
    assert any(d != best for d in draws)
    with pytest.raises(ConfigError, match="random generator"):
        fitted_screen(explore=0.5).select(pool, 4)


def test_predicted_order_is_by_non_dominated_rank_then_crowding():
    F = np.asarray([[1.0, 5.0], [2.0, 4.0], [3.2, 3.0], [2.5, 4.5], [4.0, 4.0], [5.0, 1.0], [3.1, 2.9]])
    assert non_dominated_rank(F).tolist() == [0, 0, 1, 1, 2, 0, 0]
    order = predicted_order(F)
    assert set(order[:4]) == {0, 1, 5, 6} and set(order[4:6]) == {2, 3} and order[6] == 4
    assert set(order[:2]) == {0, 5}  # the extremes of the first front (infinite crowding) come first
    # among known points: a candidate predicted to be dominated by one already found ranks after one that is not
    known = np.asarray([[0.5, 0.5]])
    assert predicted_order(np.asarray([[1.0, 1.0], [0.4, 3.0]]), known) == [1, 0]
    assert predicted_order(np.asarray([[1.0, 1.0], [0.4, 3.0]])) == [0, 1]  # (alone, both on the front)


def test_two_objectives_are_screened_by_predicted_dominance(monkeypatch):
    evaluator = ZDTEvaluator()
    evaluator.setup(SPACE)
    screen = PredictorScreen(warmup=2, explore=0.0).setup(SPACE, evaluator.objectives)
    screen.observe([(3,) * 8, (2,) * 8], evaluator.evaluate([(3,) * 8, (2,) * 8]))
    pool = [(k,) + (1,) * 7 for k in range(4)] + [(0,) * 7 + (k,) for k in range(1, 4)]
    # predicted values: rows 0-3 form a front, rows 4-6 are each dominated by one of them
    predicted = np.asarray([[0.0, 4.0], [1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [0.5, 4.5], [1.5, 3.5], [3.5, 1.5]])
    monkeypatch.setattr(screen, "predict", lambda archs: predicted[[pool.index(a) for a in archs]])
    chosen = screen.select(pool, 4)
    assert sorted(pool.index(a) for a in chosen) == [0, 1, 2, 3]
    assert {pool.index(a) for a in screen.select(pool, 2)} == {0, 3}  # then the extremes (crowding)
    # once measured points dominate rows 0 and 3, rows 1 and 2 (predicted to extend the front) come first
    screen.values = [[-0.1, 3.9], [2.9, 0.9]]
    assert {pool.index(a) for a in screen.select(pool, 2)} == {1, 2}


@pytest.mark.parametrize("name", SCREENED)
def test_screened_search_is_reproducible_and_differs_from_plain(name):
    evaluator = HammingEvaluator if strategies.create(name).max_objectives == 1 else ZDTEvaluator
    screen = {"candidates": 5, "warmup": 10}
    run = lambda option: [i.key for i in search(ToySpace(length=8, choices=4),  # noqa: E731
                                                strategies.create(name, pop_size=10, screen=option), evaluator(),
                                                budget=60, seed=3, progress=False).individuals]
    first = run(screen)
    assert first == run(screen)
    assert first != run(None) and first[:10] == run(None)[:10]  # the same until the warm-up is over


def test_screening_finds_the_toy_target_sooner():
    """Regularized evolution on a 4,096-architecture toy space: the screened search reaches the hidden target in
    fewer evaluations than the plain one (median of five seeds; picking the predicted worst or at random does not)."""
    space = ToySpace(length=6, choices=4)
    target = (1, 2, 3, 0, 1, 2)

    def evaluations(screen, seed, budget=120):
        result = search(space, strategies.create("evolution", screen=screen), HammingEvaluator(target=target),
                        budget=budget, seed=seed, progress=False)
        return next((i.index + 1 for i in result.individuals if i.values["similarity"] == 1.0), budget + 1)

    plain = [evaluations(None, seed) for seed in range(5)]
    screened = [evaluations({"candidates": 10, "warmup": 20, "refit_every": 5}, seed) for seed in range(5)]
    assert np.median(screened) < 0.8 * np.median(plain), (screened, plain)


@pytest.mark.parametrize("name", ["evolution", "nsga2", "deap-ga"])
def test_resume_after_kill_equals_uninterrupted_run(tmp_path, name):
    options = {"pop_size": 10, "screen": {"candidates": 4, "warmup": 12, "refit_every": 3}}
    evaluator = HammingEvaluator if strategies.create(name).max_objectives == 1 else ZDTEvaluator
    reference = search(ToySpace(length=8, choices=4), strategies.create(name, **options), evaluator(),
                       budget=120, seed=11, progress=False)
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(run_dir), name, "55", json.dumps(options)],
                          capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    resumed = search(ToySpace(length=8, choices=4), strategies.create(name, **options), evaluator(),
                     budget=120, seed=11, run_dir=run_dir, resume=True, progress=False)
    assert [(i.key, i.values) for i in resumed.individuals] == [(i.key, i.values) for i in reference.individuals]


def test_a_screen_object_is_copied_not_shared():
    screen = PredictorScreen(candidates=3)
    strategy = strategies.create("evolution", screen=screen)
    search(ToySpace(length=6, choices=3), strategy, HammingEvaluator(), budget=40, seed=0, progress=False)
    assert screen.values == [] and len(strategy.screen.values) == 40


@pytest.mark.parametrize("option, message", [
    ({"candidats": 3}, "unknown screen option"), ({"candidates": 0}, "candidates must be >= 1"),
    ({"model": "forest"}, "unknown screen model"), ({"explore": 2.0}, "explore must be within"),
    ({"order": "best"}, "unknown screen order"), ({"target": "rank"}, "unknown screen target"),
    ({"model_params": {"alpha": 3}}, "model_params .*alpha.* need a named model"),
    ({"model": "ridge", "model_params": {"num_rounds": 3}}, "unknown setting.*num_rounds.*ridge"),
    ("yes", "screen must be a dict"),
])
def test_bad_screen_options_are_one_line_errors(option, message):
    with pytest.raises(ConfigError, match=message):
        strategies.create("evolution", screen=option)


def test_resolve_screen_reads_what_search_json_records():
    screen = resolve_screen({"type": "PredictorScreen", "candidates": 4})
    assert isinstance(screen, PredictorScreen) and screen.config["candidates"] == 4
    assert resolve_screen(None) is None


class ConstantScreen(PredictorScreen):
    """A screen of a user's own: a setting of its own beside the screen's."""

    def __init__(self, *, constant: float = 0.0, **options) -> None:
        super().__init__(**options)

    def predict(self, archs):
        return np.full((len(archs), len(self.objectives)), self.config["constant"])


def test_a_screen_subclass_passed_to_a_strategy_stays_that_class_with_its_settings():
    given = ConstantScreen(constant=3.0, candidates=4)
    screen = resolve_screen(given)
    assert type(screen) is ConstantScreen and screen is not given
    assert screen.config["constant"] == 3.0 and screen.config["candidates"] == 4
    strategy = strategies.create("evolution", pop_size=6, screen=ConstantScreen(constant=3.0, warmup=2))
    search(SPACE, strategy, HammingEvaluator(), budget=12, seed=0, progress=False, plots=False)
    assert type(strategy.screen) is ConstantScreen and strategy.screen.screened > 0  # its predict ran


class FixedScreen(PredictorScreen):
    """A subclass with a fixed constructor of its own (no ``**options``)."""

    def __init__(self, *, k: int = 5) -> None:
        super().__init__(candidates=k)


def test_a_screen_subclass_with_a_fixed_constructor_describes_itself_by_its_own_settings():
    assert FixedScreen(k=3).get_params(deep=False) == {"k": 3}


def test_a_search_json_naming_a_screen_subclass_is_a_one_line_error():
    with pytest.raises(ConfigError, match="'ConstantScreen' is a subclass of PredictorScreen"):
        resolve_screen({"type": "ConstantScreen", "constant": 3.0})


def test_extra_features_come_from_an_evaluator():
    evaluator = HammingEvaluator()
    evaluator.setup(SPACE)
    screen = PredictorScreen(warmup=5, features="zdt", explore=0.0).setup(SPACE, evaluator.objectives)
    archs = [SPACE.sample(np.random.default_rng(k)) for k in range(8)]
    screen.observe(archs, evaluator.evaluate(archs))
    assert np.asarray(screen.rows).shape == (8, 8 + 3)  # the genes, then f1, f2, genes of the zdt evaluator
    assert screen.predict(archs[:3]).shape == (3, 1)


def test_screened_search_from_the_command_line(tmp_path, capsys):
    from evonas.cli import main

    run = tmp_path / "run"
    assert main(["search", "--space", "nb201", "--strategy", "evolution", "--evaluator", "nb201-table",
                 "--budget", "60", "--seed", "1", "--strategy-opt", 'screen={"candidates": 5, "warmup": 20}',
                 "--run-dir", str(run), "--quiet"]) == 0
    record = json.loads((run / "search.json").read_text())
    assert record["strategy_options"]["screen"] == {"candidates": 5, "warmup": 20}
    assert main(["search", "--resume", str(run), "--budget", "80", "--quiet"]) == 0
    assert len((run / "history.csv").read_text().splitlines()) == 81
    capsys.readouterr()
    assert main(["search", "--space", "nb201", "--strategy", "nsga2", "--evaluator", "nb201-table", "--objectives",
                 "accuracy:max", "params:min", "--budget", "40", "--pop-size", "10", "--quiet",
                 "--strategy-opt", 'screen={"candidats": 5}']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "candidats" in err


def test_objectives_are_learned_in_minimisation_form():
    screen = PredictorScreen(warmup=2).setup(SPACE, (Objective("a", "max"), Objective("b", "min")))
    screen.observe([(0,) * 8, (1,) * 8, (2,) * 8], [{"a": 1.0, "b": 2.0}, {"a": float("nan"), "b": 1.0},
                                                      {"a": 3.0, "b": 4.0}])
    assert screen.values == [[-1.0, 2.0], [-3.0, 4.0]]  # the gated (NaN) row teaches nothing


def test_hypervolume_order_takes_the_largest_predicted_gains_one_after_another():
    from evonas.screening import hypervolume_order

    known = np.asarray([[0.0, 1.0], [1.0, 0.0]])  # two corners of the unit square (minimisation)
    F = np.asarray([[0.9, 0.9],  # adds a little alone, nothing once row 1 is chosen
                    [0.5, 0.5],  # the middle: the largest gain
                    [0.52, 0.52],  # nearly as large alone, nothing once row 1 is chosen
                    [0.2, 0.8],  # between the corner (0, 1) and the middle: still adds after row 1
                    [1.2, 1.2]])  # dominated by the corners: adds nothing
    # greedy: the middle, then the only row still adding volume; then the rest by rank (row 2 is dominated by
    # row 1 only, row 0 by rows 1 and 2, row 4 by everything)
    assert hypervolume_order(F, known, 3) == [1, 3, 2, 0, 4]
    assert hypervolume_order(F, known, 1) == [1, 3, 2, 0, 4][:1] + [3, 2, 0, 4]
    assert hypervolume_order(F[[0, 2, 3]], known, 2)[:2] == [1, 2]  # without the middle: (0.52, 0.52), (0.2, 0.8)
    # each gain is counted against the front with the rows chosen before: after (0.4, 0.4), the point beside it
    # (0.42, 0.38) adds a sliver only, so the two wings come first (rank and crowding see no such difference)
    F = np.asarray([[0.42, 0.38], [0.1, 0.75], [0.4, 0.4], [0.7, 0.1]])
    assert hypervolume_order(F, known, 4) == [2, 3, 1, 0] and predicted_order(F, known) == [1, 3, 2, 0]


def test_objectives_the_feature_evaluator_reports_are_taken_exactly():
    from evonas.evaluators.tabular import NB201TableEvaluator
    from evonas.spaces.nb201 import NB201Space

    space, objectives = NB201Space(), (Objective("accuracy", "max"), Objective("params", "min"))
    table = NB201TableEvaluator(cost=True)
    table.setup(space)
    rng = np.random.default_rng(0)
    train, test = [space.sample(rng) for _ in range(30)], [space.sample(rng) for _ in range(40)]
    screens = {exact: PredictorScreen(warmup=5, features="analytic-cost", feature_options={"metrics": ["params"]},
                                      exact_features=exact).setup(space, objectives) for exact in (True, False)}
    truth = np.asarray([r["params"] for r in table.evaluate(test)])
    predicted = {}
    for exact, screen in screens.items():
        screen.observe(train, table.evaluate(train))
        predicted[exact] = screen.predict(test)
    assert np.array_equal(predicted[True][:, 1], truth)  # params: counted, not predicted
    assert screens[True]._models[1] is None and screens[False]._models[1] is not None
    assert not np.array_equal(predicted[False][:, 1], truth)  # a regressor's guess is not exact
    assert np.array_equal(predicted[True][:, 0], predicted[False][:, 0])  # accuracy is predicted either way


def test_several_feature_evaluators_are_merged_and_their_objectives_taken_exactly():
    evaluator = ZDTEvaluator()
    evaluator.setup(SPACE)
    screen = PredictorScreen(warmup=5, features=["zdt", "hamming"], feature_options={"hamming": {"target": (2,) * 8}},
                             explore=0.0).setup(SPACE, evaluator.objectives)
    archs = [SPACE.sample(np.random.default_rng(k)) for k in range(8)]
    screen.observe(archs, evaluator.evaluate(archs))
    assert np.asarray(screen.rows).shape == (8, 8 + 3 + 1)  # the genes, f1, f2, genes (zdt), similarity
    others = [SPACE.sample(np.random.default_rng(100 + k)) for k in range(5)]
    truth = np.asarray([[r["f1"], r["f2"]] for r in evaluator.evaluate(others)])
    assert np.array_equal(screen.predict(others), truth)  # both objectives are zdt's own: none is predicted
    with pytest.raises(ConfigError, match="feature_options maps each name"):
        PredictorScreen(features=["zdt"], feature_options={"target": (1,) * 8})


def test_path_encoding_joins_the_model_inputs_where_the_space_has_one():
    from evonas.evaluators.tabular import NB201TableEvaluator
    from evonas.spaces.nb201 import NB201Space

    space = NB201Space()
    table = NB201TableEvaluator(cost=False)
    table.setup(space)
    plain = PredictorScreen(warmup=5, explore=0.0).setup(space, table.objectives)
    paths = PredictorScreen(warmup=5, explore=0.0, path_encoding=True).setup(space, table.objectives)
    archs = [space.sample(np.random.default_rng(k)) for k in range(8)]
    for screen in (plain, paths):
        screen.observe(archs, table.evaluate(archs))
    assert np.asarray(paths.rows).shape == (8, np.asarray(plain.rows).shape[1] + 84)
    assert np.array_equal(np.asarray(paths.rows)[:, -84:], space.path_encoding(archs))
    assert paths.predict(archs[:3]).shape == (3, 1)
    with pytest.raises(ConfigError, match="path_encoding.*HasPathEncoding.*ToySpace"):
        PredictorScreen(path_encoding=True).setup(SPACE, [Objective("f", "min")])


@pytest.mark.parametrize("model", ["xgboost", "lightgbm", "ridge"])
def test_feature_values_that_are_not_finite_are_missing_not_zero(model):
    """jacov is -inf for a network whose output ignores its input, the worst score there is: the screen passes
    it to the regressor as missing (NaN), not as 0, which would rank above every finite (negative) jacov."""
    evaluator = HammingEvaluator(target=(1,) * 8)
    evaluator.setup(SPACE)
    screen = PredictorScreen(warmup=5, features="zdt", explore=0.0, exact_features=False,
                             model=model).setup(SPACE, evaluator.objectives)
    scores = {0: -np.inf, 1: np.inf, 2: np.nan}
    screen._feature_results = lambda archs: [{"proxy": scores.get(int(a[0]), -10.0 - float(sum(a)))} for a in archs]
    archs = [SPACE.sample(np.random.default_rng(k)) for k in range(40)]
    screen.observe(archs, evaluator.evaluate(archs))
    proxy = np.asarray(screen.rows)[:, -1]
    assert np.array_equal(np.isnan(proxy), [int(a[0]) in scores for a in archs])
    assert np.all(proxy[~np.isnan(proxy)] < -10)
    assert np.all(np.isfinite(screen.predict(archs)))


def test_fit_target_log_gap_is_monotone_and_maps_back_to_the_values():
    from evonas.screening import fit_target

    y = np.asarray([-84.0, -80.0, -10.0, -83.5, -84.0])  # accuracies in minimisation form
    t, inverse = fit_target(y, "log-gap")
    assert np.allclose(inverse(t), y) and np.array_equal(np.argsort(t, kind="stable"), np.argsort(y, kind="stable"))
    # the log stretches the gaps among the best and shrinks those among the worst
    assert t[3] - t[0] > (t[2] - t[1]) / 10
    assert inverse(np.asarray([t.min() - 50.0]))[0] > y.min() - 0.01 * 74.0 - 1e-9  # at most c past the best
    same, back = fit_target(np.full(3, 2.0), "log-gap")
    assert np.all(np.isfinite(same)) and np.allclose(back(same), 2.0)
    values, identity = fit_target(y, "value")
    assert np.array_equal(values, y) and identity(values) is values


def test_the_log_gap_target_ranks_the_best_cells_better():
    """On the NAS-Bench-201 table, a ridge screen fitted on 60 random cells: among the best 30 % of 400 unseen
    cells, the log-gap target ranks accuracies much better than the values as measured (which spend the fit on
    how bad the worst cells are)."""
    from scipy.stats import kendalltau

    from evonas.evaluators.tabular import NB201TableEvaluator
    from evonas.spaces.nb201 import NB201Space

    space, table = NB201Space(), NB201TableEvaluator(cost=False)
    table.setup(space)
    rng = np.random.default_rng(0)
    train, test = [space.sample(rng) for _ in range(60)], [space.sample(rng) for _ in range(400)]
    truth = np.asarray([r["accuracy"] for r in table.evaluate(test)])
    best = truth >= np.quantile(truth, 0.7)
    tau = {}
    for target in ("value", "log-gap"):
        screen = PredictorScreen(warmup=2, target=target).setup(space, table.objectives)
        screen.observe(train, table.evaluate(train))
        predicted = -screen.predict(test)[:, 0]
        tau[target] = kendalltau(predicted[best], truth[best])[0]
    assert tau["log-gap"] > tau["value"] + 0.05, tau


def test_the_auto_model_is_ridge_where_every_gene_is_a_category():
    from evonas.spaces.nb201 import NB201Space

    objectives = [Objective("f", "min")]
    assert PredictorScreen().setup(NB201Space(), objectives).model_name == "ridge"
    assert PredictorScreen().setup(SPACE, objectives).model_name == "xgboost"  # no bounds: genes are not one-hot
    assert PredictorScreen(model="lightgbm").setup(NB201Space(), objectives).model_name == "lightgbm"
    assert PredictorScreen().config["model"] == "auto"  # what the run records


def test_a_screen_saved_before_target_and_auto_resumes_as_it_was():
    import pickle

    screen = fitted_screen(model="xgboost", target="log-gap")
    state = pickle.loads(pickle.dumps(screen)).__dict__
    del state["config"]["target"], state["model_name"]  # as a checkpoint of an older evonas holds it
    old = PredictorScreen.__new__(PredictorScreen)
    old.__setstate__(state)
    assert old.config["target"] == "value" and old.model_name == "xgboost"
    assert old.predict([(1,) * 8]).shape == (1, 1)
