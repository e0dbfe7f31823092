"""NAS-Bench-301 encoding, model-file reading and scoring (evonas.evaluators.nb301).

What is checked against the official package, and how:

* Always (no network): the 56-value model input of DARTS_V2 and 200
  SHA-256-generated genotypes equals, bit for bit in float32 (what xgboost
  sees), the vectors the package's own code produced with ConfigSpace 0.4.12
  (the version it pins): ``representations.convert_genotype_to_config`` +
  ``api.fixed_hyperparameters`` + ``surrogate_models.utils.ConfigLoader`` +
  ``get_array()`` + NaN -> -1 (REF_DIGEST / REF_DARTS_V2 below; produced in a
  separate Python 3.11 env with numpy 1.26, ConfigSpace 0.4.12 rebuilt from
  its sdist, the ConfigLoader class exec'd from the wheel's utils.py).
* Always: members pickled by xgboost 1.2.1 and LightGBM 3.0.0 (the format of
  the 2020 model files; one xgboost tree has pruned "deleted" nodes), in the
  official folder layout, score as the package's ``query_mean`` did with
  those libraries (LEGACY_* below).
* With the nasbench301 wheel (``pip download nasbench301==0.3``, skipped
  when pip cannot reach PyPI): hyperparameter order, choices, conditions,
  ConfigLoader's replaced ranges and the fixed hyperparameters, read from
  the wheel's own files, and ``convert_genotype_to_config`` run on 300
  genotypes. The full ConfigSpace path runs only where ConfigSpace 0.4.x
  imports: ConfigSpace >= 1.0 cannot read the package's configspace.json
  (normal_float without bounds) and 0.4.12 does not build on Python >= 3.11
  unpatched.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import json
import pickle
import subprocess
import sys
import zipfile
import zlib
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from evonas.errors import CheckpointError, ConfigError, GenotypeError
from evonas.evaluators.nb301 import (
    FEATURE_NAMES,
    FIXED_HYPERPARAMETERS,
    NB301_OPS,
    NB301Evaluator,
    check_nb301_genotype,
    nb301_array,
    nb301_config,
    nb301_features,
)
from evonas.spaces.darts import DartsSpace, Genotype, get_genotype, nb301_encoding
from evonas.spaces.darts.genotype import resolve_genotype

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")


def hash_cells(n, seed="evonas-nb301"):
    """n (normal, reduce) cell pairs from SHA-256 bytes: stable across Python and numpy versions."""
    out = []
    for k in range(n):
        it = iter(hashlib.sha256(f"{seed}-{k}".encode()).digest())
        cells = []
        for _ in range(2):
            cell = []
            for node in range(4):
                a = next(it) % (node + 2)
                b = next(it) % (node + 1)
                b += b >= a
                cell += [(NB301_OPS[next(it) % 7], a), (NB301_OPS[next(it) % 7], b)]
            cells.append(cell)
        out.append(tuple(cells))
    return out


def hash_genotypes(n, seed="evonas-nb301"):
    return [Genotype(normal=normal, reduce=reduce) for normal, reduce in hash_cells(n, seed)]


# ------------------------------------------------------------ encoding vs ConfigSpace 0.4.12
def test_model_input_equals_the_package_with_configspace_0_4_12():
    X = nb301_features([get_genotype("DARTS_V2")] + hash_genotypes(200))
    assert X.shape == (201, 56)
    assert hashlib.sha256(X.astype("<f4").tobytes()).hexdigest() == REF_DIGEST
    np.testing.assert_allclose(X[0], REF_DARTS_V2, rtol=1e-14, atol=0)  # numpy's log differs by 1 ulp across builds


def test_array_marks_inactive_edges_nan_and_is_pair_order_free():
    g = get_genotype("DARTS_V2")
    a = nb301_array(g)
    assert np.isnan(a).sum() == 2 * 12 - 2 * 6  # each cell: 12 conditional edges, 6 active
    swapped = g.with_cells(normal=[g.normal[1], g.normal[0], *g.normal[2:]])
    np.testing.assert_array_equal(nb301_array(swapped), a)
    assert nb301_config(g)["NetworkSelectorDatasetInfo:darts:inputs_node_normal_5"] == "0_2"


# ------------------------------------------------------------ rejection rules
@pytest.mark.parametrize("spec, match", [
    ("RELATIVENAS", "both inputs are state"),
    ({"normal": [["sep_conv_7x7", 0], ["skip_connect", 1]] + [["sep_conv_3x3", 0], ["sep_conv_3x3", 1]] * 3,
      "reduce": [["max_pool_3x3", 0], ["skip_connect", 1]] * 4}, "sep_conv_7x7.*not one of NAS-Bench-301's 7 ops"),
    ({"normal": [["none", 0], ["skip_connect", 1]] * 4, "reduce": [["max_pool_3x3", 0], ["skip_connect", 1]] * 4},
     "not a NAS-Bench-301 genotype: .*'none'"),
    ({"normal": [["skip_connect", 0], ["skip_connect", 1]] * 4, "normal_concat": [2, 5],
      "reduce": [["max_pool_3x3", 0], ["skip_connect", 1]] * 4}, "normal_concat .* all four nodes"),
])
def test_unrepresentable_genotypes_raise_naming_the_problem(spec, match):
    with pytest.raises(GenotypeError, match=match):
        check_nb301_genotype(spec)
    with pytest.raises(GenotypeError):
        nb301_features([spec])
    try:
        genotype = resolve_genotype(spec, allow_duplicate_inputs=True)
    except GenotypeError:  # not even a DARTS genotype
        return
    for _ in range(2):  # a rejected genotype is rejected every time it is checked
        with pytest.raises(GenotypeError, match=match):
            check_nb301_genotype(genotype)


def test_a_checked_genotype_passes_again_as_itself():
    g = DartsSpace().sample(np.random.default_rng(3))
    assert check_nb301_genotype(g) is g and check_nb301_genotype(g) is g
    assert check_nb301_genotype(g.to_dict()) == g


def test_duplicate_inputs_name_cell_and_node():
    cell = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 2 + [("skip_connect", 2), ("skip_connect", 2)] + \
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]
    g = Genotype(normal=cell, reduce=cell, allow_duplicate_inputs=True)
    with pytest.raises(GenotypeError, match=r"normal cell, node 2 \(state 4\): both inputs are state 2"):
        check_nb301_genotype(g)


# ------------------------------------------------------------ official layout, legacy pickles
def _write_member(folder: Path, booster, model: str, seed: int = 0, raw: bytes | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "surrogate_model.model").write_bytes(raw if raw is not None else pickle.dumps(booster))
    (folder / "model_config.json").write_text(json.dumps({"model": model, "param:max_depth": 3}))
    (folder / "data_config.json").write_text(json.dumps({"seed": seed}))


def test_xgboost_1_2_and_lightgbm_3_0_pickles_score_as_the_package(tmp_path):
    for i in range(2):
        _write_member(tmp_path / "xgb_v1.0" / f"ensemble_member_{i}", None, "xgb", i,
                      raw=zlib.decompress(base64.b64decode("".join(LEGACY_BLOBS[f"xgb_{i}"]))))
        _write_member(tmp_path / "lgb_runtime_v1.0" / f"ensemble_member_{i}", None, "lgb_time", i,
                      raw=zlib.decompress(base64.b64decode("".join(LEGACY_BLOBS[f"lgb_{i}"]))))
    evaluator = NB301Evaluator(tmp_path, cost=False)
    evaluator.setup(DartsSpace())
    results = evaluator.evaluate(hash_genotypes(12, seed="query"))
    np.testing.assert_allclose([r["nb301_accuracy"] for r in results], LEGACY_ACCURACY, rtol=0, atol=1e-4)
    np.testing.assert_allclose([r["nb301_std"] for r in results], LEGACY_STD, rtol=0, atol=1e-4)
    np.testing.assert_allclose([r["nb301_runtime"] for r in results], LEGACY_RUNTIME, rtol=1e-12)


# ------------------------------------------------------------ test-built model directory
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """xgb_v1.0 (3 xgboost members) + lgb_runtime_v1.0 (2 LightGBM members) trained on random genotypes."""
    root = tmp_path_factory.mktemp("models") / "nb_models_1.0"
    genotypes = hash_genotypes(300, seed="train")
    X = nb301_features(genotypes)
    ops = X[:, [FEATURE_NAMES.index(n) for n in FEATURE_NAMES if "edge_" in n]]
    y = 93.0 + 0.3 * (ops >= 3).sum(1) / 4 - 0.4 * (ops == 2).sum(1) / 4
    seconds = 3000.0 + 150.0 * (ops >= 3).sum(1)
    rng = np.random.default_rng(0)
    for i in range(3):
        booster = xgb.train({"max_depth": 4, "eta": 0.3, "seed": i, "nthread": 1, "subsample": 0.8},
                            xgb.DMatrix(X, label=y + rng.normal(0, 0.05, len(y))), num_boost_round=20)
        _write_member(root / "xgb_v1.0" / f"surrogate_model_{i}", booster, "xgb", i)
    for i in range(2):
        booster = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1, "seed": i,
                             "min_data_in_leaf": 10}, lgb.Dataset(X, label=seconds), num_boost_round=15)
        _write_member(root / "lgb_runtime_v1.0" / f"surrogate_model_{i}", booster, "lgb_time", i)
    return root


def test_batch_equals_one_at_a_time_and_runs_are_deterministic(model_dir):
    archs = [get_genotype("DARTS_V2"), get_genotype("DAP_BEST_EVOLUTIONARY")] + hash_genotypes(20, seed="q")
    first = NB301Evaluator(model_dir, cost=False)
    first.setup(DartsSpace())
    batch = first.evaluate(archs)
    assert [first.evaluate([a])[0] for a in archs] == batch
    again = NB301Evaluator(str(model_dir.parent), cost=False)  # the parent of nb_models_1.0 works too
    again.setup(DartsSpace())
    assert again.evaluate(archs) == batch
    assert all(92.0 < r["nb301_accuracy"] < 94.5 and r["nb301_runtime"] > 2900 for r in batch)
    assert first.objectives[0].name == "nb301_accuracy" and first.objectives[0].direction == "max"


def test_noisy_scores_are_seeded_per_genotype(model_dir):
    archs = hash_genotypes(30, seed="noise")

    def scores(seed, order=slice(None)):
        ev = NB301Evaluator(model_dir, noisy=True, seed=seed, runtime=False, cost=False)
        ev.setup(DartsSpace())
        return {a.key(): r["nb301_accuracy"] for a, r in zip(archs[order], ev.evaluate(archs[order]))}

    base = NB301Evaluator(model_dir, runtime=False, cost=False)
    base.setup(DartsSpace())
    mean = {a.key(): r for a, r in zip(archs, base.evaluate(archs))}
    assert scores(1) == scores(1, slice(None, None, -1))  # any batch order
    assert scores(1) != scores(2)
    z = [(scores(1)[k] - r["nb301_accuracy"]) / r["nb301_std"] for k, r in mean.items() if r["nb301_std"] > 0]
    assert abs(np.mean(z)) < 0.8 and 0.4 < np.std(z) < 1.8  # mean + N(0, member std), as query()


def test_cost_columns_equal_full_network_counts(model_dir):
    from evonas.counting import count_macs, count_params
    from evonas.spaces.darts import NetworkCIFAR

    ev = NB301Evaluator(model_dir, runtime=False)
    ev.setup(DartsSpace())
    archs = [get_genotype("DARTS_V2"), hash_genotypes(1, seed="cost")[0]]
    for arch, row in zip(archs, ev.evaluate(archs)):
        net = NetworkCIFAR(36, 10, 20, False, arch)
        assert (row["params"], row["flops"]) == (count_params(net), count_macs(net))
    assert ev.evaluate(archs[:1])[0]["params"] == 3349342  # DARTS' published size


def test_missing_files_list_the_expected_layout(model_dir, tmp_path):
    with pytest.raises(CheckpointError, match=r"(?s)does not exist.*xgb_v1.0/<member>/surrogate_model.model"):
        NB301Evaluator(tmp_path / "nowhere").setup(DartsSpace())
    with pytest.raises(CheckpointError, match=r"(?s)has no xgb_v0.9/ folder.*lgb_runtime_v0.9"):
        NB301Evaluator(model_dir, version="0.9").setup(DartsSpace())
    with pytest.raises(ConfigError, match="needs model_dir"):
        NB301Evaluator().setup(DartsSpace())
    (tmp_path / "xgb_v1.0" / "m0").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="no ensemble member found"):
        NB301Evaluator(tmp_path).setup(DartsSpace())
    (tmp_path / "xgb_v1.0" / "m0" / "surrogate_model.model").write_bytes(b"\x80\x04garbage")
    with pytest.raises(CheckpointError, match="model_config.json is missing"):
        NB301Evaluator(tmp_path).setup(DartsSpace())
    _write_member(tmp_path / "xgb_v1.0" / "m0", None, "xgb", raw=b"\x80\x04garbage")
    with pytest.raises(CheckpointError, match="truncated or not a pickled model"):
        NB301Evaluator(tmp_path).setup(DartsSpace())
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(np.zeros((4, 56)), label=np.zeros(4)), 1)
    _write_member(tmp_path / "xgb_v1.0" / "m0", booster, "xgb")
    with pytest.raises(CheckpointError, match="(?s)no lgb_runtime_v1.0/ folder .*runtime=False"):
        NB301Evaluator(tmp_path).setup(DartsSpace())
    NB301Evaluator(tmp_path, runtime=False).setup(DartsSpace())
    _write_member(tmp_path / "xgb_v1.0" / "m0", booster, "gnn_gin")
    with pytest.raises(CheckpointError, match="'gnn_gin' is not a gradient-boosting ensemble"):
        NB301Evaluator(tmp_path, runtime=False).setup(DartsSpace())


def test_pickles_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    _write_member(tmp_path / "xgb_v1.0" / "m0", Evil(), "xgb")
    with pytest.raises(CheckpointError, match="does not hold a pickled"):
        NB301Evaluator(tmp_path, runtime=False).setup(DartsSpace())


def test_registered_and_searchable(model_dir):
    from evonas.loop import search
    from evonas.registry import evaluators
    from evonas.strategies.pymoo_moo import PymooStrategy

    ev = evaluators.create("nb301", model_dir=str(model_dir), runtime=False, cost=False)
    result = search(DartsSpace(), PymooStrategy(algorithm="ga", pop_size=8), ev, budget=24, seed=0,
                           progress=False)
    assert len(result.individuals) >= 24 and result.best["nb301_accuracy"].values["nb301_accuracy"] > 92


# ------------------------------------------------------------ against the nasbench301 wheel
@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb301_wheel")
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "nasbench301==0.3", "--no-deps", "--retries", "0",
                        "--timeout", "15", "-d", str(folder)], check=True, capture_output=True, timeout=90)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"pip could not download the nasbench301 wheel to compare with ({type(exc).__name__})")
    path = next(folder.glob("nasbench301-*.whl"))
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder / "src")
    return folder / "src" / "nasbench301"


def test_layout_matches_the_package_configspace(wheel):
    space = json.loads((wheel / "configspace.json").read_text())
    assert [hp["name"] for hp in space["hyperparameters"]] == list(FEATURE_NAMES)
    loader = next(n for n in ast.parse((wheel / "surrogate_models" / "utils.py").read_text()).body
                  if isinstance(n, ast.ClassDef) and n.name == "ConfigLoader")
    replaced = {}
    for call in (n for n in ast.walk(loader) if isinstance(n, ast.Call) and getattr(n.func, "attr", "").endswith(
            "Hyperparameter")):
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        replaced[kw["name"]] = ("int" if "Integer" in call.func.attr else "float", kw["lower"], kw["upper"], False)
    assert len(replaced) == 4 and all(nb301_encoding._HPS[name] == spec for name, spec in replaced.items())
    for hp in space["hyperparameters"]:
        mine = nb301_encoding._HPS[hp["name"]]
        if hp["name"] in replaced:
            continue
        kind = {"categorical": "cat", "uniform_int": "int", "uniform_float": "float", "normal_float": "normal",
                "constant": "const"}[hp["type"]]
        expected = {"cat": (kind, tuple(hp.get("choices", ()))), "const": (kind, hp.get("value")),
                    "normal": (kind, hp.get("log")),
                    "int": (kind, hp.get("lower"), hp.get("upper"), hp.get("log")),
                    "float": (kind, hp.get("lower"), hp.get("upper"), hp.get("log"))}[kind]
        assert mine == expected, hp["name"]
    for condition in space["conditions"]:  # edge j of node k is active iff j is one of its inputs
        edge = int(condition["child"].rsplit("_", 1)[1])
        node = max(i for i, start in enumerate((0, 2, 5, 9)) if start <= edge)
        source = edge - (0, 2, 5, 9)[node]
        choices = nb301_encoding._HPS[condition["parent"]][1]
        assert condition["type"] == "IN" and condition["parent"].endswith(f"_{node + 2}")
        assert sorted(condition["values"]) == sorted(c for c in choices if str(source) in c.split("_"))


def test_fixed_hyperparameters_match_api_py(wheel):
    tree = ast.parse((wheel / "api.py").read_text())
    fixed = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "fixed_hyperparameters")
    as_bools = {k: {"True": True, "False": False}.get(v, v) if isinstance(v, str) else v for k, v in fixed.items()}
    assert as_bools == dict(FIXED_HYPERPARAMETERS)


def test_genotype_conversion_matches_representations_py(wheel):
    spec = importlib.util.spec_from_file_location("nb301_representations", wheel / "representations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    G = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    for normal, reduce in hash_cells(300, seed="convert"):
        expected = module.convert_genotype_to_config(G(normal, [2, 3, 4, 5], reduce, [2, 3, 4, 5]))
        assert nb301_config(Genotype(normal=normal, reduce=reduce)) == expected


def test_vectors_match_configspace_when_0_4_is_installed(wheel):
    cs = pytest.importorskip("ConfigSpace", reason="ConfigSpace 0.4.x (nasbench301's pin) is not installed")
    if not cs.__version__.startswith("0.4"):
        pytest.skip(f"ConfigSpace {cs.__version__} cannot read nasbench301's configspace.json; 0.4.x needed")
    import os

    import ConfigSpace.hyperparameters as CSH
    from ConfigSpace.read_and_write import json as cs_json

    tree = ast.parse((wheel / "surrogate_models" / "utils.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ConfigLoader")
    ns = dict(CS=cs, CSH=CSH, config_space_json_r_w=cs_json, np=np, os=os, json=json)
    exec(compile(ast.Module(body=[cls], type_ignores=[]), "utils.py", "exec"), ns)  # noqa: S102 - package code
    loader = ns["ConfigLoader"](str(wheel / "configspace.json"))
    for g in hash_genotypes(120, seed="live"):
        x = loader.query_config_dict({**FIXED_HYPERPARAMETERS, **nb301_config(g)}).get_array()
        np.testing.assert_allclose(x, nb301_array(g), rtol=1e-14, equal_nan=True)


# ------------------------------------------------------------ reference data (see module docstring)
REF_DIGEST = "2835c9927742b3d83edf600feb41cff724f93b01013f454aa1591f4afecb1c7a"
REF_DARTS_V2 = [
    0.5863451791322553, 0.0, 0.0, 0.0, 0.16666444442962952, 0.3099999239999697, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0,
    0.0, 0.0, 0.003149999006299998, 0.0, 0.0, 1.0, 2.0, 1.0, 4.0, 0.000749999001499998, 0.0, 0.0,
    -3.6888794541139363, 0.8988764044943821, -8.111728083308073, 0.009949999019899998, 1e-12, 0.0, 0.0,
    0.7051278400653053, -1.0, 5.0, -1.0, -1.0, 3.0, 3.0, -1.0, 2.0, 3.0, -1.0, -1.0, 2.0, 0.0, 2.0, -1.0,
    -1.0, -1.0, 0.0, 2.0, 0.0, -1.0, 2.0, -1.0, -1.0,
]
# xgboost 1.2.1 / LightGBM 3.0.0 members (zlib + base64 of pickle.dumps(booster), as XGBModel.save wrote them),
# and BaggingEnsemble.query_mean / np.std of their predictions for hash_genotypes(12, seed="query").
LEGACY_ACCURACY = [
    93.02201080322266, 93.03217315673828, 93.1328125, 93.2806396484375, 92.95304870605469, 93.2679214477539,
    93.0955581665039, 93.12906646728516, 93.4021987915039, 92.8607177734375, 93.16065216064453,
    93.31736755371094,
]
LEGACY_STD = [
    0.018585205078125, 0.05706787109375, 0.10426712036132812, 0.023693084716796875, 0.0374755859375,
    0.11468505859375, 0.01424407958984375, 0.039825439453125, 0.02599334716796875, 0.06334686279296875,
    0.0737762451171875, 0.00925827119499445,
]
LEGACY_RUNTIME = [
    3525.3759291756724, 3487.939991190018, 3424.9575734434025, 3542.2337834725213, 3455.053889389664,
    3525.3759291756724, 3542.2337834725213, 3515.580569867804, 3514.5932047947354, 3445.1997842849833,
    3504.390650852273, 3579.1456840602136,
]
LEGACY_BLOBS = {
    "xgb_0": [
        "eNrtmH9sE+cZxw+cBJq4NO3GxtZpG67KgmQi+2wHJySOfQZGhdRF1VhaReh4bb+2j57vrnfnkBRFM9NKJ+QxJq6oY1NpWTe16ogIGx0aTdJ1",
        "ULRVWjNpQrSl26SN8k81wTRWqRpiz/v4Yr85u/9NE6t6kt/c87zP9/3xvJ97771U2p6a/6yAV9U/UcjoumX3ZnWTOtUVEjOo6Rx21u9zppye",
        "akeRaDkVqlZmyopqK5rlVO/ITNqUmCaZhDjpt6sFIf21B7c+8NUNej5vUXvgO/5a6xlFywvCr6R4zRSWcX+XC//bq9v9a9LCgPVYmZg0R01T",
        "NztcfyFjm5S2caO8HS82trs4O34bjOkWXIsreqcgVAThy0m4rfigaKv7Xh1mse3w66j7diVBV1kB9sravMAnDLO27oBfJ/zCrg/arnTBDQNr",
        "bcPH2hFWwW8d+g4loc/KLfdi/e2I3XzF545x0Xdspj3R5om7MPLIXJsnTlizfbbdE7dp7QuJdk9cfHRzosMTZx2/MtThiZu+6h/8141/Qm5+",
        "nH7yvXCC+ZJP/hLszvT+LSfOMvvTvl+APZh+7q8/xPovdHWBfUq6+97VaD80fhzyuFmaPfPdOdRfHAa7KK04fRfmd9vhHfB3efrq+4kEt0TS",
        "jtjUbMPMScdmnuDqF1IXRt6aa9hnUsKaN7j4bmnT2p7hhn0yFR89x+n/KFnHKWe/mpq+Wh38uPN6XwteA257PK93o29liuf1vo/gdfZN8ayX",
        "1/7QrSEvrzOjHU28Zi6ceMXL640r65p4FVZ9cc7LKxl6fdDL6/19n0v8Y8aXFCrPpDffMznEfN/3fwVytTI9GPchH+f2nIQ8xdILU+24/qen",
        "j4L9M+nwwSMYf/Ked8C/Teo88DDyteutPw+jPXIA4y9+fRvYvvTOsaNDjRUypNk3T53l+ewPfZPja400M7qf4zWZylzYwPEal25c+SkXX0kK",
        "q57h4t+XyNBWrr+R1P19P0j8P/Da2YLXzha8drbgtcvV8rx2uRzyvHY1GK7z6nd9Xl7nnxdnvbx2tR9v4vX8u/uaeL0+6p/z8povr27iNVs5",
        "1LS/Xjq3adbL68sfLgxdmn8bcvOj9Jhi4fqePv8HsNvS+x64inxs/8Y02NH0vbHa/th2YnqY7a+913prPIz/DvxByf+td5AXY18I99svffB3",
        "jN//QSzJeD38vWMcPz3S/POnOP4Gpa72AMffpdT5d5fNczymro9WOR6fTuXLT3Hx11LZSje33+6SLp07y7V/RHr5w5ElvC6/TXn1t+DV34JX",
        "fwteN7hsLuPWOQi+QmDrXPN54GSy+TwgDHt57du/fsjL60FfbpbnlV3J10aW8Iqxl2827a9Od6qJ15eO3Bj08roxsaaJ13Xp9UO/n5UgNz9J",
        "Tx1YwPfle/Nv4Hng+qd+juv975uHwE6mr2feRt62/OkorPsZKfiXb6N97RHGTVwqBF5HnkYmLoL9sPSby6eQj+KLY8Osvc9/Zu1gY4VekPr2",
        "v8jxK6QO+v7G8RWUkq8t8PtrUrjMnx82S073rzlen02+dKTMtVeRNiae5uIdaV16SX9LzrOCux+xS8/spllbGadbXMfegEZKNDAQ8J7bA0Hm",
        "klXdsmSDmKQUGNgbsLJEpbKhW/IeqhSKNujCgampvQEVPlc0arKYAoUbJdsQUY1kQEUnDPCXqGYTVd5t6ZpsgU1U5XFiK7oGTYWgz4JRlpUc",
        "GBvCrmWQApUt5XHqRmgyeK26sVvP1A27aFKScy0Tvqv0kmzZxF6UWpTmuFsZBiQr8DXGD2AcRpQDSW38FGqt2ixhNCbJKTB+OVP7iMPZ4meN",
        "bJtE0RpT1solNFSVqjILwCaCAQOyq2RtyO5AgJRtHV16lkKO7UmDReVonpRVGyqwXRhAUWdjphMky7xlgw2O6QumvkfO6mqJPErNoGGWNdqo",
        "h9w+9hExMBF3yWtjZ8kwaFbJK5CRevN5olqU627v0raYY/HeO3ndsOUc1SzKohdz54khqlEkbsazJFukMqjcJIHKIiUDkMlMqnScqi38mp6j",
        "LdxuqkO9MahwUynnFJMxjyuMnEKdy2SeErtsUhnmVjYUreCOiNqk3kqBlEo1KxLCKywyL0uGoatKdhIXzbCLexSL5VLRGFDYH8xfs3DiNmMI",
        "KlVSyuSIO3AcC3Qqmy6h2F+JTMjwXQ+2GOtzbWgnD13Z9UjXn6OqTYBwaixxwmDAjrg2dDNOLS7Agn6zxdqc2VBCWAGrky0qao5/smtuy1AV",
        "GzeCpjSUdE23dY16ZtqzHnePvEmtIus/77bGNhR+5XGD4VOCC8lSUue+rCl53SyxukepDcOmRm0YIbG/dkUadfggs8wh08QEBNmWYBV1FZ/7",
        "XjG09MI+cXoUnvsyqT2ZVCWWDTuYRu2gO0MlyyLLmRpp2Fa8noepKfYYs2cLyP4E9E9A//iCzlB33/VyCdBUG6RnCIzCYv/mBFV/b2QL65O9",
        "CLPQS/0VDbbLInhg3bn2PE9O/SXbeE/lFAtpXgSezYVlEI4bbvs5nGTj7Vo/77Q64UDfNTGMbmznkuD/yrEI2h+H4wM+kGPhoBgM75xynnAe",
        "cqor3Mk51Y7a5JzqnYuPKOvYcnY6PdXl+ZADRZgVIisirIiyIsaKPlZsZEWcFf1O1ZcPh7AMYyliGcEyimUMyz4sN2IZxxK1ImpF1IqoFVEr",
        "olZErYhaEbUiakXURlAbQW0EtRHURlAbQW0EtRHURlAbQW0UtVHURlEbRW0UtVHURlEbRW0UtVHUxlAbQ20MtTHUxlAbizm0kVl2xLKcB6ur",
        "MtSyGwc/Z7uv2o0uDc9cqlJSbGd7WznT+x/YlT2q",
    ],
    "lgb_0": [
        "eNrNWVuP40gVnh2W2SWLhlmYFbNCAounXaG26upLRACxSEi0NEiIB6TRyKoklcSMY2dtp2d6pZXggctIflsjcfknvPEb+Ak88Svgq7Jdsbuz",
        "0iwPaNLppHyq6pyq853znbLzmzf/9Ldv3bGv5n6Wbnf1drn3l6pKV23z1o+Loqp12X7Wfvjb9tP2g+beTuXrTLe/evTozp261Hp2pcsqLfLF",
        "FZ/lx32yylRVLahtm/7koMskhQ5Vm1F0lqmlzpI0X+sXCzLbqxfJRqv6WOokXb9YSDkrlr/Wqzq90otSb0tdGe2zYUyu9rpafFRkx32eEK9v",
        "0KHBhgYfGmJoyKERDI1waERDI3YKT6qdbuqUU6edOvXU6afOAHUWqDNBnQ3mbLDT+p0N5mwwZ4M5G8zZYM4GczaYs8GdDe5s8JOTnA3ubHBn",
        "gzsb3NngzgZ3NoSzIZwN4WyIExLOhnA2hLMhnA3hbAhnQzob0tmQzoZ0NuQJbuliJs03RbXIi1x7X+jjCZkHT898Dp3MCqT9jJ+ekXxxk53q",
        "C2qNveZfM5veVfoJElIEkSeC0Ou+A/xz/LPZ7JcYgzQ3bJBpdWWGdjShaoirQ5bWQ/4vkHTIMcp68Val+YL7LCYR1d8jgUd9GVHG+jaPQy5N",
        "e1bvwBK7IlsvmC/J5CW8VxLN1nqVGp5J6uuDXjAPf7NMb+pktUuNXu8CbzorDT/2MupdcO9CYJjaJFcqO+oFFzH1QybiOOZEmobHJRV+ICPz",
        "ppEIQAlccuaHPGSE05CyGBmHUdynMboJj1gQCtmpfa6NwQWiP4JjQCJh2HWsimN+Q57mINlcZcNaJA18YVQz6SPluSTCD8VpWK+beIwYv48U",
        "dMo5mGXoqnZlmj9TW2A06zGlr44pxXuMKfMjGkgxYEp5GPRtEXES/p8wBX54swmm7DamF4z7IQ0lsIk4CyIGcr1gPqERjWEyDJkMAa6RMUoi",
        "HnAqqZSExUBG+oLFglFKCZWcxtEE1oB4sfRCjCNkDOtEfgNWglVTP46QY4EfI3jOAEoBNxZ3DtCh6wQo8R2k7BUh5bchRfQGQTCkKbwlor5N",
        "Scjj1ytNLxjwCxiRJApCEpEgAqTUD0KGhES+CnhIytijoc+liCHkMo6ZQJG84IhdZGwUS8qiWIRxPM3UwIsBAJFIzEmmjuW3II18GXLKLLQM",
        "r3OYIiIoj25hihI+dJ3FlL96mvIb1IswiyXvYSQ8kNK1SZe9rxOkBFFHaBwEyD6sNRYWUkoZ0OOUMCF5aPzks4jwkARhELAoim3i8jCMeRAT",
        "oEwEZVPyBYlHcA0JvYiOIZ3Ib0Ea+CFCybuIfU5YFJ5F1Pic3M7SU9dZRMUrIsosonxKvCB0MRRQRqLYkq0XhTRm9PVCk4ogjkPBOCANwVxA",
        "U1AiUM4s8UYSh2aUVpwCSBgTjoMHgA1NghIZCfwzHoiQMRpM0YywW6AWe2E8QXMsv4UmiCAiGAI4JQ1JfBbO4HwV5a7rLJzyf4eT+hEgHOoo",
        "iSLWZWho+Dd8jeCkIDgR4TwUiFgi94gtoTGwi7DWCEVJooJSJCLnqGyolyiqNI4tmmHERIQDAwlQWiMxpVuB5EMpIjdycyK/hab0IxmAkYEm",
        "CwIhzqKJ6fxMCQ1c1000db72io1nDsXV7HTvsT8UZa3yla7mM3f7uAhcmyEC3K0mAsDdgIK6ZwdV4n4XS8DkJ0tzL57m27m3Xa7rp7Mn7kZ5",
        "7p3ulCHHjDJdzb2M4cIe0uGaMtfl3Kt0maoM4rW+Slfa4jr3VoejEalazT004Kd0bVsmGt29ezX3cOh/YnVhGQmkmIvN9wO7GJ57or828afW",
        "EBAINkUJc6sCPk4rPZaVxfORbJdWdbHFrpNDgcHm7mKOEDO7Ui+StT7Uu+E6zROzZNzeGdObOU6rvbiC9Z1xh8pPvcQnxMxbqu3WLH9TqpXZ",
        "lumJID8UVXK7z25Obz+n5yTVH08lldZwYYgoNhvtg2E6+aY0WV7nxVp/TmenEIeQEL36RV0q+3ild28n6MZQGsZ2kCqz6wTuPBwsXIhgo8Eo",
        "T8uqTrowSYo8u+6UdB7O4NKq1odOlqn9cq2SjE4vWT8D3jVUlNRFYompE6/L4jAJD6sZwrknTX/1LD3018SXELzY2uAGniXWZZ1gxh3zFDGy",
        "H4YOmntXUMYNbvXIltlcUe90ObU+RIp5FLWFH6AMR+t+XWDbxFHl3ONGh5GZPVLSX1T7ojCRRyezCjhP74q6i3mzkGdDFBZ5UaMTEZ9XgAY8",
        "UtmMOtdhkNgVsG2fuo0HHTS4p+7hGUICMwGc1WYzaG09XyWbNNPm8ZjtKfUGZQL8ra6dL0worvR2icBRa11sNl2oWVFvaYziRD4Yz9Qn19bA",
        "2V6w5CHTHXccVL1zfjP6LJf20XzTLVe6XBZVarZqk7sClayT2yTaE9aAwjJFLqF4nC6RRMO0zt8jlrCjuUnSdFjBcQVs1R6LTlZ5bcAzr54M",
        "4bh8Xez7eLPBllYJtrzE8ArcXPXJ2ouWR/NotBMdK53sU1CQ4Wsj+ESXRaKqk3AM6cFkeprVhqLNYHMN/XXaE5SJrufFkMKWJ0GtZnSXlOaJ",
        "6soWDrvproyNJTbqx4J0mxcWMCdBROttAUZAtRt7sIsxuOxGhLnq0/sniiwO7hlwtxM47JgvVWbA61ZbwQB2B7btltmNq9LtvjBVx5KoJYNN",
        "Cd8jDkrU2E6OKpdUH5d9fKrssFNDXG9UWiar3nsFfIwgu8VnfmgdieWmGqcBlEITUofiufW7ZaKO4AD8M2TJMV/ZyocKcqWzPrVHI+DCfWey",
        "g8BQofWNRglNVN1F4DGr00SXZVEmPUWYGeq4SvbH3geVq7Z7hWNUrnvvZYVBI0NN1HlicgBiJmyA1uleJ8XRSrp0sBPt4ClQJ5UmEA7H5JCp",
        "2vKq8bdNNyPtTwQTmYnidUe9w/nmdCQxx5N8jZAeRc48P2bZrG3eyjUCtnzWvmy+k/Q/IiRJDs8npc4KtU6si8yTWQx5kFgu6BLVrLtt3rYS",
        "JErb3D8pUHVdtp+2Y52VrpNTKIKSzSNU6Ly/1HCEO7y0l282MyuqVgj8tnkHoZ9py0YVrtZ6owDUOl3V7Wft7kHzzs9LJJhe/6ST/K79BXZl",
        "T0YJaXcPP8Tl3Yy1zXtA7XDtG6W+hVqVpbpum3smzpX55aT5sh2C77VhLyO5u4nal3/8A3R+cPml5o3vt48fP/7Zf/CyH5d36nb50dt/fvcf",
        "//rB3//5o/b3GFdVzdeMZ5JuCdh11T5td99UzXsj/yKAjA/R217eaR6deuDK2rCM2V9Rto+bb0xn2YxtL99ovj2egyPjMAnkttnoEjbHzkd2",
        "9/0AdnXsfugxYx5N1XeqDOTGxvujTrOlUS+29L5qvnsasEN64Hupa3M5GflSNV+/HYHY27tdNJnI6H+cMlbv2cit7K9YX3ER0zaz09nZIGwL",
        "kW4tEM3o3swE0IObZ8728mHzpqE/4+4HN8+I7U9/+O+/mNdfm6+OT4pmNfenR+v28l7z8NyBrb28ezwu/f8CvrbiyA==",
    ],
    "xgb_1": [
        "eNrtmH9sE+cZxy+/KTgQUSYqTazM6kZQk9TxD/KjseOclba0tAyqrhFtepzt1/aF89317hwSWDazsq1/uBVSbwpCUI0IaWtXpFC6Ui3EjYpU",
        "qS2ZlHWt6CbBpBLIOmnrJDQqtJU973MX+83F/DdNdOpJfuPneZ/v+z7v837uvXPytT9/ez2HV8Ezko6rqmG2JVSdWIUGnhpEt16yNh+wxqzm",
        "Qn1GVJIydK2I5yTZlBTDKtwRHzWJqOviKMTx732D42LbH3tg64OtaiplELP7eY89elxSUhz3W77TNrkq5m8197+9mpy/Okl3G8/mRJ0kia6r",
        "er3jT8dNnZBaJsvb8aK5rWHsztsgp5twLe5oI8flOW5jFL7ma6CpLflmemlsHXzqS77dUdDlG8BeAZ9VjpaOdQd8VsLH4/hg7Pwq22Z9dBxu",
        "NaOFOfM3nYvO13Xi87M1To6Lvku7miO1rri5Uz8u1rrixicmputccTunfJE6V5wenojUu+KO1BzrqXfFHXz6rkjTujegNsdi1+N3R6jvld9f",
        "AdsT2+B7/35qvzEzBnZbzHO1gP0HW7eD/Tp/43QI7R8k34Q6buOjJ60itaNVMtgD/KHNN7H/yYerIP5z/kdH7ouUd8jDd53Qpsv2AH9p16+Y",
        "/kN9c6eq3y7btfz4hLdYti/07ZyajLC2Hvb2lm2ZP1KzIVy2Tf7g04cjXwVe15TZdPGKDJd4barA673oO7SE17XOeCyvd1bg9T70cb1uXgc+",
        "HFnGa0dxqOjm9VrdbI+b10vvXAi7eeW63rrfzeu7H1Ut43XXvumwm9etCy9GWhN3Qx2Oxl49cQb397N/rQF7R6zuy096kITuIajd7/hnHh/E",
        "/f7Zxgbof5nn9lxA3i7n+6G/Onb1p39C/R+3Pg+2xR+LbsD4gVc0sBf6ZpumGL4O8gMffnG2bH+vr6P4GcPjq/y1ukcZ3oL8pXcGGP0XfVxX",
        "Z0/ZbuHf/egA05/v27UvHGHH37qwuverwOvKCufrygrn68oKvDY7cSyvjQ6HLK82m5NLeG28xfm6Lb26283rxeHfhN28cqt2TLt5nf/g+0U3",
        "r5OfqsvOV273+2fdvE6Nc9NuXkfz4+HBfx+NcvnjsavSAeTjb4dfh1pVxbY/dBp5bCP0/OVjax/YhPu//q5v9lKeFu7MY/xD5xrA9vG/fq1o",
        "n6//eBnionzTP/+C8dc2vwf9a2N/+Pg5hr/d/Lb0i91le6Hv4nCI4evPUW7VHHP+ruPnP/iY4bmHn/z07yyfvdzuh5n4DD81nmfsSX40v37J",
        "+Vp9m/LqqcCrpwKvngq8NjLn6+I+fwd8yguBIsvrPRV4/e4tztfLzTvCbl7Pza6fZnml16Yrc0t4pVdg/tFlvMZvRJbzet4TdvP6xPVfnnXz",
        "eqb/2+Hz8x3A69FY+tQ65Kk19hLU6kt+cnAC9/viDw2wu2MrbvwV+5873gh1e43PnnwS7Y21CnBwD6+8cBp5mnlmJkLfD7510n5eX4leh78N",
        "ManhE+Y8HOEvN88x/M70nZsdZ/iK9m26sqPI8hyYn2XsTj5+o8jw+osod74QZt8Hnri+iRnvMH+m/3j4Vu+znHMe0UuND5GEKQ2Tfsex36uI",
        "WeLt9rrf270t1CXIqmEImqiLWW/3fq+REGUiaKoh7CVSOmOCrt07NrbfK8PPFYXoNCZN4IuUKIuIIsZBRUY08GeJYoqyMGSoimCALcrSPtGU",
        "VAWG8sGcaS0nSEkwWtsdSxPTRDCkfcSJUATwGiVjSI2XDDOjEzHpWDr8rlKzgmGKJsE8W7wGIUnmqwAJCRL8GmMTGIaMkiCx8yfQa9irhGx0",
        "MSlB/kLc/hGHq8WfNYKpi5JSXrKSy6Ihy0QWaIAzqwbVlRImVLfbK+ZMFV1qgkCNzVGNRiVJSszJJnTguJBARqU5kxExQb05jSZH9Wld3Ssk",
        "VDkr7iF6i6bnFFLuh9o+e4sYWIiz5XbutBgaSUgpCSpSGj4lygZhptu/dCzqWPzuXryqmUKSKAah0Yu1c8WIspYRnYonxESGCKByigQqQ8xq",
        "gEx8VCbDRK7gV9QkqeB2Su1rC0GHU0ohKemUedxh5BT6HCZTRDRzOhFgbTlNUtJORsQUS6OkxWzWtgI+vNr91EuLoamylBjFTdPMzF7JoLWU",
        "FAoUzgfrVwxcuEkZgk5ZzMaTopM45gKTCrpNqD1fVhwR4Hc92P7QFseGcVIwlVmKdPxJIpsiEE60JU5IBuyAY8M0w8RgAgyYN5Gx10xT8WEH",
        "7E4iI8lJ9s623YYmSyYeBMvKkFUV1VQV4lpp82Y8PVI6MTJ0/pQzGj1Q2J3HA4YtCW4kLUmJ+5wipVQ9S/v2EBPSJpqdhs/fZV+Bch/eyLRy",
        "yLSoA4L0SDAyqoynQpvft/TCOXF5BO77nGjfmUQWDRNOMIWYLc4KpQSNzMVt0nCszlIdxsbobUzvLSD7a9C/Bv3/F3SKuvOsF7KAplwmPS5C",
        "Fgb9NyeoutoC/XRO+iBMwCylRzTYDovggX1nxnPdOaWHbPk5lZQMpHkReLoWWkF43XDGT+Iiy0/X0vtOpTccmNsWQ3ZPDS4J/q+8FsH4w/D6",
        "gDfkU+0t/pb2wTHrJ9ZOq9DgLM4q1NuLswqNi7condiwBq3mQnXKZ0HTThs/bQK0CdImRJsttOmgTSdtuqxCTardh207tn5sA9gGsQ1huwXb",
        "Dmw7sUWtH7V+1PpR60etH7V+1PpR60etH7V+1AZQG0BtALUB1AZQG0BtALUB1AZQG0BtELVB1AZRG0RtELVB1AZRG0RtELVB1IZQG0JtCLUh",
        "1IZQGwpZpFxZ+oplWI8VVseJYZZf/KxHagpN6FLwnUuWspJpPVKbi7f9BzPiR+M=",
    ],
    "lgb_1": [
        "eNrNWduu3EgVzYQhM/SgkIGMmAEJDE8zQseqi68NLRCDhMSRgoR4QIoiq7pd3W3itnts90nOSCPBA5dIfhvzAO98EV/BV8DaZbv6Gil5GaWT",
        "c055V3nvqr3WXlV2/+ntf3Tfv2M+7f08W62b1XzjzlWdLbr2nV+WZd3oqvuy++TP3Rfdx+29tSrSXHd/eP/DO3eaSuvJja7qrCxmN3JS7DbJ",
        "Ild1PeOmTf3JVldJBh+qoVF8kqu5zpOsSPXzGZts1PNkqVWzq3SSpc9nvj8p53/Uiya70bNKrypdk/fJOKZQG13PPi3z3aZImDM0+NgQY0OO",
        "DW9s+GMjGBvh2IjGRmwd7l1b39w659Y7t+659c9tAG4jcBuC2xjCxhD7+dsYwsYQNoawMYSNIWwMYWMIG0PaGNLGkPsk2RjSxpA2hrQxpI0h",
        "bQxpY3g2hmdjeDaGt0fCxvBsDM/G8GwMz8bwbAzfxvBtDN/G8G0Mfw+3bzmTFcuynhVloZ3X+vWYTYMnF36PncIYfPM7fnLB8vohe9dX3AR7",
        "w/9MTHnX2ecoSC8IHS+Ihh82/IjJ5PcYgzInNci1uqGhvUyoBuZ6m2fNWP8zFB2qjYvBvFJZMZMuXMdS/4QFDncj6TN/aAeBJ2NqT5o1VGJd",
        "5ulMuD47+njOK5kmqV5kpDNJc7vVM+Hg3yTXyyZZrDPy61zhP59UpI+DjTtX0rnyMEwtkxuV7/RMejFzJfc8KUUU+aHnSJ97bhiJMAwjP5Kc",
        "cZik58pQBiLkERMcYoJR0o2YmRUPpBf5vddnmuLNQO8YqWHCCVnfsSh3xYk9K6CxhcrHqfg8cFFn0he+C81B4qQbRPthg2/cHwvkXO57eucS",
        "gjZ21esqK56qFSCaDJDyV4RUnkMqkBAv9CyMYQ8j2syLIvlmQXolhOtFnpD4HwYhi4HglXBlFPueH7OQB3EsY0w+cAOOf5GMIiYDP8IwzwXA",
        "LA79kHthFHuxdwQrdC5CejD7+AjWI/sJrMyJyCmGXHHm+t5lRKPQ4TI6QxTbx9i1R5S5FlPxWmUqj8uUiX2ZypCLEV8pQPqvCFPknNA5wlRc",
        "xjSSoeDgoeCB50cRYepxYCxCwSIRRAz0J5wBbhSGUgJtT4aRg3L2QV4hgSxnIERwhGnAnTBwQqSHB4eYHtnPML3ikDYP54sQ85KevIQpdm2U",
        "4zmmnu26iKl8dUzFWZ1imXEw4iiDODLtmPtxKN+kEmWuCCWTcSx8YAW1A3JxyH1MHwkCSiGx3o19gQ/zAR0wD+HJFTJgMQcToLt+IE9lF5ih",
        "0wmjE9nd28+wDClrOJ5RfXIRxRcVl6bDz7GMbNdFLL1XxJKKE/pxiCV3Yx77e53lom9DnHjkvUFY8tiVXuDHgR/6AfYsRne5YehjQ/OhwFIw",
        "acAMIpSm2TB5iKUR5CwWgWQYxfwgEFF4jKbvhDHW60T8CMwD8xmWgRtCuDHH2GUhk94lLIkKMjjfPYXtuoil/4pYCoMlP8FSylFqOeXDtMOQ",
        "Yyd9k6CMXMZ8UtcgliwKBd2IaJ7noyTjOEBOccIHlsAL56OYUXV6PZZA0Ocx9lYgytjJgQhqGkH3mHSC+ERl9/YLaDIcNjihGXEW+y/dOdk5",
        "mqHtOkVTF6lTLh06C9eT/SPHZltWjSoWup5O7JMkULfPkgdtBgLYJ0u0J1tV4TEXU8DNj+f0CJ4Vq6mzmqfNk8lj+3w8dfYPyLDjjipbTJ1c",
        "4MKczZGaqtDV1Kl1lakc5lTfZAttgJ06i+2OTKpRUwcN5ClLTYvYaB/Z66mDs/5j4wvTSGDFvVj8MLDn8NTxhmsioEphYDAsywrhFiVynNX6",
        "0FaVzw5s66xuyhVWnWxLDKaHiik4RqtSz5NUb5v1eJ0VCU0ZT3UUejl1BBvMNaKvKR2q2PcykJDum6vViqa/rNSClkU9Eezbsk7O+8zi9Ool",
        "PXur/uzYUmuNFEJSg5BWOrDh+O5TazK/LcpUv6Sz9yighbRM/byplHmvMiS4Nwxh/VAQCkAqv02Q0O3WAAYOkwvynlV1k/REScoiv+2d9DnO",
        "kdS60dvelqvNPFVJzo8vxXAH8ktilDRlYqSpN6dVuT0iiPEM49Txqb9+mm2Ha5xeYXi+MvQGohXmZbJA43ZFBpZsxqGj536ZAY5IxPCDULS2",
        "slnr6jj4SBV6BbVCGuCLs3HBkNvEiuXUkeSDbLREzoaLelOWRD1+dFeJ3Ol12fSkp4k8HWlYFmWDTlC+qIEMhKQ2JXWpg4BYl4ht3rYdDtpq",
        "iE8zoDNSAncCN+PNlFBqEl8nyyzX9FrM9FR6iX0CCq5ubS5iWoxezcEblepyueypZkxDpEMQj+xj8Fx9fmsCXOyFTG5z3YvHVjVrmzfyZ8R0",
        "YPNpWm50NS/rjJZqqruGlqTJuYoOijWiMM9QS8L395coovG2Pt8HMmFGS6rSbJzBbgFs1QaTThZFQ+DRZ1BDJK5Iy81AN4/mldUJljzH8Bri",
        "XA/FOpjmO3ol2pt2tU42GTSIBJsMn+uqTFS9Nx5CuqVKz/KGNJoG0zX8N9mgUMSuZ+VYwUYooa00uq9JepO6MDuHWXS/jx1aDOsPDdmqKA1g",
        "1gJG61UJQcB2d5jBnmNI2QnD7PYzqk6MZ+BB+83L334pyNiumKuc0OunWyMClge97efZj6uz1aakfcfIqBGDZYXkgwgVdtnejn0uqT+rBoKq",
        "fLtWI7GXKquSxZC+EkkGy870zA1NJjHfTOM8gM2QOLUtn5nEGyXqBQ7IP0WZ7IqF2fuwh9zofKjtgxHI4aYP2WNAUmiSo7GJJqrpKbjLmyzR",
        "VVVWyaARdIfaLZLNbshBbffbjcJJqtBD9vKS4MixK+oioSKAGU8yhhDZRiflzlj6ejA3msHHSO1dEhO2u2Sbq8boKuXb1BtZhzPBkY1onPbS",
        "O55w9ocSOqAUKTh9QJ1pscvzSde+U2gwtnravWh/mAzfHiRJgcwnlc5LlSYmRfRKFkMeJEYM+kqleXftu8aCSuna+3sHqmmq7ovu0Getm2TP",
        "RWgyvTuFz/tzjUTY40t3/XY7MaZ6AeZ37Xvgfq6NHNW4SvVSAag0WzTdl936QfvebytUmE5/1Vv+0v0OqzJno4R164ef4PJuLrr2A6C2vXXJ",
        "qWugVlWlbrv2HvFc0Vcm7dfNEPxNSb7IcncZdS/+/jf4/Pj6a+1bP+sePXr0m//hY35d32m6+afvfu+tf//0R8/+84vurxhX1+23KDNJPwWs",
        "uu6edOvvqvaDg/yCQJRD9HbXd9oP9z1IZUMyQ+srq+5R+53ju0zFdtdvtT84vAeHxvEmqNtyqSvEPEw+qnvoB7CLXf8ND4358Nh974ogpxgf",
        "HXTSkg56saSPVPvj/YA1ygN/57qhy6ORL1T77XMGYm3v92wiZgzfSlHUe4a5tfn66huWMV072Z+eCWGzE+nOANEePJ0RgR6cnjq764ft26R/",
        "FODB6Smx+/XP//tP+vyr/ebhWZEG3z8+XHfX99qHlw5s3fXd3W7u/h/AK99E",
    ],
}


# ------------------------------------------------------------ batches name the bad genotype
def test_check_many_names_the_position_and_start_of_the_bad_spec():
    from evonas.evaluators.nb301 import check_nb301_genotypes

    good = get_genotype("DARTS_V2")
    specs = ["DARTS_V2", good.to_json(), good] + ["DARTS_V1"] * 1230 + ["DARTS_V9"] + ["PDARTS"] * 3766
    with pytest.raises(GenotypeError) as info:
        check_nb301_genotypes(specs)
    message = str(info.value)
    assert message.startswith("genotype 1234 of 5000 ('DARTS_V9'): not a NAS-Bench-301 genotype: unknown genotype")
    long_bad = good.to_dict()
    long_bad["normal"][5] = ["sep_conv_7x7", 0]
    text = json.dumps(long_bad, indent=2)
    with pytest.raises(GenotypeError) as info:
        check_nb301_genotypes(iter(["DARTS_V2", text]))
    message = str(info.value)
    shown, _, rest = message.partition("): ")
    assert shown.startswith("genotype 2 of 2 ('{ \"normal\": [ [ \"sep_conv_3x3\", 0 ], [") and shown.endswith("...'")
    assert len(shown) <= len("genotype 2 of 2 ('") + 61 and rest.startswith("normal cell, node 2 (state 4), pair 1")
    assert "sep_conv_7x7" in message and "not one of NAS-Bench-301's 7 ops" in message and "\n" not in message
    checked = check_nb301_genotypes(specs[:3] + ["PDARTS"])
    assert checked == [good, good, good, get_genotype("PDARTS")]
    assert check_nb301_genotypes([]) == []


def test_evaluate_names_the_position_of_a_bad_genotype(model_dir):
    ev = NB301Evaluator(model_dir, runtime=False, cost=False)
    ev.setup(DartsSpace())
    bad = get_genotype("DARTS_V2").with_cells(normal_concat=[2, 3])
    with pytest.raises(GenotypeError, match=r"^genotype 2 of 3 \(\"Genotype\(normal=\[\('sep_conv_3x3', 0\).*"
                                            r"\.\.\.\"\): normal_concat \[2, 3\]: NAS-Bench-301 concatenates all"):
        ev.evaluate([get_genotype("DARTS_V2"), bad, get_genotype("DARTS_V1")])
