"""One settings convention (evonas.params): get_params for every component, identities without repr, old run
directories, search.json written by evonas.search itself."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from evonas import registry
from evonas.errors import ConfigError, EvonasError
from evonas.loop import CHECKPOINT, CHECKPOINT_KIND, fingerprint, search
from evonas.params import Configurable, describe
from evonas.testing import ToySpace, ZDTEvaluator

# options for components that cannot be made without any
REQUIRED = {("evaluator", "crash-once"): {"crash_on": [0, 1], "marker": "crash.marker"},
            ("evaluator", "surrogate"): {"path": "model.surrogate"}}
KINDS = {"search space": "space", "strategy": "strategy", "evaluator": "evaluator", "operator": "operator",
         "executor": "executor"}
REGISTRIES = [registry.spaces, registry.strategies, registry.evaluators, registry.operators, registry.executors]
COMPONENTS = [(r, name) for r in REGISTRIES for name in r.names()]


@pytest.mark.parametrize("reg, name", COMPONENTS, ids=[f"{KINDS[r.kind]}-{n}" for r, n in COMPONENTS])
def test_get_params_round_trips_for_every_registered_component(reg, name):
    component = reg.create(name, **REQUIRED.get((KINDS[reg.kind], name), {}))
    assert isinstance(component, Configurable)
    params = component.get_params(deep=False)
    again = type(component)(**params)
    assert again.get_params(deep=False) == params
    assert repr(again) == repr(component) and describe(again) == describe(component)
    described = describe(component)
    assert json.loads(json.dumps(described)) == described  # JSON-able as it is
    assert described["type"] == type(component).__qualname__


def test_the_settings_rule_is_checked():
    class Forgets(ZDTEvaluator):
        def __init__(self, *, depth: int = 2) -> None:
            super().__init__()
            self.config = {}  # breaks the rule: config must hold every parameter

    with pytest.raises(EvonasError, match=r"Forgets.config lacks \['depth'\]"):
        Forgets().get_params()

    with pytest.raises(TypeError, match="must be nameable"):
        class Positional(ZDTEvaluator):  # noqa: F841 - the class statement itself is refused
            def __init__(self, *sizes: int) -> None:
                super().__init__()

    with pytest.raises(TypeError, match="unexpected keyword argument 'lenght'"):
        ToySpace(lenght=3)


def test_repr_shows_settings_that_differ_from_the_defaults_and_nested_ones_deep():
    strategy = registry.strategies.create("evolution", pop_size=8, mutation=registry.operators.create("pm", eta=5.0))
    assert repr(strategy) == "RegularizedEvolution(pop_size=8, mutation=PolynomialMutation(eta=5.0))"
    params = strategy.get_params(deep=True)
    assert params["mutation__eta"] == 5.0 and params["pop_size"] == 8
    assert describe(strategy)["mutation"] == {"type": "PolynomialMutation", "eta": 5.0, "prob_var": None}
    assert repr(ToySpace()) == "ToySpace()" and repr(ToySpace(length=6)) == "ToySpace(length=6)"


def test_a_cosmetic_repr_change_changes_no_fingerprint_and_resume_still_works(tmp_path, monkeypatch):
    make = lambda: (ToySpace(length=6, choices=3), registry.strategies.create("nsga2", pop_size=10),  # noqa: E731
                    ZDTEvaluator())
    before = fingerprint(*make(), (), 0)
    search(*make(), budget=20, seed=0, run_dir=tmp_path, progress=False, plots=False)
    monkeypatch.setattr(ToySpace, "__repr__", lambda self: f"<a toy space of {self.length} genes>")
    monkeypatch.setattr(ZDTEvaluator, "__repr__", lambda self: "ZDT1 on integers")
    assert repr(make()[0]) == "<a toy space of 6 genes>"
    assert fingerprint(*make(), (), 0) == before
    assert fingerprint(ToySpace(length=7, choices=3), *make()[1:], (), 0) != before  # a real setting does count
    resumed = search(*make(), budget=40, seed=0, run_dir=tmp_path, resume=True, progress=False, plots=False)
    assert len(resumed.individuals) >= 40


# ----------------------------------------------------------------------------- run directories of an older evonas

#: what evonas wrote into config.json before evonas.params (component_config from repr), for the components of
#: _legacy_components(): produced by that code
OLD_SETTINGS = {
    "space": {"type": "ToySpace", "repr": "ToySpace(length=6, choices=3)"},
    "strategy": {"type": "PymooStrategy", "algorithm": "nsga2", "pop_size": 10, "n_offsprings": None,
                 "crossover_prob": 0.9, "mutation_prob": 1.0, "n_partitions": 12, "mutation": "space-mutation",
                 "crossover": "space-crossover"},
    "evaluator": {"type": "ZDTEvaluator", "repr": "ZDTEvaluator()"},
    "objectives": ["f1 (min)", "f2 (min)"], "constraints": [], "seed": 0}


def _legacy_components(length: int = 6):
    return ToySpace(length=length, choices=3), registry.strategies.create("nsga2", pop_size=10), ZDTEvaluator()


def _make_old_run(run_dir, settings=OLD_SETTINGS) -> None:
    """Rewrite a run directory as the older evonas wrote it: config.json without settings_format, its
    fingerprint the digest of the repr-based settings, the checkpoints carrying that digest, no search.json."""
    from evonas.runtime.checkpoint import load_latest_checkpoint, save_object_checkpoint

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({"fingerprint": digest, "settings": settings,
                                                     "budget": config["budget"]}))
    state = load_latest_checkpoint(run_dir / CHECKPOINT, kind=CHECKPOINT_KIND)
    run_id = state["run_id"]
    state = {k: v for k, v in state.items() if k not in ("format", "version", "kind", "run_id")}
    state["fingerprint"] = digest
    save_object_checkpoint(run_dir / CHECKPOINT, state, kind=CHECKPOINT_KIND, run_id=run_id)
    save_object_checkpoint(run_dir / CHECKPOINT, state, kind=CHECKPOINT_KIND, run_id=run_id)  # .prev too
    (run_dir / "search.json").unlink()


def test_an_old_run_directory_with_the_same_settings_resumes_exactly(tmp_path):
    reference = search(*_legacy_components(), budget=50, seed=0, progress=False, plots=False)
    search(*_legacy_components(), budget=20, seed=0, run_dir=tmp_path, progress=False, plots=False)
    _make_old_run(tmp_path)
    resumed = search(*_legacy_components(), budget=50, seed=0, run_dir=tmp_path, resume=True, progress=False,
                     plots=False)
    assert [(i.key, i.values) for i in resumed.individuals] == [(i.key, i.values) for i in reference.individuals]
    assert json.loads((tmp_path / "search.json").read_text())["space_options"] == {"length": 6, "choices": 3}
    # its config.json is left as it was: a later resume matches it the same way
    assert "settings_format" not in json.loads((tmp_path / "config.json").read_text())


def test_an_old_run_directory_with_other_or_unreadable_settings_is_refused_in_one_line(tmp_path):
    search(*_legacy_components(), budget=20, seed=0, run_dir=tmp_path, progress=False, plots=False)
    _make_old_run(tmp_path)
    with pytest.raises(ConfigError, match=r"written by an older evonas.*\(space\.length\).*start a new run") as error:
        search(*_legacy_components(length=7), budget=40, seed=0, run_dir=tmp_path, resume=True, progress=False)
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"older evonas.*\(strategy\.pop_size\)"):
        search(ToySpace(length=6, choices=3), registry.strategies.create("nsga2", pop_size=12), ZDTEvaluator(),
               budget=40, seed=0, run_dir=tmp_path, resume=True, progress=False)
    unreadable = {**OLD_SETTINGS, "space": {"type": "ToySpace", "repr": "<ToySpace object at 0x7f>"}}
    _make_old_run_settings(tmp_path, unreadable)
    with pytest.raises(ConfigError, match=r"older evonas.*\(space\)"):
        search(*_legacy_components(), budget=40, seed=0, run_dir=tmp_path, resume=True, progress=False)


def _make_old_run_settings(run_dir, settings) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    config["settings"] = settings
    (run_dir / "config.json").write_text(json.dumps(config))


def test_old_descriptions_of_nested_and_supernet_evaluators_are_matched_option_by_option():
    """The shapes the older evonas wrote for a supernet evaluator (settings plus a repr) and a SelectObjectives
    of a gated composite (inner, members, reprs), as that code produced them."""
    from evonas.evaluators.base import CompositeEvaluator, Objective, SelectObjectives
    from evonas.evaluators.cost import CostEvaluator
    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.runtime.legacy_settings import legacy_differences

    supernet = {"type": "SupernetEvaluator", "dataset": "cifar10-mini", "root": None, "split": [0.5, 0.5],
                "supernet_kwargs": {}, "epochs": 2, "batch_size": 64, "learning_rate": 0.05, "momentum": 0.9,
                "weight_decay": 0.0003, "grad_clip": 5.0, "sampler": "uniform", "seed": 0, "warmup_epochs": 0,
                "recipe": 2, "repr": 'SupernetEvaluator({"batch_size": 64, "dataset": "cifar10-mini", "epochs": 2, '
                '"grad_clip": 5.0, "learning_rate": 0.05, "momentum": 0.9, "recipe": 2, "root": null, "sampler": '
                '"uniform", "seed": 0, "split": [0.5, 0.5], "supernet_kwargs": {}, "warmup_epochs": 0, '
                '"weight_decay": 0.0003}, metric=\'accuracy\', recalibration_images=512, val_images=None)'}
    compare = lambda old, new: legacy_differences({"evaluator": old}, {"evaluator": new}, {})  # noqa: E731
    # where it runs (device, checkpoint file) is no part of the identity
    assert compare(supernet, SupernetEvaluator(epochs=2, checkpoint="x.pt", device="cpu")) == []
    assert compare(supernet, SupernetEvaluator(epochs=3)) == ["evaluator.epochs"]
    assert compare(supernet, SupernetEvaluator(epochs=2, metric="loss")) == ["evaluator.metric"]
    assert compare(supernet, SupernetEvaluator(epochs=2, eval_dtype="bfloat16")) == ["evaluator.eval_dtype"]

    cost = ("CostEvaluator(metrics=('params', 'flops'), input_shape=(1, 3, 32, 32), net_kwargs={'C': 4}, "
            "device='auto')")
    composite = f"CompositeEvaluator([{cost}, ZDTEvaluator()], constraints=['f1 <= 1'])"
    selected = {"type": "SelectObjectives", "inner": {
        "type": "CompositeEvaluator", "members": [{"type": "CostEvaluator", "repr": cost},
                                                  {"type": "ZDTEvaluator", "repr": "ZDTEvaluator()"}],
        "repr": composite}, "repr": f"SelectObjectives({composite}, ['f1 (min)', 'params (min)'])"}

    def make(C=4, constraint="f1<=1", latency_repeats=20):
        members = [CostEvaluator(net_kwargs={"C": C}, latency_repeats=latency_repeats), ZDTEvaluator()]
        return SelectObjectives(CompositeEvaluator(members, constraints=[constraint]),
                                [Objective("f1", "min"), Objective("params", "min")])

    assert compare(selected, make()) == []
    assert compare(selected, make(C=8)) == ["evaluator.inner.evaluators.0.net_kwargs"]
    assert compare(selected, make(constraint="f1 <= 2")) == ["evaluator.inner.constraints"]
    # a setting the old repr did not list is matched only at its default
    assert compare(selected, make(latency_repeats=5)) == ["evaluator.inner.evaluators.0.latency_repeats"]


# ----------------------------------------------------------------------------- search.json


def test_a_search_started_from_python_writes_the_search_json_that_export_and_resume_read(tmp_path, capsys):
    from evonas.cli import main
    from evonas.evaluators.cost import CostEvaluator
    from evonas.spaces.nb201 import NB201Space

    run = tmp_path / "run"
    first = search(NB201Space(), registry.strategies.create("nsga2", pop_size=4),
                   CostEvaluator(net_kwargs={"C": 4, "N": 1}), budget=8, seed=0, run_dir=run, progress=False,
                   plots=False, constraints=["params <= 1e9"])
    record = json.loads((run / "search.json").read_text())
    assert record == {"space": "nb201", "strategy": "nsga2", "evaluator": "cost", "objectives": [],
                      "constraints": ["params <= 1e+09"], "budget": 8, "seed": 0, "run_dir": str(run),
                      "space_options": {}, "strategy_options": {"pop_size": 4},
                      "evaluator_options": {"net_kwargs": {"C": 4, "N": 1}}}
    # export takes the network options from it (the cost evaluator's net_kwargs)
    assert main(["export", str(run), "--exporter", "torchscript", "--quiet"]) == 0
    meta = json.loads((run / "export" / "front-00" / "meta.json").read_text())
    assert meta["space"] == "nb201" and meta["net_options"] == {"C": 4, "N": 1}
    # the command line resumes it, building the same components from it
    capsys.readouterr()
    assert main(["search", "--resume", str(run), "--budget", "12", "--quiet"]) == 0
    reference = search(NB201Space(), registry.strategies.create("nsga2", pop_size=4),
                       CostEvaluator(net_kwargs={"C": 4, "N": 1}), budget=12, seed=0, progress=False, plots=False,
                       constraints=["params <= 1e9"])
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) - 1 == len(reference.individuals) > len(first.individuals)


def test_the_command_line_and_python_write_the_same_search_json(tmp_path):
    from evonas.cli import main

    assert main(["search", "--space", "toy", "--space-opt", "length=6", "--strategy", "nsga2", "--pop-size", "10",
                 "--evaluator", "zdt", "hamming", "--objectives", "f1:min", "similarity:max", "--budget", "20",
                 "--run-dir", str(tmp_path / "cli2"), "--quiet"]) == 0
    from evonas.evaluators.base import CompositeEvaluator, Objective, SelectObjectives
    from evonas.testing import HammingEvaluator

    evaluator = SelectObjectives(CompositeEvaluator([ZDTEvaluator(), HammingEvaluator()]),
                                 [Objective("f1", "min"), Objective("similarity", "max")])
    search(ToySpace(length=6), registry.strategies.create("nsga2", pop_size=10), evaluator, budget=20, seed=0,
           run_dir=tmp_path / "py", progress=False, plots=False)
    from_cli = json.loads((tmp_path / "cli2" / "search.json").read_text())
    from_python = json.loads((tmp_path / "py" / "search.json").read_text())
    assert {k: v for k, v in from_cli.items() if k != "run_dir"} == \
        {k: v for k, v in from_python.items() if k != "run_dir"}
    assert from_python["evaluator"] == ["zdt", "hamming"] and from_python["objectives"] == ["f1:min",
                                                                                          "similarity:max"]


def test_a_run_killed_while_its_evaluator_sets_up_resumes_from_the_command_line(tmp_path, monkeypatch):
    from evonas.cli import main

    def killed(self, space):
        raise KeyboardInterrupt  # as a kill during a long set-up (training a supernet)

    monkeypatch.setattr(ZDTEvaluator, "_setup", killed)
    with pytest.raises(KeyboardInterrupt):
        search(ToySpace(length=6, choices=3), registry.strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
               budget=20, seed=0, run_dir=tmp_path, progress=False, plots=False)
    assert (tmp_path / "search.json").is_file() and not (tmp_path / "config.json").exists()
    monkeypatch.undo()
    assert main(["search", "--resume", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "front.json").is_file()


# ------------------------------------------------------------ options checked by name, type and range
@pytest.mark.parametrize("kind, name, options, message", [
    ("strategy", "evolution", {"pop_size": 4.5}, r"option 'pop_size' of RegularizedEvolution must be int, got 4.5"),
    ("strategy", "nsga2", {"pop_size": "20"}, r"'pop_size' of PymooStrategy must be int, got '20'"),
    ("strategy", "evolution", {"pop_size": True}, r"'pop_size' .* must be int, got True"),
    ("space", "darts", {"steps": "4"}, r"'steps' of DartsSpace must be int or None, got '4'"),
    ("evaluator", "supernet", {"epochs": 2.5}, r"'epochs' of SupernetEvaluator must be int"),
    ("strategy", "darts", {"lerning_rate": 0.1}, r"unknown option 'lerning_rate' of strategy 'darts'; did you mean "
                                                 r"'learning_rate'\?"),
    ("strategy", "stacnas", {"epoch": 1}, r"unknown option 'epoch' of strategy 'stacnas'; did you mean 'epochs'"),
    ("strategy", "darts", {"epochs": -1}, r"epochs must be a whole number >= 1, got -1"),
    ("strategy", "darts", {"epochs": "x"}, r"option 'epochs' of DartsSearch must be int, got 'x'"),
])
def test_options_are_checked_by_name_type_and_range_when_made(kind, name, options, message):
    import evonas

    with pytest.raises(ConfigError, match=message):
        evonas.create(kind, name, **options)


def test_options_that_fit_their_annotation_are_taken():
    import evonas

    assert evonas.create("strategy", "evolution", pop_size=np.int64(6)).get_params()["pop_size"] == 6
    assert evonas.create("strategy", "darts", learning_rate=1, epochs=2).get_params()["learning_rate"] == 1  # int
    assert evonas.create("space", "darts", steps=None).get_params()["steps"] is None  # None is the default
