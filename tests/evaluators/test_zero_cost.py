"""SynFlow zero-cost scores: deterministic, larger for networks with more (and wider) weights, any space."""
from __future__ import annotations

import math

import pytest

from evonas.errors import ConfigError
from evonas.evaluators.zero_cost import SynflowEvaluator
from evonas.registry import evaluators
from evonas.spaces.darts import DartsSpace
from evonas.spaces.nb201 import NB201Space


def test_synflow_on_nb201_cells():
    evaluator = evaluators.create("synflow", net_kwargs={"C": 8, "N": 1})
    evaluator.setup(NB201Space())
    convs, skips, nothing = evaluator.evaluate([("nor_conv_3x3",) * 6, ("skip_connect",) * 6, ("none",) * 6])
    assert convs["synflow"] > skips["synflow"] > nothing["synflow"] and math.isfinite(nothing["synflow"])
    again = evaluator.evaluate([("nor_conv_3x3",) * 6])[0]
    assert again == convs  # the same network is built with the same seed: the same score


def test_synflow_on_darts_networks_with_their_auxiliary_tuple_output():
    evaluator = SynflowEvaluator(net_kwargs={"C": 4, "layers": 3, "auxiliary": True})
    evaluator.setup(DartsSpace())
    wide = SynflowEvaluator(net_kwargs={"C": 8, "layers": 3})
    wide.setup(DartsSpace())
    narrow = evaluator.evaluate(["DARTS_V2"])[0]["synflow"]
    assert math.isfinite(narrow) and wide.evaluate(["DARTS_V2"])[0]["synflow"] > narrow
    with pytest.raises(ConfigError, match="input_shape"):
        SynflowEvaluator(input_shape=(3, 32, 32))
