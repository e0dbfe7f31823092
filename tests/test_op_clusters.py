"""Op feature correlation and clustering (StacNAS' analysis): the statistics, the groupings, the command."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from evonas.cli import main
from evonas.errors import ConfigError
from evonas.op_clusters import EdgeFeatures, collect_op_features, consensus_groups, kmeans_groups
from evonas.spaces.darts import SearchNetwork


def _edge(features: np.ndarray, ops=None) -> EdgeFeatures:
    """EdgeFeatures of given per-op features (P, S, D), accumulated in one go."""
    P = features.shape[0]
    return EdgeFeatures(0, 0, 0, tuple(ops or (f"op{i}" for i in range(P))), features.shape[1],
                        features.sum(axis=1), np.einsum("psd,qsd->pq", features, features))


def test_streamed_statistics_equal_a_direct_computation():
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=10, layers=3).train()
    images = torch.randn(10, 3, 8, 8)
    edges = collect_op_features(net, [(images[:4], None), (images[4:], None)], max_images=9)
    assert net.training and not any(e._forward_hooks for c in net.cells for e in c.edges)  # restored
    assert len(edges) == 6 and [(e.node, e.input) for e in edges[:2]] == [(0, 0), (3, 4)]
    # directly: the input of cell 1's first edge, every op's output on the first 9 images
    captured = {}
    mixed = net.cells[1].edges[0]
    handle = mixed.register_forward_hook(lambda m, i, o: captured.update(x=i[0]))  # returns None: output kept
    net.eval()
    with torch.no_grad():
        net(images[:9])
        f = torch.stack([mixed.ops[k](captured["x"]).flatten(1) for k in edges[2].ops]).double().numpy()
    handle.remove()
    stats = edges[2]
    assert stats.cell == 1 and stats.count == 9 and "none" not in stats.ops and len(stats.ops) == 7
    assert np.allclose(stats.means(), f.mean(axis=1))
    centred = f - f.mean(axis=1, keepdims=True)
    cov = np.einsum("psd,qsd->pq", centred, centred)
    assert np.allclose(stats.covariance(), cov, rtol=1e-6, atol=1e-8)
    scale = np.sqrt(np.diag(cov))
    assert np.allclose(stats.correlation(), cov / np.outer(scale, scale), atol=1e-6)


def test_groupings_follow_hand_made_features():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 30, 12))
    # op0 and op1 nearly the same signal, op2 its negation scaled, op3 and op4 another signal
    features = np.stack([a, a + 0.01 * rng.normal(size=a.shape), -2 * a + 5, b, 3 * b])
    edge = _edge(features)
    corr = edge.correlation()
    assert corr[0, 1] > 0.99 and corr[0, 2] == pytest.approx(-1.0) and corr[3, 4] == pytest.approx(1.0)
    assert abs(corr[0, 3]) < 0.3
    # across edges: 1 - correlation puts {op0, op1} and {op3, op4} together, op2 (anti-correlated) apart
    assert consensus_groups([edge, edge], 3) == [0, 0, 1, 2, 2]
    # k-means on mean feature vectors: op2's mean (about 5) is far from the others' (about 0)
    labels = kmeans_groups(edge, 2, seed=1)
    assert labels[2] != labels[0] and len(set(labels[:2] + labels[3:])) == 1
    with pytest.raises(ConfigError, match="k must be in 1..5"):
        kmeans_groups(edge, 6)


def test_a_constant_op_has_zero_correlation_not_nan():
    rng = np.random.default_rng(1)
    edge = _edge(np.stack([rng.normal(size=(5, 4)), np.ones((5, 4))]))
    assert np.array_equal(edge.correlation(), np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_bad_settings_are_named():
    net = SearchNetwork(C=4, num_classes=10, layers=3)
    with pytest.raises(ConfigError, match="edges must be one of first-last, all"):
        collect_op_features(net, [], edges="some")
    with pytest.raises(ConfigError, match="no images"):
        collect_op_features(net, [])
    lonely = SearchNetwork(C=4, num_classes=10, layers=3, primitives=("none", "skip_connect"))
    with pytest.raises(ConfigError, match="holds 1 op"):
        collect_op_features(lonely, [(torch.randn(2, 3, 8, 8), None)])


def test_op_clusters_command_writes_heat_maps_and_reuses_its_network(tmp_path, capsys):
    out = tmp_path / "clusters"
    argv = ["op-clusters", "--epochs", "1", "--steps-per-epoch", "2", "--C", "4", "--layers", "3",
            "--batch-size", "16", "--images", "40", "--edges", "all", "--out", str(out), "--quiet",
            "--ops", "max_pool_3x3,avg_pool_3x3,skip_connect,sep_conv_3x3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "3 groups across edges" in printed
    report = json.loads((out / "op_clusters.json").read_text())
    assert report["ops"] == ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3"]
    assert report["images"] == 40 and len(report["edges"]) == 3 * 14 and set(report["consensus"]) == {"2", "3"}
    assert sorted(op for group in report["consensus"]["3"] for op in group) == sorted(report["ops"])
    for name in ("op_correlation.png", "op_correlation_edges.png", "op_correlation.csv", "search_network.pt"):
        assert (out / name).stat().st_size > 0
    first = (out / "search_network.pt").stat().st_mtime_ns
    assert main(argv) == 0  # the same settings: the trained network is loaded, the figures repeat
    assert (out / "search_network.pt").stat().st_mtime_ns == first
    assert json.loads((out / "op_clusters.json").read_text()) == report
    assert main(argv[:-2] + ["--ops", "skip_connect,bogus_op"]) == 2
    assert "bogus_op" in capsys.readouterr().err
    (out / "search_network.pt").write_bytes(b"PK\x03\x04 not a zip any more")  # a damaged cache: trained again
    assert main(argv) == 0
    assert (out / "search_network.pt").stat().st_size > 100
    assert json.loads((out / "op_clusters.json").read_text()) == report
