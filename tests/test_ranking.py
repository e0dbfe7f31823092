"""Ranking statistics on hand-made rankings, and the harness end to end on a tiny NAS-Bench-201 supernet."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evonas.cli import main
from evonas.errors import ConfigError
from evonas.ranking import ranking_statistics


def test_statistics_of_hand_made_rankings():
    truth = np.arange(20.0)
    perfect = ranking_statistics(truth * 3 + 1, truth)
    assert perfect["kendall_tau"] == pytest.approx(1.0) and perfect["spearman"] == pytest.approx(1.0)
    assert perfect["precision_top_10"] == 1.0 and perfect["n"] == 20
    reversed_ = ranking_statistics(-truth, truth)
    assert reversed_["kendall_tau"] == pytest.approx(-1.0) and reversed_["precision_top_10"] == 0.0
    swapped = truth.copy()
    swapped[[0, 1]] = swapped[[1, 0]]  # one discordant pair of 190
    assert ranking_statistics(swapped, truth)["kendall_tau"] == pytest.approx(1 - 2 / 190)
    top = truth.copy()
    top[[19, 0]] = top[[0, 19]]  # the best is ranked last: the top 2 share one of 2
    assert ranking_statistics(top, truth)["precision_top_10"] == 0.5
    with pytest.raises(ConfigError, match="equally long"):
        ranking_statistics([1, 2, 3], [1, 2])


def test_rank_command_writes_every_scored_cell(capsys, tmp_path):
    argv = ["rank", "--scorer", "supernet", "--archs", "8", "--out", str(tmp_path / "rank"), "--quiet",
            "--evaluator-opt", "epochs=1", "--evaluator-opt", 'supernet_kwargs={"C": 4, "N": 1}',
            "--evaluator-opt", "split=[0.05, 0.05]", "--evaluator-opt", "recalibration_images=32",
            "--evaluator-opt", "val_images=64", "--evaluator-opt", 'device="cpu"']
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out and "#params" in out
    rows = (tmp_path / "rank" / "ranking.csv").read_text().splitlines()
    assert rows[0] == "arch,accuracy,truth,params" and len(rows) == 9 and rows[1].startswith("|")
    report = json.loads((tmp_path / "rank" / "ranking.json").read_text())
    assert -1 <= report["scorer"]["kendall_tau"] <= 1 and report["params_baseline"]["n"] == 8
    assert main(argv[:-2] + ["--truth", "cifar11_test"]) == 2


def test_rank_command_with_the_zero_cost_scorer(capsys, tmp_path):
    argv = ["rank", "--scorer", "synflow", "--archs", "40", "--out", str(tmp_path / "zc"), "--quiet",
            "--evaluator-opt", 'net_kwargs={"C": 8, "N": 1}']
    assert main(argv) == 0
    assert "synflow: Kendall tau" in capsys.readouterr().out
    rows = (tmp_path / "zc" / "ranking.csv").read_text().splitlines()
    assert rows[0] == "arch,synflow,truth,params" and len(rows) == 41
    report = json.loads((tmp_path / "zc" / "ranking.json").read_text())
    assert report["scorer"]["n"] == 40 and report["score"] == "synflow"


def test_rank_command_defaults_to_naswot(capsys, tmp_path):
    assert main(["rank", "--archs", "30", "--out", str(tmp_path / "nw"), "--quiet", "--evaluator-opt",
                 "batch_size=16"]) == 0
    assert "naswot: Kendall tau" in capsys.readouterr().out
    report = json.loads((tmp_path / "nw" / "ranking.json").read_text())
    assert report["score"] == "naswot" and report["scorer"]["n"] == 30


def test_the_ranking_experiment_is_a_library_function(tmp_path):
    from evonas.ranking import rank_nb201_cells

    report = rank_nb201_cells(archs=12, scorer="synflow", evaluator_options={"net_kwargs": {"C": 4, "N": 1}},
                              seed=1, out_dir=None)
    assert report["label"] == "synflow" and report["k"] == 12 and report["scorer"]["n"] == 12
    assert not list(tmp_path.iterdir())  # out_dir=None: nothing written
    for bad, message in (({"scorer": "flop"}, "unknown scorer 'flop'; valid: naswot, synflow, supernet, jacov"),
                         ({"score": "top5"}, "unknown score 'top5'"),
                         ({"truth": "cifar11_test"}, "unknown truth column 'cifar11_test'; valid: .*cifar10_test")):
        with pytest.raises(ConfigError, match=message):
            rank_nb201_cells(archs=12, out_dir=tmp_path / "never", **bad)
    assert not (tmp_path / "never").exists()
