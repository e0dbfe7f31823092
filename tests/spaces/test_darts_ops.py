"""DARTS candidate ops: names, shapes, affine flags, search-mode BN."""
import pytest
import torch
from torch import nn

from evonas.spaces.darts.ops import (
    GENOTYPE_PRIMITIVES,
    OPS,
    PRIMITIVES,
    DilatedDepthwiseConv,
    FactorizedReduce,
    ReLUConvBN,
    SepConv,
    Zero,
    build_op,
    drop_path,
    is_identity,
)


def test_primitives_in_darts_order():
    assert PRIMITIVES == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                          "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
    assert GENOTYPE_PRIMITIVES == PRIMITIVES[1:]
    assert set(PRIMITIVES) <= set(OPS) and "sep_conv_7x7" in OPS


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_channels_and_strides(name, stride, size):
    op = OPS[name](4, stride, True)
    y = op(torch.randn(2, 4, size, size))
    out = -(-size // stride)
    assert y.shape == (2, 4, out, out)


def test_skip_connect_is_identity_at_stride_1_and_factorized_reduce_at_2():
    assert is_identity(OPS["skip_connect"](4, 1, True))
    assert isinstance(OPS["skip_connect"](4, 2, True), FactorizedReduce)
    assert not is_identity(OPS["skip_connect"](4, 2, True))


def test_zero_op_outputs_zeros():
    y = Zero(2)(torch.randn(1, 3, 6, 6))
    assert y.shape == (1, 3, 3, 3) and not y.any()


def test_affine_flag_controls_bn_parameters():
    assert sum(p.numel() for p in ReLUConvBN(4, 6, 1, 1, 0, affine=False).parameters()) == 4 * 6
    assert sum(p.numel() for p in ReLUConvBN(4, 6, 1, 1, 0, affine=True).parameters()) == 4 * 6 + 2 * 6
    sep = SepConv(4, 4, 3, 1, 1, affine=True)
    # two units of depthwise 3x3 (4*9) + pointwise (16) + BN (8)
    assert sum(p.numel() for p in sep.parameters()) == 2 * (36 + 16 + 8)


def test_avg_pool_excludes_padding():
    op = OPS["avg_pool_3x3"](1, 1, True)
    assert torch.allclose(op(torch.ones(1, 1, 4, 4)), torch.ones(1, 1, 4, 4))


def test_search_mode_appends_non_affine_bn_to_pools_only():
    for name in ("max_pool_3x3", "avg_pool_3x3"):
        op = build_op(name, 4, 1, affine=False, search=True)
        assert isinstance(op, nn.Sequential) and isinstance(op[1], nn.BatchNorm2d)
        assert not op[1].affine
    assert not isinstance(build_op("max_pool_3x3", 4, 1, affine=True), nn.Sequential)
    conv = build_op("sep_conv_3x3", 4, 1, affine=False, search=True)
    assert all(not m.affine for m in conv.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(KeyError, match="unknown op 'conv_9x9'"):
        build_op("conv_9x9", 4, 1, affine=False)


def test_factorized_reduce_matches_darts_on_even_input():
    fr = FactorizedReduce(4, 6, affine=False).eval()
    x = torch.randn(2, 4, 8, 8)
    r = torch.relu(x)
    expected = fr.bn(torch.cat([fr.conv_1(r), fr.conv_2(r[:, :, 1:, 1:])], dim=1))
    assert torch.allclose(fr(x), expected)
    with pytest.raises(ValueError, match="even C_out"):
        FactorizedReduce(4, 5)


def test_drop_path_zeroes_whole_samples_and_rescales():
    torch.manual_seed(1)
    x = torch.ones(64, 2, 3, 3)
    y = drop_path(x, 0.5)
    per_sample = y.flatten(1)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert bool((per_sample == per_sample[:, :1]).all())
    assert drop_path(x, 0.0) is x


@pytest.mark.parametrize("size", [8, 7, 5])
@pytest.mark.parametrize("kernel,padding", [(3, 2), (5, 4)])
def test_strided_dilated_conv_computes_the_same_on_the_subsampled_input(size, kernel, padding):
    conv = DilatedDepthwiseConv(4, kernel, 2, padding, 2).double()
    assert conv.subsample and isinstance(conv, nn.Conv2d)
    x = torch.randn(2, 4, size, size + 1, dtype=torch.float64, requires_grad=True)
    fast = conv(x)
    (gx_fast, gw_fast) = torch.autograd.grad(fast.square().sum(), (x, conv.weight))
    conv.subsample = False
    slow = conv(x)  # oneDNN's dilated, strided kernel
    (gx_slow, gw_slow) = torch.autograd.grad(slow.square().sum(), (x, conv.weight))
    assert fast.shape == slow.shape == (2, 4, (size + 1) // 2, (size + 2) // 2)
    for a, b in ((fast, slow), (gx_fast, gx_slow), (gw_fast, gw_slow)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_dilated_conv_keeps_darts_keys_and_only_rewrites_stride_equal_to_dilation():
    assert not DilatedDepthwiseConv(4, 3, 1, 2, 2).subsample  # stride 1: a plain dilated conv
    op = build_op("dil_conv_5x5", 4, 2, affine=False)
    assert isinstance(op.op[1], DilatedDepthwiseConv) and op.op[1].subsample
    assert list(op.state_dict()) == ["op.1.weight", "op.2.weight", "op.3.running_mean", "op.3.running_var",
                                     "op.3.num_batches_tracked"]
