"""Optional space capabilities are declared protocols; a component that needs one names what is missing."""
from __future__ import annotations

import pytest

from evonas.errors import ConfigError
from evonas.spaces.base import HasBounds, HasFairPaths, HasRepair, HasSupernet, require
from evonas.registry import spaces
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
