"""Which candidate ops behave alike? Correlation and clustering of the features ops produce on an edge.

StacNAS (Li et al., 2019) groups DARTS' ops (pooling, identity, separable,
dilated) because, on the same edge of a trained search network, ops of one
group give highly correlated outputs; correlated ops split their
architecture weight between them in a DARTS mixture, so a group can lose to
a dissimilar op. This module measures that for any op list, so users can
derive groups for their own ops:

* :func:`collect_op_features` runs images through a DARTS
  :class:`~evonas.spaces.darts.supernet.SearchNetwork` (eval mode) and, on
  chosen edges, feeds the edge's input to every op but ``none``, keeping per
  op the sum of its flattened outputs and, per op pair, the sum of their
  dot products (streamed: the memory does not grow with the images).
* :class:`EdgeFeatures` turns these into each op's mean feature vector, the
  covariance between ops (over images and feature positions, as StacNAS'
  ``feature.py``: ``sum_s (f_si - mu_i) . (f_sj - mu_j)``) and the
  correlation.
* :func:`kmeans_groups` clusters an edge's ops by their mean feature vectors
  with k-means (StacNAS: k = 2 .. min(ops, 4); here at most ops - 1, since
  k = ops puts every op alone); :func:`consensus_groups`
  clusters them across edges, by average linkage on ``1 - correlation``
  averaged over the edges.
* :func:`write_op_clusters` writes ``op_clusters.json``, ``op_correlation.csv``
  and the heat maps ``op_correlation.png`` (mean over edges) and
  ``op_correlation_edges.png`` (one panel per edge).

StacNAS looks at two edges per cell, the first edge of the first node and the
last edge of the last node (``edges="first-last"``); ``edges="all"`` takes
every edge. The command is ``evonas op-clusters``.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from evonas.errors import ConfigError

log = logging.getLogger(__name__)

EDGE_SETS = ("first-last", "all")


@dataclass
class EdgeFeatures:
    """Streamed feature statistics of the ops of one edge.

    ``sums``: (P, D) float64, per op the sum over images of its flattened output (D = C * H * W);
    ``gram``: (P, P) float64, the sum over images of the dot products of two ops' outputs.
    """

    cell: int
    node: int
    input: int
    ops: tuple
    count: int
    sums: np.ndarray
    gram: np.ndarray

    @property
    def name(self) -> str:
        return f"cell{self.cell}_node{self.node}_input{self.input}"

    def means(self) -> np.ndarray:
        """(P, D): each op's mean output."""
        return self.sums / max(self.count, 1)

    def covariance(self) -> np.ndarray:
        """(P, P): ``sum_s (f_si - mu_i) . (f_sj - mu_j)`` over images s."""
        means = self.means()
        return self.gram - self.count * means @ means.T

    def correlation(self) -> np.ndarray:
        """(P, P) in [-1, 1]; 0 where an op's output does not vary."""
        cov = self.covariance()
        scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        outer = np.outer(scale, scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.where(outer > 0, cov / outer, 0.0)
        np.fill_diagonal(corr, np.where(scale > 0, 1.0, 0.0))
        return np.clip(corr, -1.0, 1.0)


def _cell_tools(space: Any = "darts"):
    """The DARTS-style cell tools of ``space`` (a registry name or a space object)."""
    from evonas.registry import spaces
    from evonas.spaces.base import HasCellTools, require

    space = spaces.create(space) if isinstance(space, str) else space
    return require(space, HasCellTools, "op clustering (DARTS-style cells)").cell_tools


def _edges_of(network, edges: str) -> list[tuple[int, int, int, int]]:
    """(cell, node, input, edge index) of the edges to watch."""
    tools = _cell_tools()
    edge_index, edge_list = tools.edge_index, tools.edge_list
    if edges not in EDGE_SETS:
        raise ConfigError(f"edges must be one of {', '.join(EDGE_SETS)}, got {edges!r}")
    steps = network.steps
    chosen = [(0, 0), (steps - 1, steps)] if edges == "first-last" else edge_list(steps)
    return [(c, node, inp, edge_index(node, inp)) for c in range(len(network.cells)) for node, inp in chosen]


def collect_op_features(network: torch.nn.Module, batches: Iterable, *, edges: str = "first-last",
                        max_images: int | None = None) -> list[EdgeFeatures]:
    """Feature statistics of every op but ``none`` on the chosen edges of ``network``.

    ``network``: a DARTS ``SearchNetwork`` (continuous mode; put in eval mode here and restored after);
    ``batches``: ``(images (N, 3, H, W), targets)`` pairs on the network's device; ``max_images`` caps them.
    Raises ConfigError when an edge holds fewer than two ops to compare.
    """
    watched = _edges_of(network, edges)
    stats: dict[tuple[int, int], EdgeFeatures] = {}
    handles = []

    def hook_for(cell: int, node: int, inp: int, e: int):
        mixed = network.cells[cell].edges[e]
        keys = [key for key, name in zip(mixed.keys, mixed.primitives) if name != "none"]
        if len(keys) < 2:
            raise ConfigError(f"edge {e} of cell {cell} holds {len(keys)} op(s) besides 'none'; nothing to compare")

        def hook(module, inputs, output) -> None:
            xs = module._split(inputs[0])[0]
            features = torch.stack([module.ops[key](xs).flatten(1) for key in keys]).double()  # (P, N, D)
            entry = stats.get((cell, e))
            if entry is None:
                entry = stats[(cell, e)] = EdgeFeatures(cell, node, inp, tuple(keys), 0,
                                                        np.zeros(features.shape[::2]), np.zeros((len(keys),) * 2))
            entry.count += features.shape[1]
            entry.sums += features.sum(dim=1).cpu().numpy()
            entry.gram += torch.einsum("pnd,qnd->pq", features, features).cpu().numpy()
        return mixed.register_forward_hook(hook)

    was_training = network.training
    network.eval()
    seen = 0
    try:
        handles = [hook_for(*w) for w in watched]
        with torch.no_grad():
            for images, _ in batches:
                if max_images is not None:
                    images = images[: max_images - seen]
                    if len(images) == 0:
                        break
                network(images)
                seen += len(images)
    finally:
        for handle in handles:
            handle.remove()
        network.train(was_training)
    if not seen:
        raise ConfigError("no images reached the network: the data is empty")
    return [stats[(c, e)] for c, _, _, e in watched]


def kmeans_groups(features: EdgeFeatures, k: int, *, seed: int = 0) -> list[int]:
    """k-means (k-means++ start, scipy) of the edge's ops by their mean feature vectors: a label per op."""
    from scipy.cluster.vq import kmeans2

    means = features.means()
    if not 1 <= k <= len(means):
        raise ConfigError(f"k must be in 1..{len(means)} (the ops compared), got {k}")
    _, labels = kmeans2(means, k, minit="++", seed=np.random.default_rng(seed))
    return _canonical(labels)


def consensus_groups(edges: Sequence[EdgeFeatures], k: int) -> list[int]:
    """Average-linkage clustering on ``1 - correlation`` averaged over ``edges`` (same ops): a label per op."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    distance = 1.0 - mean_correlation(edges)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(np.clip((distance + distance.T) / 2, 0.0, None), checks=False), method="average")
    return _canonical(fcluster(tree, t=k, criterion="maxclust") - 1)


def mean_correlation(edges: Sequence[EdgeFeatures]) -> np.ndarray:
    """(P, P): the correlation matrices of ``edges`` averaged (they must hold the same ops)."""
    if len({e.ops for e in edges}) != 1:
        raise ConfigError("the edges hold different ops; compare them edge by edge")
    return np.mean([e.correlation() for e in edges], axis=0)


def _canonical(labels) -> list[int]:
    """Relabel so that groups are numbered in the order their first op appears."""
    order: dict[int, int] = {}
    return [order.setdefault(int(label), len(order)) for label in labels]


def _named(ops: Sequence[str], labels: Sequence[int]) -> list[list[str]]:
    return [[op for op, label in zip(ops, labels) if label == g] for g in range(max(labels) + 1)]


def write_op_clusters(edges: Sequence[EdgeFeatures], out_dir: str | os.PathLike, *, max_k: int = 4,
                      seed: int = 0) -> dict:
    """Write ``op_clusters.json``, ``op_correlation.csv`` and the heat maps; return the JSON's content.

    k runs over 2 .. min(ops - 1, ``max_k``), per edge by k-means on mean features, across edges by
    :func:`consensus_groups`.
    """
    from evonas.runtime.atomic import atomic_write_csv, atomic_write_text
    from evonas.viz.heatmap import plot_correlation, plot_correlation_grid

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ops = list(edges[0].ops)
    ks = list(range(2, min(len(ops) - 1, max_k) + 1))  # k = number of ops would put every op alone
    mean = mean_correlation(edges)
    report = {
        "ops": ops,
        "images": edges[0].count,
        "mean_correlation": mean.round(4).tolist(),
        "consensus": {str(k): _named(ops, consensus_groups(edges, k)) for k in ks},
        "edges": [{"name": e.name, "cell": e.cell, "node": e.node, "input": e.input,
                   "correlation": e.correlation().round(4).tolist(),
                   "kmeans": {str(k): _named(ops, kmeans_groups(e, k, seed=seed)) for k in ks}} for e in edges],
    }
    atomic_write_text(out / "op_clusters.json", json.dumps(report, indent=1) + "\n")
    rows = [{"edge": e.name, "op_a": a, "op_b": b, "correlation": round(float(e.correlation()[i, j]), 6)}
            for e in edges for i, a in enumerate(ops) for j, b in enumerate(ops) if i < j]
    atomic_write_csv(out / "op_correlation.csv", rows)
    plot_correlation(mean, ops, out / "op_correlation.png",
                     title=f"op correlation, mean over {len(edges)} edges ({edges[0].count} images)")
    plot_correlation_grid([(e.name, e.correlation()) for e in edges], ops, out / "op_correlation_edges.png")
    return report


def train_search_network(out_dir: str | os.PathLike, *, ops: Sequence[str], dataset: str = "cifar10-mini",
                         root: str | None = None, epochs: int = 2, C: int = 8, layers: int = 5,
                         steps_per_epoch: int | None = None, batch_size: int = 64, seed: int = 0,
                         device: str = "auto", progress: bool = True) -> torch.nn.Module:
    """A DARTS search network over ``ops`` (and ``none``) trained by first-order DARTS for ``epochs``.

    The trained weights are kept in ``out_dir/search_network.pt`` with the settings that made them; a
    later call with the same settings loads them instead of training again.
    """
    from evonas.evaluators.cost import CostEvaluator
    from evonas.loop import search
    from evonas.registry import spaces
    from evonas.runtime.atomic import atomic_torch_save
    from evonas.strategies.gradient import DartsSearch

    ops = tuple(op for op in ops if op != "none")
    settings = {"ops": list(ops), "dataset": dataset, "root": root, "epochs": epochs, "C": C, "layers": layers,
                "steps_per_epoch": steps_per_epoch, "batch_size": batch_size, "seed": seed}
    strategy = DartsSearch(epochs=epochs, C=C, layers=layers, steps_per_epoch=steps_per_epoch,
                           batch_size=batch_size, dataset=dataset, root=root, device=device)
    space, evaluator = spaces.create("darts", primitives=ops), CostEvaluator(metrics=("params",))
    cache = Path(out_dir) / "search_network.pt"
    if cache.exists():
        try:
            saved = torch.load(cache, map_location="cpu", weights_only=True)
        except Exception as exc:  # a damaged file raises almost any type; it is a cache: train again
            log.warning("%s cannot be read (%s: %s); training the search network again", cache,
                        type(exc).__name__, str(exc)[:200])
            saved = None
        if isinstance(saved, dict) and saved.get("settings") == settings:
            strategy.setup(space, evaluator.objectives, np.random.default_rng(seed))
            strategy.module.load_state_dict(saved["state"])
            return strategy.module
    search(space, strategy, evaluator, budget=epochs, seed=seed, progress=progress)
    atomic_torch_save({"settings": settings, "state": strategy.module.state_dict()}, cache)
    return strategy.module


def run_op_clusters(out_dir: str | os.PathLike, *, ops: Sequence[str], images: int = 512,
                    edges: str = "first-last", max_k: int = 4, **training) -> dict:
    """Train (or load) a search network over ``ops``, measure its ops on ``images`` training images
    (no augmentation, a seeded random subset), write the results to ``out_dir``; return the report.

    ``training``: the options of :func:`train_search_network` (``dataset``, ``epochs``, ``C``, ...).
    """
    from torch.utils.data import DataLoader

    from evonas.data import Subset, dataset_family, default_transforms, get_dataset

    if not isinstance(max_k, int) or max_k < 2:
        raise ConfigError(f"max_k must be >= 2 (groups of ops to try), got {max_k!r}")
    if len(tuple(op for op in ops if op != "none")) < 3:
        raise ConfigError(f"op clustering needs at least 3 ops to group, got {list(ops)}")

    if images < 2:
        raise ConfigError(f"images must be at least 2, got {images}")
    network = train_search_network(out_dir, ops=ops, **training)
    base = get_dataset(training.get("dataset", "cifar10-mini"), root=training.get("root"))
    _, plain = default_transforms(dataset_family(base))
    rng = np.random.default_rng(training.get("seed", 0))
    chosen = rng.permutation(len(base.targets))[:images]
    device = next(network.parameters()).device
    loader = DataLoader(Subset(base, chosen, plain), batch_size=64)
    batches = ((x.to(device), y) for x, y in loader)
    report = write_op_clusters(collect_op_features(network, batches, edges=edges), out_dir, max_k=max_k,
                               seed=training.get("seed", 0))
    return report


__all__ = ["EDGE_SETS", "EdgeFeatures", "collect_op_features", "consensus_groups", "kmeans_groups",
           "mean_correlation", "run_op_clusters", "train_search_network", "write_op_clusters"]
