"""StacNAS' op groups and its two derivation rules (Li, Zhang, Wang, Li and Zhang, "StacNAS: Towards Stable
and Consistent Differentiable Neural Architecture Search", arXiv 1909.11926).

Correlated ops split their architecture weight (multicollinearity), so
StacNAS searches in two stages:

1. **Groups.** Each edge mixes one representative per op group plus
   ``none`` (:data:`STAGE1_PRIMITIVES`); per edge the group whose
   representative has the largest *raw* logit (``none`` excluded) wins
   (:func:`winning_groups`).
2. **Ops in the group.** A new, deeper network whose every edge mixes its
   group's two members plus ``none`` (:func:`stage2_edge_primitives`; the
   identity group is two parameter-free skips, so skip holds two logits);
   per edge the member with the largest raw logit, per node the two edges
   with the largest such logit (:func:`stacnas_cell`; ``none`` is never
   chosen, logits are ranked raw, not softmaxed as in DARTS).

Checked against the released code (github.com/susan0199/StacNAS a3c00dd): the
op lists equal its ``OPS_DICT``, :func:`winning_groups` its
``build_primitive_from_alpha`` and :func:`stacnas_cell` its
``build_genotype_from_alpha``.

The op lists follow the released code (``genotypes.py`` of
github.com/susan0199/StacNAS).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

from evonas.errors import ConfigError
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype
from evonas.spaces.darts.supernet import derive_cell

if TYPE_CHECKING:
    from evonas.spaces.darts.cellwise import CellwiseGenotype

#: group -> the two ops stage 2 mixes on an edge of that group (plus ``none``)
GROUPS: dict[str, tuple[str, str]] = {
    "pooling": ("avg_pool_3x3", "max_pool_3x3"),
    "identity": ("skip_connect", "skip_connect"),
    "separable": ("sep_conv_3x3", "sep_conv_5x5"),
    "dilated": ("dil_conv_3x3", "dil_conv_5x5"),
}
#: stage 1's mixture: one representative per group, then ``none``
STAGE1_PRIMITIVES: tuple[str, ...] = ("max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3", "none")
#: the group of each stage-1 representative
REPRESENTS: dict[str, str] = {"max_pool_3x3": "pooling", "skip_connect": "identity", "sep_conv_3x3": "separable",
                              "dil_conv_3x3": "dilated"}


def winning_groups(alphas: torch.Tensor, primitives: Sequence[str] = STAGE1_PRIMITIVES) -> list[str]:
    """Per edge (row of ``alphas`` (E, len(primitives))), the group of the representative with the largest raw
    logit; ``none`` never wins."""
    if alphas.shape[-1] != len(primitives):
        raise ConfigError(f"alphas have {alphas.shape[-1]} columns for {len(primitives)} primitives")
    candidates = [p for p, name in enumerate(primitives) if name != "none"]
    rows = alphas.detach().cpu()
    return [REPRESENTS[primitives[max(candidates, key=lambda p: float(row[p]))]] for row in rows]


def stage2_edge_primitives(groups: dict[str, Sequence[str]]) -> dict[str, list[tuple[str, str, str]]]:
    """``{"normal": [...], "reduce": [...]}``: per edge its group's two members and ``none`` (the
    ``edge_primitives`` of stage 2's :class:`~evonas.spaces.darts.supernet.SearchNetwork`)."""
    out = {}
    for kind in CELL_KINDS:
        unknown = sorted(set(groups[kind]) - set(GROUPS))
        if unknown:
            raise ConfigError(f"unknown op group(s) {unknown}; valid: {', '.join(GROUPS)}")
        out[kind] = [(*GROUPS[g], "none") for g in groups[kind]]
    return out


def stage2_cell_primitives(groups_per_layer: Sequence[Sequence[str]], layers: int) -> list[list[tuple[str, str, str]]]:
    """Per-cell stage 2 (``alpha_share`` off): stage 1's winning groups of each of its cells (a list per cell)
    handed to a ``layers``-cell network, each cell taking those of the stage-1 cell of its kind at the
    nearest relative depth (:func:`~evonas.spaces.darts.cellwise.nearest_layers`; the released code has no
    rule for stages of different depths). Returns the per-cell ``edge_primitives``."""
    from evonas.spaces.darts.cellwise import nearest_layers

    out = []
    for source in nearest_layers(len(groups_per_layer), layers):
        groups = groups_per_layer[source]
        out.append(stage2_edge_primitives({"normal": groups, "reduce": groups})["normal"])
    return out


def stacnas_cell(alphas: torch.Tensor, edge_primitives: Sequence[Sequence[str]], steps: int) -> list[tuple[str, int]]:
    """One cell by StacNAS' rule (``build_genotype_from_alpha`` of the released code): per node the two incoming
    edges whose best non-``none`` raw logit is largest, each with that op. Stage 1's cell names each edge's
    winning representative; stage 2's is the final cell."""
    return derive_cell(alphas, list(edge_primitives), steps)


def stacnas_genotype(alphas_normal: torch.Tensor, alphas_reduce: torch.Tensor,
                    edge_primitives: dict[str, Sequence[Sequence[str]]], steps: int = 4) -> Genotype:
    """The genotype of either stage by :func:`stacnas_cell` (every intermediate node concatenated)."""
    cells = {kind: stacnas_cell(a, edge_primitives[kind], steps)
             for kind, a in zip(CELL_KINDS, (alphas_normal, alphas_reduce))}
    concat = range(2, 2 + steps)
    return Genotype(normal=cells["normal"], normal_concat=concat, reduce=cells["reduce"], reduce_concat=concat)


def stacnas_cellwise_genotype(network) -> "CellwiseGenotype":
    """Without ``alpha_share``: every cell of ``network`` (a per-cell ``SearchNetwork``) by
    :func:`stacnas_cell` on its own alphas."""
    from evonas.spaces.darts.cellwise import CellwiseGenotype

    return CellwiseGenotype(tuple(stacnas_cell(network.cell_alphas(i), network.cell_primitives[i], network.steps)
                                  for i in range(network.layers)))


def zero_attention(alphas_normal: torch.Tensor, alphas_reduce: torch.Tensor,
                   edge_primitives: dict[str, Sequence[Sequence[str]]], genotype: Genotype) -> dict[str, list[float]]:
    """StacNAS' ``none`` kept as attention: per pair of each cell of ``genotype``, a starting scale for the
    stand-alone network's ``edge_attention``.

    An edge's non-``none`` share ``1 - softmax(alpha_e)[none]`` says how much the search used it; the two
    edges into a node get their shares rescaled to sum to 2 (a plain cell weighs both by 1), so what the
    final network keeps is the relative weight of the node's two paths. The StacNAS paper suggests keeping
    ``none`` this way; its released code does not, so this rule is evonas' reading of it.
    """
    from evonas.spaces.darts.cells import edge_index

    out = {}
    for kind, alphas in zip(CELL_KINDS, (alphas_normal, alphas_reduce)):
        weights = torch.softmax(alphas.detach().double().cpu(), dim=-1)
        shares = []
        for j, (_, inp) in enumerate(genotype.cell(kind)):
            e = edge_index(j // 2, inp)
            names = edge_primitives[kind][e]
            none = [p for p, name in enumerate(names) if name == "none"]
            shares.append(1.0 - float(weights[e, none].sum()))
        values = []
        for node in range(len(shares) // 2):
            a, b = shares[2 * node], shares[2 * node + 1]
            values += [2 * a / (a + b), 2 * b / (a + b)] if a + b > 0 else [1.0, 1.0]
        out[kind] = values
    return out


__all__ = ["GROUPS", "REPRESENTS", "STAGE1_PRIMITIVES", "stacnas_cell", "stacnas_cellwise_genotype",
           "stacnas_genotype", "stage2_cell_primitives", "stage2_edge_primitives", "winning_groups", "zero_attention"]
