"""What the Strategy base derives from what each class declares: state vs settings, chosen(), result_files()."""
from __future__ import annotations

import numpy as np

from evonas.callbacks import StrategyOutputs
from evonas.core import Objective
from evonas.strategies.base import Strategy
from evonas.testing import ToySpace


class Walker(Strategy):
    name = "walker"
    bound_attributes = ("step_rule",)  # built by _setup from the settings

    def __init__(self, *, width: int = 2) -> None:
        super().__init__(width=width)
        self.position = 0
        self.rows: list = []

    def _setup(self) -> None:
        self.step_rule = lambda p: p + 1  # not picklable: it must stay out of the state
        self.name = "walker-" + str(self.config["width"])  # a declared class attribute, set per instance

    def ask(self):
        return [self.space.sample(self.rng) for _ in range(self.config["width"])]

    def tell(self, archs, results):
        self.position = self.step_rule(self.position)


class Runner(Walker):
    bound_attributes = ("speed",)

    def _setup(self) -> None:
        super()._setup()
        self.speed = 3


def set_up(strategy):
    strategy.setup(ToySpace(length=4, choices=3), [Objective("similarity", "max")], np.random.default_rng(0))
    return strategy


def test_state_is_every_attribute_but_the_declared_settings_along_the_class_hierarchy():
    walker, runner = set_up(Walker()), set_up(Runner())
    assert sorted(walker.state_dict()) == ["position", "rng", "rows"]
    assert sorted(runner.state_dict()) == ["position", "rng", "rows"]  # speed (Runner) and step_rule (Walker)
    assert "speed" not in Walker._BOUND and {"speed", "step_rule", "name", "config"} <= Runner._BOUND
    walker.position = 5
    again = set_up(Walker())
    again.load_state_dict(walker.state_dict())
    assert again.position == 5 and again.name == "walker-2"


class Chooser(Walker):
    def chosen(self):
        return (1, 2, 0, 1)

    def result_files(self):
        return {"extra.json": {"position": self.position}}


def test_chosen_and_result_files_default_to_nothing_written(tmp_path):
    walker, chooser = set_up(Walker()), set_up(Chooser())
    assert walker.chosen() is None and walker.result_files() == {}
    for strategy, folder in ((walker, tmp_path / "walker"), (chooser, tmp_path / "chooser")):
        folder.mkdir()
        strategy.rows = [{"generation": 0, "position": 0}]
        StrategyOutputs(folder, "walk", "rows", strategy=strategy)._write(strategy, strategy.space)
    assert sorted(p.name for p in (tmp_path / "walker").iterdir()) == ["walk.csv"]
    assert sorted(p.name for p in (tmp_path / "chooser").iterdir()) == ["chosen.json", "chosen.txt", "extra.json",
                                                                       "walk.csv"]
