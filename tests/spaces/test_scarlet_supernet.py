"""The SCARLET supernet: single-path forward, stabilizer equivalence, export."""
import numpy as np
import pytest
import torch
from torch import nn

from evonas.counting import count_params
from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.scarlet import SKIP, ScarletNet, ScarletSupernet, SkipProjection, Stabilizer, resolve_arch
from evonas.training.bn import recalibrate_bn

TINY = dict(variant="cifar", num_classes=10, width_mult=0.25)
#: SCARLET-C has skips at layers 4, 5 and 16
PATH = resolve_arch("SCARLET_C")


def _warm_bn(net, arch):
    """Recalibrate the BN statistics to ``arch``'s path (eval-mode outputs then carry the input's signal)."""
    recalibrate_bn(net, lambda x: net(x, arch), [torch.randn(8, 3, 16, 16) for _ in range(2)])


def test_identity_stabilizer_gives_exactly_the_plain_skip_output():
    stabilized = ScarletSupernet(stabilizer=True, stabilizer_init="identity", **TINY)
    _warm_bn(stabilized, PATH)
    plain = ScarletSupernet(stabilizer=False, **TINY)
    missing, unexpected = plain.load_state_dict(stabilized.state_dict(), strict=False)
    assert not missing and unexpected and all(".stabilizer." in k for k in unexpected)
    plain.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        a, b = stabilized(x, PATH), plain(x, PATH)
    assert torch.allclose(a, b, atol=1e-6, rtol=0)  # bit-identical on the CPU build
    assert (a[0] - a[1]).abs().max() > 1e-3  # the compared logits do depend on the input
    # the stabilizer is on the path: once it leaves the identity the outputs differ
    with torch.no_grad():
        stabilized.layers[3].stabilizer.conv.weight.mul_(1.5)
        assert not torch.allclose(stabilized(x, PATH), b, atol=1e-3)


def test_stabilizers_exist_only_where_skip_is_legal():
    net = ScarletSupernet(**TINY)
    with_stabilizer = [layer.spec.index for layer in net.layers if layer.stabilizer is not None]
    assert with_stabilizer == [2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18]
    assert all(isinstance(net.layers[i - 1].stabilizer, Stabilizer) for i in with_stabilizer)
    assert all(len(layer.candidates) == 12 for layer in net.layers)
    # SE and non-SE variants have their own weights
    assert net.layers[1].candidates[2].expand.weight is not net.layers[1].candidates[3].expand.weight
    assert all(layer.stabilizer is None for layer in ScarletSupernet(stabilizer=False, **TINY).layers)


def test_forward_path_trains_only_the_chosen_candidates():
    net = ScarletSupernet(**TINY)
    out = net(torch.randn(2, 3, 16, 16), PATH)
    assert out.shape == (2, 10)
    out.sum().backward()
    used = {id(p) for p in net.path_parameters(PATH)}
    with_grad = {id(p) for p in net.parameters() if p.grad is not None}
    assert with_grad == used
    for layer, gene in zip(net.layers, PATH):
        for j, candidate in enumerate(layer.candidates):
            assert all((p.grad is not None) == (j == gene) for p in candidate.parameters())
        if layer.stabilizer is not None:
            assert (layer.stabilizer.conv.weight.grad is not None) == (gene == SKIP)


def test_illegal_skip_is_refused_by_the_supernet():
    net = ScarletSupernet(**TINY)
    arch = list(PATH)
    arch[6] = SKIP
    with pytest.raises(GenotypeError, match=r"layer 7 \(stride 2, 40 -> 80 channels\): skip is not allowed"):
        net(torch.randn(1, 3, 16, 16), arch)


def test_export_has_no_stabilizer_weights_and_computes_the_same_path():
    net = ScarletSupernet(stabilizer_init="identity", **TINY)  # identity stabilizers: the export is exact
    _warm_bn(net, PATH)
    model = net.export(PATH)
    assert isinstance(model, ScarletNet) and not model.training
    assert not [name for name, _ in model.named_parameters() if "stabilizer" in name]
    assert all(isinstance(model.blocks[i - 1], nn.Identity) for i in (4, 5, 16))
    assert count_params(model) == count_params(ScarletNet(PATH, **TINY))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), net(x, PATH), atol=1e-6, rtol=0)
    # the export is a copy: training it does not touch the supernet
    with torch.no_grad():
        model.blocks[0].expand.weight.zero_()
    assert torch.count_nonzero(net.layers[0].candidates[PATH[0]].expand.weight) > 0


@pytest.mark.parametrize("rule, layer, stride, shape", [("stride1", 11, 1, (48, 40)), ("all", 7, 2, (40, 24))])
def test_skip_rules_beyond_identity_use_a_shaped_stabilizer_and_export_a_projection(rule, layer, stride, shape):
    net = ScarletSupernet(variant="cifar", num_classes=10, width_mult=0.5, skip_rule=rule, stabilizer_init="kaiming")
    stabilizer = net.layers[layer - 1].stabilizer
    assert tuple(stabilizer.conv.weight.shape[:2]) == shape and stabilizer.stride == stride
    arch = list(PATH)
    arch[layer - 1] = SKIP
    arch[3] = 0  # no width-preserving skip: with kaiming init those would not fold into an identity
    arch[4] = 0
    arch[15] = 0
    _warm_bn(net, arch)
    model = net.export(arch)
    assert isinstance(model.blocks[layer - 1], SkipProjection)
    assert torch.equal(model.blocks[layer - 1].conv.weight, stabilizer.conv.weight)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), net(x, arch), atol=1e-5, rtol=0)
    # the ablation keeps the projection where no identity exists
    ablation = ScarletSupernet(variant="cifar", width_mult=0.5, stabilizer=False, skip_rule=rule)
    assert ablation.layers[layer - 1].stabilizer is not None and ablation.layers[3].stabilizer is None


def test_supernet_options_are_checked():
    with pytest.raises(ConfigError, match="skip_rule"):
        ScarletSupernet(skip_rule="sometimes", **TINY)
    with pytest.raises(ConfigError, match="stabilizer_init"):
        ScarletSupernet(stabilizer_init="zeros", **TINY)
    with pytest.raises(ConfigError, match="variant"):
        ScarletSupernet(variant="svhn")


def test_imagenet_supernet_path_on_a_small_input():
    net = ScarletSupernet(variant="imagenet", num_classes=5, width_mult=0.25)
    arch = np.asarray(resolve_arch("SCARLET_B"))
    assert net(torch.randn(1, 3, 64, 64), arch).shape == (1, 5)


def test_stabilizers_start_random_by_default_as_published():
    net = ScarletSupernet(**TINY)
    weights = [layer.stabilizer.conv.weight for layer in net.layers if layer.stabilizer is not None]
    assert weights and all(w.shape[0] == w.shape[1] for w in weights)
    for w in weights:  # the released convolution initialisation: N(0, sqrt(2 / C_out))
        assert not torch.equal(w.view(w.shape[0], -1), torch.eye(w.shape[0]))
    every = torch.cat([w.flatten() for w in weights])
    expected = torch.cat([torch.full((w.numel(),), (2.0 / w.shape[0]) ** 0.5) for w in weights])
    assert (every.std() / expected.pow(2).mean().sqrt()).item() == pytest.approx(1.0, abs=0.1)
    # so the stabilized supernet is not the plain one at initialisation
    plain = ScarletSupernet(stabilizer=False, **TINY)
    plain.load_state_dict(net.state_dict(), strict=False)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():  # training-mode BN: logits of a usable scale
        a, b = net(x, PATH), plain(x, PATH)
    assert (a - b).abs().max() > 0.1 * b.abs().max()
