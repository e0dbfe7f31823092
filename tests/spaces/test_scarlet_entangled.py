"""SCARLET supernet with entangled (nested) candidate weights."""
import numpy as np
import pytest
import torch

from evonas.errors import ConfigError
from evonas.spaces.scarlet import CHOICE_INDEX, ScarletNet, ScarletSupernet, resolve_arch
from evonas.spaces.scarlet.entangled import EntangledCandidates
from evonas.training.bn import recalibrate_bn

TINY = dict(variant="cifar", num_classes=10, width_mult=0.25, weight_sharing="entangled")


@pytest.mark.parametrize("stabilizer", [True, False])
def test_export_computes_exactly_the_supernet_path(stabilizer):
    net = ScarletSupernet(stabilizer=stabilizer, stabilizer_init="identity", **TINY)  # identity: exact equality
    x = torch.randn(4, 3, 16, 16)
    randoms = [tuple(np.random.default_rng(seed).integers(0, 12, 19)) for seed in range(4)]
    for arch in [resolve_arch(a) for a in randoms] + [resolve_arch("SCARLET_C")]:  # SCARLET-C has skips
        recalibrate_bn(net, lambda images, arch=arch: net(images, arch), [torch.randn(8, 3, 16, 16)])
        model = net.export(arch)
        assert isinstance(model, ScarletNet) and not model.training
        with torch.no_grad():
            assert torch.allclose(model(x), net(x, arch), atol=1e-6, rtol=0)


def test_candidates_are_nested_slices_of_one_block():
    layer = EntangledCandidates(16, 16, stride=1)
    x = torch.randn(2, 16, 8, 8)
    layer(x, CHOICE_INDEX["mb3_k3"]).sum().backward()
    hidden = layer.hidden[3]
    grad = layer.expand.grad
    assert grad[:hidden].abs().sum() > 0 and torch.count_nonzero(grad[hidden:]) == 0
    depthwise = layer.depthwise.grad[:hidden]
    assert depthwise[:, :, 2:5, 2:5].abs().sum() > 0  # the centre 3x3 of the 7x7 kernel
    assert torch.count_nonzero(depthwise[:, :, :2]) == 0 and torch.count_nonzero(depthwise[:, :, :, 5:]) == 0
    assert layer.se_squeeze.grad is None  # no SE on this choice
    # a choice's weights in InvertedResidual layout: the same tensors, copied
    state = layer.candidate_state_dict(CHOICE_INDEX["mb6_k5_se"])
    assert state["expand.weight"].shape == layer.expand.shape
    assert torch.equal(state["depthwise.weight"], layer.depthwise[:, :, 1:6, 1:6])
    assert state["squeeze_excite.squeeze.weight"].shape == (layer.hidden[6] // 4, layer.hidden[6], 1, 1)
    state["expand.weight"].zero_()
    assert torch.count_nonzero(layer.expand) > 0


def test_each_candidate_keeps_its_own_batch_norm():
    layer = EntangledCandidates(8, 8, stride=1)
    before = [bn.running_mean.clone() for bn in layer.bn1]
    layer(torch.randn(4, 8, 8, 8) + 3.0, 5)
    changed = [i for i, bn in enumerate(layer.bn1) if not torch.equal(bn.running_mean, before[i])]
    assert changed == [5]


def test_entangled_supernet_is_much_smaller_and_checks_its_option():
    independent = ScarletSupernet(**{**TINY, "weight_sharing": "independent"})
    entangled = ScarletSupernet(**TINY)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(entangled) < count(independent) / 3
    with pytest.raises(ConfigError, match="weight_sharing"):
        ScarletSupernet(**{**TINY, "weight_sharing": "nested"})
