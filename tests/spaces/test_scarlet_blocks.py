"""SCARLET building blocks: activations, squeeze-excite, MBConv internals, the stabilizer."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evonas.errors import ConfigError
from evonas.spaces.scarlet.blocks import (
    HSigmoid,
    HSwish,
    InvertedResidual,
    SkipProjection,
    SqueezeExcite,
    Stabilizer,
    init_weights,
    make_divisible,
)


def test_hard_activations_are_the_relu6_definitions():
    x = torch.linspace(-6, 6, 241)
    assert torch.allclose(HSwish()(x), x * F.relu6(x + 3) / 6, atol=1e-7)
    assert torch.allclose(HSigmoid()(x), F.relu6(x + 3) / 6, atol=1e-7)


def test_squeeze_excite_reduces_by_four_with_biases_relu_and_hsigmoid():
    se = SqueezeExcite(24)
    assert (se.squeeze.in_channels, se.squeeze.out_channels) == (24, 6)
    assert (se.excite.in_channels, se.excite.out_channels) == (6, 24)
    assert se.squeeze.bias is not None and se.excite.bias is not None
    assert SqueezeExcite(30).squeezed == 7  # floor division, as the released code
    x = torch.randn(2, 24, 5, 5)
    pooled = x.mean((2, 3), keepdim=True)
    scale = F.relu6(se.excite(F.relu(se.squeeze(pooled))) + 3) / 6
    assert torch.allclose(se(x), x * scale, atol=1e-6)
    with pytest.raises(ConfigError, match="at least 4 channels"):
        SqueezeExcite(3)


def test_inverted_residual_layout_se_on_the_expanded_width():
    block = InvertedResidual(16, 24, expansion=6, kernel=5, stride=2, se=True)
    assert block.hidden == 96 and block.expand.out_channels == 96
    assert block.depthwise.groups == 96 and block.depthwise.kernel_size == (5, 5) and block.depthwise.stride == (2, 2)
    assert block.squeeze_excite.channels == 96 and block.squeeze_excite.squeezed == 24
    assert isinstance(block.act1, nn.Hardswish) and isinstance(block.act2, nn.Hardswish)
    assert all(m.bias is None for m in (block.expand, block.depthwise, block.project))
    # linear bottleneck: the block ends with project -> BN, nothing after it
    assert list(dict(block.named_children()))[-2:] == ["project", "bn3"]
    assert block(torch.randn(2, 16, 9, 9)).shape == (2, 24, 5, 5)
    plain = InvertedResidual(16, 16, expansion=3, kernel=3, stride=1, se=False)
    assert plain.hidden == 48 and isinstance(plain.squeeze_excite, nn.Identity)


@pytest.mark.parametrize("in_ch, out_ch, stride, residual", [
    (16, 16, 1, True), (16, 24, 1, False), (16, 16, 2, False), (16, 24, 2, False)])
def test_residual_only_at_stride_one_and_equal_width(in_ch, out_ch, stride, residual):
    block = InvertedResidual(in_ch, out_ch, expansion=3, kernel=3, stride=stride, se=True).eval()
    assert block.use_residual is residual
    nn.init.zeros_(block.bn3.weight)  # the branch now outputs exactly 0
    x = torch.randn(1, in_ch, 8, 8)
    out = block(x)
    if residual:
        assert torch.equal(out, x)
    else:
        assert torch.count_nonzero(out) == 0


def test_bad_block_options():
    with pytest.raises(ConfigError, match="stride"):
        InvertedResidual(8, 8, 3, 3, stride=3, se=False)
    with pytest.raises(ConfigError, match="odd"):
        InvertedResidual(8, 8, 3, 4, stride=1, se=False)


def test_stabilizer_is_a_bias_free_linear_1x1_conv_initialised_to_identity():
    stab = Stabilizer(24, 24, init="identity")
    assert [name for name, _ in stab.named_parameters()] == ["conv.weight"]
    assert stab.conv.kernel_size == (1, 1) and stab.conv.bias is None
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Hardswish)) for m in stab.modules())
    x = torch.randn(2, 24, 6, 6)
    assert torch.equal(stab(x), x)
    # linear: A(a x + b y) = a A x + b A y, also after training moved A off the identity
    nn.init.normal_(stab.conv.weight)
    y = torch.randn_like(x)
    assert torch.allclose(stab(2 * x - 3 * y), 2 * stab(x) - 3 * stab(y), atol=1e-4)


def test_stabilizer_inits_and_shapes():
    kaiming = Stabilizer(16, 16, init="kaiming")
    assert not torch.equal(kaiming.conv.weight.view(16, 16), torch.eye(16))
    wide = Stabilizer(16, 24, init="identity")  # width change: eye_ passes the first 16 channels through
    x = torch.randn(1, 16, 4, 4)
    out = wide(x)
    assert out.shape == (1, 24, 4, 4) and torch.equal(out[:, :16], x) and torch.count_nonzero(out[:, 16:]) == 0
    assert Stabilizer(16, 24, stride=2)(x).shape == (1, 24, 2, 2)
    with pytest.raises(ConfigError, match="init"):
        Stabilizer(8, 8, init="zeros")
    with pytest.raises(ConfigError, match="stride"):
        Stabilizer(8, 8, stride=3)


def test_init_weights_keeps_each_stabilizer_s_own_init():
    model = nn.Sequential(nn.Conv2d(8, 8, 3), Stabilizer(8, 8, init="identity"), nn.BatchNorm2d(8),
                          SkipProjection(8, 16, 2))
    init_weights(model)
    assert torch.equal(model[1].conv.weight.view(8, 8), torch.eye(8))
    assert torch.equal(model[2].weight, torch.ones(8)) and torch.equal(model[2].bias, torch.zeros(8))
    assert model[3](torch.randn(1, 8, 4, 4)).shape == (1, 16, 2, 2)


def test_make_divisible_rounds_to_multiples_of_eight():
    assert [make_divisible(v) for v in (8, 16 * 0.5, 40 * 0.75, 96 * 0.35, 4, 20)] == [8, 8, 32, 32, 8, 24]
    assert make_divisible(11) == 16  # 8 would be more than 10 % below 11
