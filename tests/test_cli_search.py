"""``evonas search`` from flags and from a config file; resume; one-line errors."""
from __future__ import annotations

import json

import pytest

from evonas.cli import main

TOY = ["--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "10", "--quiet"]


def test_search_from_flags_then_resume_with_more_budget(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["search", *TOY, "--budget", "40", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out and "f1 (min)" in out
    assert json.loads((run / "search.json").read_text())["strategy_options"] == {"pop_size": 10}
    assert main(["search", "--resume", str(run), "--budget", "60", "--quiet"]) == 0
    import re

    evaluations = int(re.search(r"(\d+) evaluations", capsys.readouterr().out).group(1))
    assert 60 <= evaluations < 60 + 10  # stops after the generation that reaches the budget
    # the run's files say what it now runs to
    assert json.loads((run / "search.json").read_text())["budget"] == 60
    assert json.loads((run / "config.json").read_text())["budget"] == 60


def test_no_plots_leaves_out_only_the_two_pictures(capsys, tmp_path):
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(tmp_path / "drawn")]) == 0
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(tmp_path / "bare"), "--no-plots"]) == 0
    drawn = {p.name for p in (tmp_path / "drawn").iterdir()}
    bare = {p.name for p in (tmp_path / "bare").iterdir()}
    assert {"progress.png", "pareto.png"} <= drawn
    assert drawn - bare == {"progress.png", "pareto.png"}
    assert "plots)" not in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("flags, named", [
    (["--seed", "5"], "--seed"), (["--strategy", "ga", "--pop-size", "8"], "--strategy, --pop-size"),
    (["--space-opt", "length=6"], "--space-opt"),
])
def test_resume_refuses_flags_it_cannot_honour(capsys, tmp_path, flags, named):
    run = tmp_path / "run"
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(run)]) == 0
    history = (run / "history.csv").read_text()
    capsys.readouterr()
    assert main(["search", "--resume", str(run), "--budget", "32", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and "cannot change" in err
    assert (run / "history.csv").read_text() == history  # nothing written


def test_search_from_toml_with_objective_selection_and_constraint(capsys, tmp_path):
    config = tmp_path / "search.toml"
    config.write_text(
        'space = "toy"\nevaluator = "zdt"\nstrategy = "deap-nsga2"\nbudget = 30\n'
        'objectives = ["f2:min", "genes:max"]\nconstraints = ["f1 <= 0.5"]\n'
        f'run_dir = "{tmp_path / "run"}"\n[strategy_options]\npop_size = 10\n[space_options]\nlength = 6\n'
    )
    assert main(["search", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "f2 (min)" in out and "genes (max)" in out
    front = json.loads((tmp_path / "run" / "front.json").read_text())
    assert front["constraints"] == ["f1 <= 0.5"]
    assert all(row["values"]["f1"] <= 0.5 for row in front["front"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategy", "nsga4"], "unknown strategy 'nsga4'"),
        (["--budget", "0"], "argument --budget: must be >= 1, got 0"),
        (["--constraint", "f1 =< 3"], "cannot read constraint"),
        (["--objectives", "f1:maximum"], "direction must be 'min' or 'max'"),
        (["--objectives", "accuracy:max"], "not reported"),
        (["--strategy-opt", "popsize=3"], "popsize"),
        (["--smoke"], "--smoke: strategy 'nsga2' has no smoke mode; strategies with one: dap, darts, stacnas"),
        (["--smoke", "0"], "argument --smoke: must be >= 1"),
    ],
)
def test_bad_search_input_is_one_line(capsys, tmp_path, extra, message):
    argv = ["search", *TOY, "--budget", "20", "--run-dir", str(tmp_path / "r"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_config_typo_is_named(capsys, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('space = "toy"\nbugdet = 10\n')
    assert main(["search", "--config", str(config)]) == 2
    assert "'bugdet' (did you mean 'budget'?)" in capsys.readouterr().err
    config.write_text("space = [unclosed\n")
    assert main(["search", "--config", str(config)]) == 2
    assert "invalid TOML" in capsys.readouterr().err


def test_existing_search_is_not_overwritten(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(run)]) == 0
    history = (run / "history.csv").read_bytes()
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "history.csv").read_bytes() == history


def test_several_evaluators_are_merged(capsys, tmp_path):
    argv = ["search", "--space", "toy", "--evaluator", "zdt", "hamming", "--objectives", "f1:min", "similarity:max",
            "--evaluator-opt", "hamming.target=[0,0,0,0,0,0,0,0,0,0,0,0]", "--strategy", "nsga2", "--pop-size", "10",
            "--budget", "20", "--run-dir", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 0
    assert "similarity (max)" in capsys.readouterr().out
    argv[argv.index("hamming.target=[0,0,0,0,0,0,0,0,0,0,0,0]")] = "target=[0]"
    assert main(argv[:-3] + ["--run-dir", str(tmp_path / "other"), "--quiet"]) == 2
    assert "EVALUATOR.OPTION" in capsys.readouterr().err


def test_scarlet_search_from_the_command_line(capsys, tmp_path):
    """``evonas search --space scarlet``: an entangled supernet + cost, the front in exported-model MACs."""
    run = tmp_path / "run"
    argv = ["search", "--space", "scarlet", "--space-opt", "width_mult=0.25", "--evaluator", "supernet", "cost",
            "--objectives", "accuracy:max", "macs:min", "--strategy", "nsga2", "--pop-size", "4", "--budget", "6",
            "--evaluator-opt", "supernet.epochs=1", "--evaluator-opt", "supernet.split=[0.05, 0.05]",
            "--evaluator-opt", 'supernet.supernet_kwargs={"weight_sharing": "entangled"}',
            "--evaluator-opt", "supernet.recalibration_images=32", "--evaluator-opt", "supernet.device=cpu",
            "--evaluator-opt", "cost.metrics=[\"macs\"]", "--run-dir", str(run), "--quiet"]
    assert main(argv) == 0
    assert "accuracy (max)" in capsys.readouterr().out
    front = json.loads((run / "front.json").read_text())["front"]
    assert front and all(len(row["arch"]) == 19 and row["values"]["macs"] > 0 for row in front)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--evaluator", "supernet", "--evaluator-opt", "supernet.epocs=3"],
         "unknown option 'epocs' of evaluator 'supernet'; did you mean 'epochs'?"),
        (["--evaluator", "supernet", "--evaluator-opt", "batchsize=3"],
         "unknown option 'batchsize' of evaluator 'supernet'; did you mean 'batch_size'?"),
        (["--evaluator", "zdt", "hamming", "--evaluator-opt", "hamming.targt=[0]"],
         "unknown option 'targt' of evaluator 'hamming'; did you mean 'target'?"),
        (["--evaluator", "hamming", "--evaluator-opt", "zzzz=1"],
         "unknown option 'zzzz' of evaluator 'hamming'; valid: target"),
        (["--evaluator", "zdt", "--evaluator-opt", "zdt.target=1"], "evaluator 'zdt' takes no options"),
        (["--strategy-opt", "pop_sise=4"], "unknown option 'pop_sise' of strategy 'nsga2'; did you mean 'pop_size'?"),
        (["--strategy", "deap-nsga2", "--strategy-opt", "mutbp=0.3"],
         "unknown option 'mutbp' of strategy 'deap-nsga2'; did you mean 'mutpb'?"),
        (["--strategy", "random", "--strategy-opt", "batch=4"],
         "unknown option 'batch' of strategy 'random'; did you mean 'batch_size'?"),
        (["--space-opt", "lenght=6"], "unknown option 'lenght' of search space 'toy'; did you mean 'length'?"),
    ],
)
def test_misspelt_nested_option_gets_a_suggestion(capsys, tmp_path, extra, message):
    argv = ["search", *TOY, "--budget", "20", "--run-dir", str(tmp_path / "r"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_misspelt_option_in_a_nested_toml_table_gets_a_suggestion(capsys, tmp_path):
    config = tmp_path / "search.toml"
    base = f'space = "toy"\nstrategy = "nsga2"\nbudget = 20\nrun_dir = "{tmp_path / "run"}"\n'
    config.write_text(base + 'evaluator = ["zdt", "supernet"]\n[evaluator_options.supernet]\nepocs = 3\n')
    assert main(["search", "--config", str(config), "--quiet"]) == 2
    assert "unknown option 'epocs' of evaluator 'supernet'; did you mean 'epochs'?" in capsys.readouterr().err
    config.write_text(base + 'evaluator = "hamming"\n[evaluator_options.hamming]\ntargt = [0]\n')
    assert main(["search", "--config", str(config), "--quiet"]) == 2
    assert "unknown option 'targt' of evaluator 'hamming'; did you mean 'target'?" in capsys.readouterr().err
    # With one evaluator its own table is accepted too, as with several.
    config.write_text(base + 'evaluator = "hamming"\n[strategy_options]\npop_size = 10\n'
                             '[evaluator_options.hamming]\ntarget = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n')
    assert main(["search", "--config", str(config), "--quiet"]) == 0
    assert "similarity (max)" in capsys.readouterr().out


def test_config_that_is_a_directory_says_so(capsys, tmp_path):
    assert main(["search", "--config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"config file {tmp_path} is a directory" in err and "TOML or YAML" in err
    assert "does not exist" not in err and err.count("\n") == 1
    assert main(["search", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_relativenas_search_from_the_command_line(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["search", "--space", "darts", "--space-opt", "encoding=relativenas", "--strategy", "relative",
                 "--strategy-opt", "generations=2", "--strategy-opt", "member_steps=1", "--pop-size", "2",
                 "--evaluator", "supernet", "--evaluator-opt", "epochs=0", "--evaluator-opt",
                 'supernet_kwargs={"C": 4, "layers": 3}', "--evaluator-opt", "val_images=32", "--evaluator-opt",
                 "progress=false", "--budget", "100", "--run-dir", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    chosen = json.loads((run / "chosen.json").read_text())
    assert "chosen architecture: normal=" in out and len(chosen["reduce"]) == 8
    assert "4 evaluations" in out  # 2 members x 2 generations: the strategy's generations end the search


def test_an_impossible_constraint_warns_that_the_front_is_empty(capsys, tmp_path):
    """Issue 27, item 8: a constraint no architecture meets used to end in silence with an empty front."""
    argv = ["search", "--space", "nb201", "--evaluator", "nb201-table", "--strategy", "nsga2", "--pop-size", "4",
            "--budget", "8", "--quiet"]
    assert main([*argv, "--constraint", "params <= 1", "--run-dir", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert "none of the 8 architectures met the constraint(s) params <= 1" in err and err.count("\n") == 1
    assert main([*argv, "--constraint", "params <= 1e9", "--run-dir", str(tmp_path / "all")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_smoke_flag_runs_every_phase_and_writes_the_projection(capsys, tmp_path, monkeypatch):
    """``--strategy-opt published=true --smoke 1`` is all RelativeNAS needs: the space (real-valued vectors) and
    the published weight set are filled in; one short generation (a pair, the scoring, the chosen cell's
    stand-alone network, batches lowered here for CI) and ``smoke.json`` with the projected cost of the full run."""
    from evonas.strategies import relative

    monkeypatch.setitem(relative.STANDALONE, "batch_size", 4)
    run = tmp_path / "run"
    assert main(["search", "--strategy", "relative", "--strategy-opt", "published=true", "--smoke", "1",
                 "--evaluator-opt", "batch_size=8", "--evaluator-opt", "eval_batch_size=8",
                 "--evaluator-opt", "val_images=16", "--evaluator-opt", "recalibration_images=8",
                 "--evaluator-opt", "progress=false", "--budget", "100", "--run-dir", str(run), "--quiet"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "the strategy's settings fix the space darts" in captured.err
    saved = json.loads((run / "search.json").read_text())
    assert saved["space"] == "darts" and saved["space_options"] == {"encoding": "relativenas"}
    assert saved["evaluator"] == "supernet"
    options = saved["evaluator_options"]
    assert options["supernet_kwargs"] == {"C": 16, "layers": 8} and options["cutout"] == 16  # published
    assert options["batch_size"] == 8 and options["val_images"] == 16  # the user's own win
    report = json.loads((run / "smoke.json").read_text())
    assert "projected full run on this machine" in out and f"also written: {run / 'smoke.json'}" in out
    phases = {row["phase"] for row in report["rows"] if row["seconds_per_step"]}
    assert {"pairs", "evaluate", "stand-alone"} <= phases
    assert "2 evaluations" in out  # one short generation: the first pair's members scored
    assert any("batch_size=8 (published 256)" in note for note in report["notes"])  # said, not hidden


def test_published_fills_in_only_what_its_user_did_not_set():
    from evonas.search_config import fill_published, make_config

    config = make_config({}, {"strategy": "dap"})
    config.strategy_options["published"] = True
    assert fill_published(config, {"strategy"}) == [
        f"space darts with primitives={json.dumps(config.space_options['primitives'])}"]
    assert "sep_conv_7x7" in config.space_options["primitives"]
    own = make_config({}, {"strategy": "dap", "space": "nb201"})
    own.strategy_options["published"] = True
    assert fill_published(own, {"strategy", "space"}) == [] and own.space_options == {}  # the user's space stays
    plain = make_config({}, {"strategy": "relative"})
    assert fill_published(plain, {"strategy"}) == [] and plain.evaluator == "cost"  # nothing fixed without it
    mine = make_config({}, {"strategy": "relative", "evaluator": ["supernet"]})
    mine.strategy_options["published"] = True
    mine.evaluator_options["cutout"] = 0
    fill_published(mine, {"strategy", "evaluator"})
    assert mine.evaluator_options["cutout"] == 0 and mine.evaluator_options["batch_size"] == 256
