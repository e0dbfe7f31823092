"""Weight-sharing NAS-Bench-201 supernet: every edge holds all five ops.

``supernet(x, arch)`` runs one architecture's path (only its ops compute:
single-path one-shot); ``supernet(x)`` mixes every edge's ops with
``softmax(alphas)`` (DARTS, eq. 2; ``alphas`` (6, 5), one row per edge in
the benchmark's order), so gradient methods run on it too;
``supernet(x, weights=W)`` mixes with given (6, 5) weights as they are (no
softmax: a 0/1 ``W`` of one architecture computes its path exactly, with
every other op at weight 0, so ``d loss / d W`` is the first-order effect
of swapping any op in; ops at weight 0 are not run when ``W`` needs no
gradient). Macro layout as the stand-alone network
(:mod:`evonas.spaces.nb201.network`).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from evonas.spaces.nb201.arch import EDGES, OPS, validate_arch
from evonas.spaces.nb201.network import ResidualReduction, make_op, stage_layout


class MixedEdge(nn.Module):
    """The five ops of one edge."""

    def __init__(self, C: int) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({name: make_op(name, C) for name in OPS})

    def forward(self, x: torch.Tensor, op: Optional[str] = None, weights: Optional[torch.Tensor] = None):
        if op is not None:
            return self.ops[op](x)
        if not torch.is_tensor(weights):  # plain numbers (weights that need no gradient): skip the zeros
            terms = [w * self.ops[name](x) for w, name in zip(weights, OPS) if name != "none" and w != 0.0]
            return sum(terms) if terms else self.ops["none"](x)
        return sum(w * self.ops[name](x) for w, name in zip(weights, OPS) if name != "none")


class SuperCell(nn.Module):
    def __init__(self, C: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(C) for _ in EDGES)

    def forward(self, x: torch.Tensor, arch=None, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        nodes, k = [x], 0
        for node in (1, 2, 3):
            nodes.append(sum(self.edges[k + i](nodes[i], None if arch is None else arch[k + i],
                                               None if weights is None else weights[k + i]) for i in range(node)))
            k += node
        return nodes[-1]


class NB201Supernet(nn.Module):
    """Input (B, 3, H, W) -> logits (B, num_classes); discrete with ``arch``, continuous without."""

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        blocks, C_prev = [], C
        for C_curr, reduction in stage_layout(C, N):
            blocks.append(ResidualReduction(C_prev, C_curr) if reduction else SuperCell(C_curr))
            C_prev = C_curr
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)
        self.alphas = nn.Parameter(1e-3 * torch.randn(len(EDGES), len(OPS)))
        self.primitives = tuple(OPS)  # the op of each column of ``alphas``

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (``alphas``), kept out of the weight optimiser."""
        return [self.alphas]

    def candidate_modules(self) -> list[str]:
        """Names (as in ``named_modules``) of every candidate op module: cells x edges x ops."""
        return [f"cells.{b}.edges.{k}.ops.{op}" for b, block in enumerate(self.cells)
                if isinstance(block, SuperCell) for k in range(len(EDGES)) for op in OPS]

    def path_modules(self, arch) -> set:
        """Names of the candidate op modules the single path of ``arch`` runs."""
        arch = validate_arch(arch)
        return {f"cells.{b}.edges.{k}.ops.{op}" for b, block in enumerate(self.cells)
                if isinstance(block, SuperCell) for k, op in enumerate(arch)}

    def forward(self, x: torch.Tensor, arch=None, *, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if arch is not None and weights is not None:
            raise ValueError("pass either arch (discrete mode) or weights (continuous), not both")
        if weights is not None and tuple(weights.shape) != tuple(self.alphas.shape):
            raise ValueError(f"weights must have shape {tuple(self.alphas.shape)}, got {tuple(weights.shape)}")
        arch = None if arch is None else validate_arch(arch)
        if arch is None and weights is None:
            weights = F.softmax(self.alphas, dim=-1)
        if weights is not None and not weights.requires_grad:
            weights = weights.detach().cpu().tolist()  # one transfer; ops at weight 0 are then skipped
        x = self.stem(x)
        for block in self.cells:
            x = block(x) if isinstance(block, ResidualReduction) else block(x, arch, weights)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))

    def genotype(self):
        """The architecture of the strongest non-``none`` op of each edge (DARTS' discretisation)."""
        weights = F.softmax(self.alphas.detach(), dim=-1).clone()
        weights[:, OPS.index("none")] = -1.0
        return tuple(OPS[int(i)] for i in weights.argmax(dim=-1))


__all__ = ["MixedEdge", "NB201Supernet", "SuperCell"]
