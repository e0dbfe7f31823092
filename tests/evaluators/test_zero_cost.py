"""SynFlow and NASWOT zero-cost scores: deterministic, larger for networks with more (and wider) weights, any
space."""
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
    assert convs["synflow"] > skips["synflow"] and math.isfinite(skips["synflow"])
    assert nothing["synflow"] == -math.inf  # no path from the input to the output: no synaptic flow at all
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


def test_naswot_kernel_counts_agreeing_activation_codes():
    import torch

    from evonas.evaluators.zero_cost import naswot_score

    # one ReLU on the identity: the codes are the signs of the pixels themselves
    images = torch.tensor([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, -1.0]]).view(3, 3, 1, 1)
    codes = (images.flatten(1) > 0).double()
    kernel = codes @ codes.t() + (1 - codes) @ (1 - codes).t()
    relu = torch.nn.Sequential(torch.nn.ReLU())
    relu.eval()
    assert naswot_score(relu, images) == pytest.approx(math.log(abs(torch.linalg.det(kernel).item())))
    assert not relu.training  # flags restored
    # a network that maps every image to the same codes cannot tell them apart: singular kernel
    constant = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 4), torch.nn.ReLU())
    with torch.no_grad():
        constant[1].weight.zero_()
        constant[1].bias.fill_(1.0)
    assert naswot_score(constant, images) == -math.inf
    with pytest.raises(ConfigError, match="no ReLU"):
        naswot_score(torch.nn.Flatten(), images)


def test_naswot_ranks_nb201_cells_and_beats_the_parameter_count():
    import numpy as np
    from scipy.stats import kendalltau

    from evonas.evaluators.tabular import load_nb201_table
    from evonas.spaces.nb201.cost import nb201_params

    space, table = NB201Space(), load_nb201_table()
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(120)]
    evaluator = evaluators.create("naswot", batch_size=32, net_kwargs={"C": 8, "N": 1})
    evaluator.setup(space)
    scores = [row["naswot"] for row in evaluator.evaluate(archs)]
    assert scores == [row["naswot"] for row in evaluator.evaluate(archs)]  # deterministic
    truth = [table[space.key(a)]["cifar10_test"] for a in archs]
    tau = kendalltau(scores, truth)[0]
    assert tau > 0.35 and tau > kendalltau([nb201_params(a) for a in archs], truth)[0]
    with pytest.raises(ConfigError, match="batch_size"):
        evaluators.create("naswot", batch_size=1)
