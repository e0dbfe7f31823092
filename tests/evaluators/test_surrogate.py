"""Surrogates fitted on evonas runs (evonas.evaluators.surrogate)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.surrogate import (
    REGRESSORS,
    Regressor,
    SurrogateEvaluator,
    SurrogateModel,
    encode_features,
    feature_layout,
    fit_surrogate,
    read_history,
    register_regressor,
)
from evonas.loop import search
from evonas.registry import evaluators
from evonas.spaces.darts import DartsSpace
from evonas.testing import HammingEvaluator, ToySpace

OP_VALUE = {"sep_conv_3x3": 1.0, "sep_conv_5x5": 0.8, "dil_conv_3x3": 0.5, "dil_conv_5x5": 0.4,
            "max_pool_3x3": -0.2, "avg_pool_3x3": -0.3, "skip_connect": -0.8}


def synthetic(g) -> float:
    """A known per-edge objective: conv-heavy cells score high, skip-heavy ones low; reduce cells count half."""
    return sum(OP_VALUE[op] for op, _ in g.normal) + 0.5 * sum(OP_VALUE[op] for op, _ in g.reduce)


@pytest.fixture(scope="module")
def darts_pairs():
    space, rng = DartsSpace(), np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(400)]
    return space, [(a, synthetic(a)) for a in archs]


@pytest.mark.parametrize("model", ["xgboost", "lightgbm"])
def test_surrogate_recovers_a_known_ranking_on_held_out_architectures(darts_pairs, model):
    space, pairs = darts_pairs
    surrogate, report = fit_surrogate(pairs, space=space, objective="synthetic:max", model=model, seed=0)
    assert report["n_test"] == 80 and report["n_train"] == 320 and report["refit_on_all"]
    assert report["kendall_tau"] > 0.5 and report["spearman"] > 0.65 and report["r2"] > 0.4
    rng = np.random.default_rng(7)
    fresh = [space.sample(rng) for _ in range(50)]
    from scipy.stats import kendalltau

    assert kendalltau(surrogate.predict(fresh, space), [synthetic(a) for a in fresh])[0] > 0.5


def test_one_hot_layout_for_darts_genes():
    layout = feature_layout(DartsSpace())
    assert layout["length"] == 32 and len(layout["onehot"]) == 32
    X = encode_features(np.stack([DartsSpace().encode("DARTS_V2")]), layout)
    assert X.shape == (1, 32 + 2 * (2 * (2 + 3 + 4 + 5) + 8 * 7))
    assert X[:, 32:].sum() == 32  # one hot per gene


def test_save_load_round_trip_and_evaluator(darts_pairs, tmp_path):
    space, pairs = darts_pairs
    surrogate, _ = fit_surrogate(pairs[:120], space=space, objective="synthetic:max", seed=1)
    path = surrogate.save(tmp_path / "synthetic.ubj")
    assert (tmp_path / "synthetic.ubj.json").is_file()
    loaded = SurrogateModel.load(path)
    archs = [a for a, _ in pairs[120:160]]
    np.testing.assert_array_equal(loaded.predict(archs, space), surrogate.predict(archs, space))
    assert loaded.objective == surrogate.objective and loaded.report == surrogate.report

    evaluator = evaluators.create("surrogate", path=str(path))
    assert [str(o) for o in evaluator.objectives] == ["predicted_synthetic (max)"]
    evaluator.setup(space)
    batch = evaluator.evaluate(archs)
    assert batch == [evaluator.evaluate([a])[0] for a in archs[:5]] + batch[5:]
    np.testing.assert_allclose([r["predicted_synthetic"] for r in batch], surrogate.predict(archs, space))
    assert SurrogateEvaluator(path=path, objective="score").objectives[0].direction == "max"


def test_corrupt_missing_or_mismatched_files_raise(darts_pairs, tmp_path):
    space, pairs = darts_pairs
    surrogate, _ = fit_surrogate(pairs[:60], space=space, objective="synthetic", model="ridge", seed=0)
    path = surrogate.save(tmp_path / "s.bin")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="does not match its sidecar"):
        SurrogateModel.load(path)
    path.write_bytes(data)
    sidecar = tmp_path / "s.bin.json"
    sidecar.write_text("{not json")
    with pytest.raises(CheckpointError, match="not a surrogate sidecar"):
        SurrogateModel.load(path)
    sidecar.unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        SurrogateModel.load(path)
    surrogate.save(path)
    with pytest.raises(CheckpointError, match="encoding length 32"):
        SurrogateEvaluator(path=path).setup(ToySpace(length=12, choices=4))


def test_fit_from_history_csv_of_a_search(tmp_path):
    space = ToySpace(length=10, choices=4)
    from evonas.strategies.random_search import RandomSearch

    search(space, RandomSearch(batch_size=40), HammingEvaluator(), budget=160, seed=0,
                  run_dir=tmp_path / "run", progress=False, plots=False)
    rows, direction = read_history(tmp_path / "run", space, "similarity")
    assert len(rows) >= 160 and direction == "max"
    surrogate, report = fit_surrogate(tmp_path / "run" / "history.csv", space=space, objective="similarity",
                                      seed=0)
    assert surrogate.objective.direction == "max"  # taken from the run's config.json
    assert report["n"] == len({space.key(a) for a, _ in rows}) and report["kendall_tau"] > 0.5
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        assert "arch" in next(csv.reader(handle))
    with pytest.raises(ConfigError, match="no 'accuracy' column"):
        fit_surrogate(tmp_path / "run", space=space, objective="accuracy")


def test_surrogate_drives_a_search(darts_pairs, tmp_path):
    from evonas.strategies.pymoo_moo import PymooStrategy

    space, pairs = darts_pairs
    surrogate, _ = fit_surrogate(pairs, space=space, objective="synthetic:max", model="ridge", seed=0)
    result = search(space, PymooStrategy(algorithm="ga", pop_size=20), SurrogateEvaluator(model=surrogate),
                           budget=200, seed=0, progress=False)
    best = result.best["predicted_synthetic"]
    assert synthetic(best.arch) > np.quantile([v for _, v in pairs], 0.95)


def test_custom_regressor_and_errors(darts_pairs):
    space, pairs = darts_pairs

    @register_regressor("mean-test")
    class Mean(Regressor):
        def fit(self, X, y, seed):
            self.value = float(np.mean(y))
            return self

        def predict(self, X):
            return np.full(len(X), self.value)

        def to_bytes(self):
            return json.dumps(self.value).encode()

        @classmethod
        def from_bytes(cls, data):
            model = cls()
            model.value = json.loads(data)
            return model

    try:
        surrogate, report = fit_surrogate(pairs[:50], space=space, objective="synthetic", model="mean-test")
        assert np.isnan(report["kendall_tau"]) or abs(report["kendall_tau"]) < 1e-9
        assert report["model"] == "mean-test"
    finally:
        REGRESSORS.pop("mean-test")
    with pytest.raises(ConfigError, match="unknown surrogate model 'forest'; valid: lightgbm, ridge, xgboost"):
        fit_surrogate(pairs, space=space, objective="synthetic", model="forest")
    with pytest.raises(ConfigError, match="at least 5 distinct"):
        fit_surrogate(pairs[:3], space=space, objective="synthetic")
    with pytest.raises(ConfigError, match="needs path="):
        SurrogateEvaluator()


def test_the_fitted_space_is_identified_by_its_settings_not_its_repr(darts_pairs, tmp_path, caplog, monkeypatch):
    space, pairs = darts_pairs
    surrogate, _ = fit_surrogate(pairs[:60], space=space, objective="synthetic", model="ridge", seed=0)
    path = surrogate.save(tmp_path / "s.bin")
    assert json.loads((tmp_path / "s.bin.json").read_text())["space"]["type"] == "DartsSpace"
    monkeypatch.setattr(DartsSpace, "__repr__", lambda self: "the DARTS space")  # cosmetic: no warning
    with caplog.at_level("WARNING"):
        SurrogateModel.load(path).check_space(DartsSpace())
        assert "surrogate fitted on" not in caplog.text
        # a setting that keeps the encoding's layout but is another space: named
        SurrogateModel.load(path).check_space(DartsSpace(shared_cell=False))
    assert "shared_cell differ" in caplog.text
    # a sidecar an older evonas wrote holds the space's repr text: it still loads and scores
    sidecar = json.loads((tmp_path / "s.bin.json").read_text())
    (tmp_path / "s.bin.json").write_text(json.dumps({**sidecar, "space": "DartsSpace()"}))
    old = SurrogateModel.load(path)
    old.check_space(DartsSpace())
    np.testing.assert_array_equal(old.predict([pairs[0][0]], space), surrogate.predict([pairs[0][0]], space))


def test_ridge_fills_a_missing_value_and_learns_what_missing_means():
    """A proxy that is missing where the network is dead (the worst rows): ridge fills it with the column's mean
    and gives the missing flag a weight of its own, so a dead row is predicted as bad as the dead rows were (taken
    as 0, above every finite value of the proxy, it was predicted better than them: 19.6 for 25). Saved and
    loaded, it predicts the same; coefficients saved before (a bare list) still load."""
    from evonas.evaluators.surrogate import RidgeRegressor

    rng = np.random.default_rng(0)
    proxy = rng.uniform(-20.0, -10.0, size=80)
    y = -proxy + rng.normal(0.0, 0.1, size=80)  # minimisation form: a higher proxy is better
    dead = np.arange(80) % 8 == 0
    proxy[dead], y[dead] = -np.inf, 25.0  # dead networks: the worst
    X = np.stack([proxy, rng.normal(size=80)], axis=1)
    model = RidgeRegressor(alpha=0.1).fit(np.where(np.isfinite(X), X, np.nan), y, seed=0)
    test = np.asarray([[np.nan, 0.0], [-10.0, 0.0], [-20.0, 0.0]])
    predicted = model.predict(test)
    assert predicted[0] > 22.0 and predicted[0] > predicted[2] > predicted[1]
    assert np.allclose(RidgeRegressor.from_bytes(model.to_bytes()).predict(test), predicted)
    old = RidgeRegressor.from_bytes(b"[1.0, 2.0, 3.0]")
    assert np.allclose(old.predict(np.asarray([[1.0, np.nan]])), [1.0 + 3.0])
