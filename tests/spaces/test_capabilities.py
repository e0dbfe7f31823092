"""Optional space capabilities are declared protocols; a component that needs one names what is missing."""
from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.registry import spaces
from evonas.spaces.base import HasBounds, HasFairPaths, HasRepair, HasSupernet, require
from evonas.testing import ToySpace


def test_registered_spaces_declare_what_they_offer():
    darts, scarlet, toy = spaces.create("darts"), spaces.create("scarlet"), ToySpace()
    assert isinstance(darts, HasSupernet) and isinstance(darts, HasBounds) and isinstance(darts, HasRepair)
    assert isinstance(scarlet, HasSupernet) and isinstance(scarlet, HasFairPaths)
    assert isinstance(toy, HasBounds) and not isinstance(toy, HasSupernet)


def test_a_missing_capability_is_named():
    from evonas.training.shared_supernet import SharedSupernet

    with pytest.raises(ConfigError, match=r"a weight-sharing supernet needs a space with build_supernet\(\) "
                                          r"\(HasSupernet\); ToySpace has none"):
        SharedSupernet(ToySpace())
    with pytest.raises(ConfigError, match=r"fair_paths\(\)"):
        require(spaces.create("darts"), HasFairPaths, "sampler='fair'")


# ------------------------------------------------------------------- capabilities components ask for
def test_builtin_spaces_declare_what_components_need():
    from evonas.spaces.base import HasAnalyticCost, HasCellTools, HasDrawing, HasRelaxation, HasTables
    from evonas.spaces.darts import DartsSpace
    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.scarlet import ScarletSpace

    darts, nb201, scarlet = DartsSpace(), NB201Space(), ScarletSpace()
    assert all(isinstance(darts, p) for p in (HasRelaxation, HasDrawing, HasAnalyticCost, HasCellTools))
    assert isinstance(nb201, HasRelaxation) and isinstance(nb201, HasTables) and isinstance(nb201, HasAnalyticCost)
    assert isinstance(nb201, HasDrawing) and not isinstance(scarlet, HasDrawing)
    assert not isinstance(nb201, HasCellTools) and not isinstance(scarlet, HasRelaxation)
    assert darts.cell_tools.edge_index(1, 0) == 2


def test_nb201_edge_expansion_opens_one_edge_and_masks_one_column():
    import torch

    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.nb201.arch import OPS

    space = NB201Space()
    arch = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none")
    expansion = space.expand_edge(None, arch, np.random.default_rng(0))
    (index, e), = expansion.rows
    assert index == 0 and expansion.names == OPS
    assert expansion.weights[0][e].tolist() == [0.0 if op == "none" else 1.0 for op in OPS]
    others = [row for row in range(6) if row != e]
    assert torch.equal(expansion.weights[0][others], space.path_weights(None, arch)[0][others])
    masked = expansion.masked(2)
    assert masked[0][e, 2] == 0 and expansion.weights[0][e, 2] == 1  # a copy: the expansion is unchanged
    assert expansion.child("avg_pool_3x3")[e] == "avg_pool_3x3"


def test_components_refuse_a_space_without_the_capability_by_name():
    import torch

    from evonas.context import SearchContext
    from evonas.registry import operators
    from evonas.testing import ToySpace

    class _Shared:
        module = torch.nn.Linear(2, 2)
        validation_batches = []

    ctx = SearchContext(evaluate=None, supernets=(_Shared(),))
    space = ToySpace()
    parent = space.sample(np.random.default_rng(0))
    for name in ("gradient", "perturbation"):
        operator = operators.create(name).setup(space)
        with pytest.raises(ConfigError, match="HasRelaxation"):
            operator([parent], np.random.default_rng(0), ctx)


def test_darts_standalone_options_map_and_check_the_run_settings():
    from evonas.spaces.darts import DartsSpace

    space = DartsSpace()
    options = space.standalone_options({"init_channels": 8, "layers": 5, "auxiliary": True, "batch_size": 4},
                                       num_classes=7, family="imagenet")
    assert options == {"num_classes": 7, "C": 8, "layers": 5, "auxiliary": True, "network": "imagenet"}
    with pytest.raises(ConfigError, match="layers must be >= 3"):
        space.standalone_options({"layers": 2}, num_classes=10, family="cifar")
    assert dict(DartsSpace.standalone_space_options) == {"allow_duplicate_inputs": True}


def test_nb201_draws_its_cell(tmp_path):
    from PIL import Image

    from evonas.spaces.nb201 import NB201Space

    space = NB201Space()
    path = space.draw("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|",
                      tmp_path / "cell.png", title="a cell")
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape[1] > 300 and image.std() > 10  # a drawing, not a blank page
    with pytest.raises(Exception, match="op"):
        space.draw(("conv_9x9",) * 6, tmp_path / "bad.png")
