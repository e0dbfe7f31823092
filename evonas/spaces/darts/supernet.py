"""Weight-sharing DARTS search network with discrete and continuous forward modes.

Every edge of every cell holds every op of ``primitives`` (BN non-affine,
pools followed by a non-affine BN; the stem BN is affine), as in DARTS'
``model_search.Network``; ``affine=True, pool_bn=False`` gives RelativeNAS'
search network instead (affine BN in every op and preprocessing conv, pools
without BN). The same weights serve two forward modes:

* **discrete** (single path): ``net(x, g)`` (or ``net(x, genotype=g)``)
  runs only the op modules that ``g`` selects, on the selected edges;
  nothing else is computed. Used by evolutionary strategies and supernet
  evaluators; ``supernet(x, arch)`` is the protocol every evonas supernet
  follows.
* **continuous** (mixture): ``net(x)`` mixes all ops of each edge with
  ``softmax(alpha)`` weights (DARTS eq. 2), the network's own
  ``alphas_normal`` / ``alphas_reduce`` (E, P) parameters; or
  ``net(x, weights_normal=W_n, weights_reduce=W_r)`` uses given (E, P)
  weights *as is* (no softmax): e.g. a 0/1 mask for DAP's unweighted sums.
  Ops whose given weight is exactly 0 are skipped when the weights do not
  require grad, unless ``compute=M`` ((E, P) bool, both cell kinds) names
  the ops to run: an op in ``M`` at weight 0 then runs as ``0 * op(x)``
  (its BN statistics update and, in training, weight decay still moves
  it; DAP's released masking).

E = ``num_edges(steps)`` (14 for 4 nodes), P = ``len(primitives)``.

Options: ``partial_channel_k`` (PC-DARTS partial channels, see
:class:`~evonas.spaces.darts.cells.MixedOp`; the op modules then hold C / k
channels, and discrete mode also sends 1/k of the channels through the
chosen op) and ``edge_normalization`` (PC-DARTS betas: per-edge logits
``betas_normal`` / ``betas_reduce`` (E,), softmax-normalised over each
node's incoming edges, multiplying each edge's output in continuous mode).

``alpha_share=False`` gives every cell its own alphas (``alphas_cells``,
(layers, E, P); StacNAS' option): continuous mode mixes each cell's ops
with its own weights, ``genotype()`` derives a
:class:`~evonas.spaces.darts.cellwise.CellwiseGenotype`, and
``edge_primitives`` may then list each cell's per-edge op lists. Discrete
mode runs per-cell genotypes in either setting.

``forward`` returns logits (N, num_classes) only (DARTS search convention).
"""
from __future__ import annotations

from typing import List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.darts.cells import SearchCell, edge_index, num_edges
from evonas.spaces.darts.cellwise import CellwiseGenotype, as_cellwise, reduction_layers
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype, GenotypeSpec, resolve_genotype
from evonas.spaces.darts.ops import OPS, PRIMITIVES


class SearchNetwork(nn.Module):
    """DARTS search network. Input (N, 3, H, W) with H, W >= 8; output logits (N, classes)."""

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, steps: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3,
                 primitives: Sequence[str] = PRIMITIVES, partial_channel_k: Optional[int] = None,
                 edge_normalization: bool = False, affine: bool = False, pool_bn: bool = True,
                 edge_primitives: Optional[EdgePrimitives] = None, alpha_share: bool = True):
        super().__init__()
        E = num_edges(steps)
        if not alpha_share and edge_normalization:
            raise ConfigError("edge_normalization needs alpha_share=True (its betas are shared per cell kind)")
        if not alpha_share and multiplier != steps:
            raise ConfigError("per-cell genotypes concatenate every node: alpha_share=False needs multiplier == steps")
        self.alpha_share = alpha_share
        if edge_primitives is not None:
            edge_primitives = _check_edge_primitives(edge_primitives, E, layers, alpha_share)
            lists = edge_primitives.values() if isinstance(edge_primitives, Mapping) else edge_primitives
            primitives = tuple(dict.fromkeys(name for cell in lists for ops in cell for name in ops))
            width = len(next(iter(lists))[0])
        primitives = tuple(primitives)
        unknown = [p for p in primitives if p not in OPS]
        if unknown or not primitives or len(set(primitives)) != len(primitives):
            raise ConfigError(
                f"primitives must be distinct known op names, got {list(primitives)} "
                f"(known: {', '.join(OPS)})")
        if edge_primitives is None:
            width = len(primitives)
        #: per cell kind, the op list of each edge (every edge: ``primitives`` unless ``edge_primitives`` is given);
        #: with per-layer ``edge_primitives``, that list (one entry per cell)
        self.edge_primitives = edge_primitives or {kind: (primitives,) * E for kind in CELL_KINDS}
        #: per cell, the op list of each of its edges
        self.cell_primitives = [
            (self.edge_primitives[layer] if not isinstance(self.edge_primitives, Mapping) else
             self.edge_primitives["reduce" if layer in reduction_layers(layers) else "normal"])
            for layer in range(layers)]
        if not 1 <= multiplier <= steps:
            raise ConfigError(f"multiplier must be in 1..steps={steps}, got {multiplier}")
        k = partial_channel_k or 1
        if k < 1 or C % k or (2 * C // k) % 2:
            raise ConfigError(
                f"partial_channel_k={partial_channel_k} must divide C={C} and leave an even "
                "channel count in reduction cells")
        self.C, self.num_classes, self.layers = C, num_classes, layers
        self.steps, self.multiplier, self.primitives = steps, multiplier, primitives
        self.partial_channel_k = k
        self.edge_normalization = edge_normalization
        self.drop_path_prob = 0.0  # discrete mode, training only (RelativeNAS)

        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(3, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                C_curr *= 2
            self.cells.append(SearchCell(steps, multiplier, C_prev_prev, C_prev, C_curr,
                                         reduction, reduction_prev, primitives, k, affine=affine, pool_bn=pool_bn,
                                         edge_primitives=self.cell_primitives[i]))
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, multiplier * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

        if alpha_share:
            self.alphas_normal = nn.Parameter(1e-3 * torch.randn(E, width))
            self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(E, width))
        else:  # one (E, width) set per cell
            self.alphas_cells = nn.Parameter(1e-3 * torch.randn(layers, E, width))
        if edge_normalization:
            self.betas_normal = nn.Parameter(1e-3 * torch.randn(E))
            self.betas_reduce = nn.Parameter(1e-3 * torch.randn(E))

    # ----------------------------------------------------------- parameters
    def arch_parameters(self) -> List[nn.Parameter]:
        """Architecture parameters: alphas (E, P) per cell kind, or (layers, E, P) without ``alpha_share``,
        and, with edge normalisation, betas (E,)."""
        if not self.alpha_share:
            return [self.alphas_cells]
        params = [self.alphas_normal, self.alphas_reduce]
        if self.edge_normalization:
            params += [self.betas_normal, self.betas_reduce]
        return params

    def weight_parameters(self) -> List[nn.Parameter]:
        """All other parameters (what the weight optimiser trains)."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def cell_alphas(self, layer: int) -> torch.Tensor:
        """The (E, P) architecture weights cell ``layer`` mixes its ops with (its kind's when shared)."""
        if not self.alpha_share:
            return self.alphas_cells[layer]
        return self.alphas_reduce if layer in reduction_layers(self.layers) else self.alphas_normal

    def edge_weights(self, kind: str) -> torch.Tensor:
        """Per-edge weights (E,) from the betas: softmax over each node's incoming edges."""
        betas = self.betas_normal if kind == "normal" else self.betas_reduce
        parts, offset = [], 0
        for i in range(self.steps):
            parts.append(F.softmax(betas[offset: offset + i + 2], dim=-1))
            offset += i + 2
        return torch.cat(parts)

    # -------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, arch: Optional[GenotypeSpec] = None, *,
                genotype: Optional[GenotypeSpec] = None,
                weights_normal: Optional[torch.Tensor] = None,
                weights_reduce: Optional[torch.Tensor] = None,
                edge_weights_normal: Optional[torch.Tensor] = None,
                edge_weights_reduce: Optional[torch.Tensor] = None,
                compute: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits (N, num_classes): discrete with ``arch`` (the supernet protocol ``supernet(x, arch)``;
        ``genotype=`` is the same), continuous (the DARTS mixture) with ``arch=None``; ``compute`` (E, P) bool:
        the ops explicit weights run (default: the non-zero ones)."""
        if arch is not None and genotype is not None:
            raise ValueError("pass the architecture once: supernet(x, arch) or supernet(x, genotype=arch)")
        genotype = arch if arch is not None else genotype
        explicit = (weights_normal, weights_reduce, edge_weights_normal, edge_weights_reduce, compute)
        if genotype is not None:
            if any(w is not None for w in explicit):
                raise ValueError("pass either genotype= (discrete mode) or weights (continuous), not both")
            return self._forward_discrete(x, self.check_genotype(genotype))
        if (weights_normal is None) != (weights_reduce is None):
            raise ValueError("pass both weights_normal and weights_reduce, or neither")
        if not self.alpha_share:
            if any(w is not None for w in explicit):
                raise ValueError("explicit weights need alpha_share=True (one set per cell kind)")
            weights = F.softmax(self.alphas_cells, dim=-1)
            s0 = s1 = self.stem(x)
            for layer, cell in enumerate(self.cells):
                s0, s1 = s1, cell(s0, s1, weights[layer])
            return self.classifier(self.global_pooling(s1).flatten(1))
        if weights_normal is None:
            if edge_weights_normal is not None or edge_weights_reduce is not None or compute is not None:
                raise ValueError("explicit edge weights and compute= need explicit op weights too")
            weights = {k: F.softmax(a, dim=-1) for k, a in zip(CELL_KINDS, (self.alphas_normal, self.alphas_reduce))}
            edges = {k: self.edge_weights(k) if self.edge_normalization else None for k in CELL_KINDS}
        else:
            weights = {"normal": weights_normal, "reduce": weights_reduce}
            edges = {"normal": edge_weights_normal, "reduce": edge_weights_reduce}
        shape = tuple(self.alphas_normal.shape)
        for kind in CELL_KINDS:
            if tuple(weights[kind].shape) != shape:
                raise ValueError(f"weights_{kind} must have shape {shape}, got {tuple(weights[kind].shape)}")
            if edges[kind] is not None and tuple(edges[kind].shape) != shape[:1]:
                raise ValueError(f"edge_weights_{kind} must have shape {shape[:1]}, got {tuple(edges[kind].shape)}")
        if compute is not None and tuple(compute.shape) != shape:
            raise ValueError(f"compute must have shape {shape}, got {tuple(compute.shape)}")
        active = {k: _active_ops(weights[k] if compute is None else compute) for k in CELL_KINDS}
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            s0, s1 = s1, cell(s0, s1, weights[kind], edges[kind], active[kind])
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward_path(self, x: torch.Tensor, arch: GenotypeSpec) -> torch.Tensor:
        """Discrete (single-path) forward, the same as ``self(x, arch)`` (kept for older callers; training and
        scoring call the module itself, so that wrappers such as DistributedDataParallel see the pass)."""
        return self._forward_discrete(x, self.check_genotype(arch))

    def _forward_discrete(self, x: torch.Tensor, genotype: Genotype | CellwiseGenotype) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell, pairs in zip(self.cells, self._layer_pairs(genotype)):
            s0, s1 = s1, cell.forward_discrete(s0, s1, pairs, self.drop_path_prob)
        return self.classifier(self.global_pooling(s1).flatten(1))

    # ------------------------------------------------------- path modules
    def candidate_modules(self) -> List[str]:
        """Names (as in ``named_modules``) of every candidate op module: cells x edges x primitives."""
        return [f"cells.{i}.edges.{e}.ops.{key}" for i, cell in enumerate(self.cells)
                for e, edge in enumerate(cell.edges) for key in edge.keys]

    def path_modules(self, arch: GenotypeSpec) -> set:
        """Names of the candidate op modules the single path of ``arch`` runs (a subset of
        :meth:`candidate_modules`; a duplicated (input, op) pair names one module)."""
        genotype = self.check_genotype(arch)
        used = set()
        for i, pairs in enumerate(self._layer_pairs(genotype)):
            for p, (name, j) in enumerate(pairs):
                used.add(f"cells.{i}.edges.{edge_index(p // 2, j)}.ops.{name}")
        return used

    # ------------------------------------------------------------ genotypes
    def check_genotype(self, genotype: GenotypeSpec) -> Genotype | CellwiseGenotype:
        """Resolve ``genotype`` (a per-cell genotype too, resized to this network's depth) and check this
        network can run it in discrete mode.

        Raises GenotypeError when the node count, the concat (must be the
        last ``multiplier`` nodes) or an op (must be in the edge's
        primitives) does not fit.
        """
        g = as_cellwise(genotype)
        if g is None:
            g = resolve_genotype(genotype, allow_duplicate_inputs=True)
            expected = tuple(range(2 + self.steps - self.multiplier, 2 + self.steps))
            for kind in CELL_KINDS:
                if g.steps == self.steps and tuple(sorted(g.concat(kind))) != expected:
                    raise GenotypeError(
                        f"{kind}_concat {list(g.concat(kind))} does not match this network's "
                        f"cell output (nodes {list(expected)})")
        elif self.multiplier != self.steps:
            raise GenotypeError("per-cell genotypes concatenate every node; this network keeps the last "
                                f"{self.multiplier} of {self.steps}")
        else:
            g = g.resized(self.layers)
        if g.steps != self.steps:
            raise GenotypeError(f"genotype has {g.steps} nodes per cell; this network has {self.steps}")
        for layer, pairs in enumerate(self._layer_pairs(g)):
            for j, (op, index) in enumerate(pairs):
                allowed = self.cell_primitives[layer][edge_index(j // 2, index)]
                if op not in allowed:
                    where = (f"layer {layer}" if isinstance(g, CellwiseGenotype)
                             else "reduce" if self.cells[layer].reduction else "normal")
                    raise GenotypeError(
                        f"{where} cell, node {j // 2} (state {j // 2 + 2}), pair {j % 2}: op {op!r} "
                        f"is not in this network's primitives ({', '.join(dict.fromkeys(allowed))})")
        return g

    def _layer_pairs(self, genotype: Genotype | CellwiseGenotype) -> list:
        """The (op, input) pairs each cell runs (a per-cell genotype must have this network's depth)."""
        if isinstance(genotype, CellwiseGenotype):
            return list(genotype.cells)
        return [genotype.reduce if cell.reduction else genotype.normal for cell in self.cells]

    def genotype(self) -> Genotype | CellwiseGenotype:
        """Derive the discrete genotype from the alphas (DARTS rule).

        Per node, keep the two incoming edges with the largest best non-``none``
        weight softmax(alpha) (times the normalised beta with edge
        normalisation, as PC-DARTS), each with its best non-``none`` op.
        Without ``alpha_share`` every cell is derived from its own alphas: a
        :class:`~evonas.spaces.darts.cellwise.CellwiseGenotype`.
        """
        if not self.alpha_share:
            with torch.no_grad():
                weights = F.softmax(self.alphas_cells, dim=-1)
                return CellwiseGenotype(tuple(derive_cell(weights[layer], self.cell_primitives[layer], self.steps)
                                              for layer in range(self.layers)))
        cells = {}
        with torch.no_grad():
            for kind, alphas in zip(CELL_KINDS, (self.alphas_normal, self.alphas_reduce)):
                w = F.softmax(alphas, dim=-1)
                if self.edge_normalization:
                    w = w * self.edge_weights(kind)[:, None]
                cells[kind] = derive_cell(w, self.edge_primitives[kind], self.steps)
        concat = range(2 + self.steps - self.multiplier, 2 + self.steps)
        return Genotype(normal=cells["normal"], normal_concat=concat,
                        reduce=cells["reduce"], reduce_concat=concat)


#: per-edge op lists: ``{"normal": E lists, "reduce": E lists}``, or (without ``alpha_share``) one such list of E
#: op lists per cell
EdgePrimitives = Union[Mapping[str, Sequence[Sequence[str]]], Sequence[Sequence[Sequence[str]]]]


def _check_edge_primitives(edge_primitives: EdgePrimitives, E: int, layers: int, alpha_share: bool):
    """As tuples: ``{"normal": E op lists, "reduce": E op lists}`` or one list of E op lists per layer (only
    without ``alpha_share``); every op list of one non-zero length."""
    if isinstance(edge_primitives, Mapping):
        if set(edge_primitives) != set(CELL_KINDS):
            raise ConfigError(f"edge_primitives needs the keys 'normal' and 'reduce', got {sorted(edge_primitives)}")
        out = {kind: tuple(tuple(ops) for ops in edge_primitives[kind]) for kind in CELL_KINDS}
        cells = list(out.values())
    else:
        if alpha_share:
            raise ConfigError("per-cell edge_primitives need alpha_share=False; with shared alphas give "
                              "{'normal': ..., 'reduce': ...}")
        out = tuple(tuple(tuple(ops) for ops in cell) for cell in edge_primitives)
        if len(out) != layers:
            raise ConfigError(f"per-cell edge_primitives need one entry per cell ({layers}), got {len(out)}")
        cells = list(out)
    widths = {len(ops) for cell in cells for ops in cell}
    if any(len(cell) != E for cell in cells) or len(widths) != 1 or 0 in widths:
        raise ConfigError(f"edge_primitives must give {E} non-empty op lists of one length per cell")
    return out


def _active_ops(weights: torch.Tensor) -> Optional[List[List[int]]]:
    """Per edge, indices of non-zero weights; None (compute all) when weights need grad."""
    if weights.requires_grad:
        return None
    return [[p for p, w in enumerate(row) if w != 0.0] for row in weights.detach().cpu().tolist()]


def derive_cell(weights: torch.Tensor, primitives: Sequence, steps: int) -> List[Tuple[str, int]]:
    """DARTS ``_parse``: top-2 incoming edges per node by their best non-``none`` weight.

    ``weights``: (E, P); ``primitives``: the P op names, or one such list per edge. StacNAS ranks by raw
    logits: pass the alphas themselves. Returns the flat (op, input) list of one cell.
    """
    per_edge = [primitives] * len(weights) if isinstance(primitives[0], str) else primitives
    w = weights.detach().cpu()
    pairs: List[Tuple[str, int]] = []
    for i in range(steps):
        scored = []
        for j in range(i + 2):
            e = edge_index(i, j)
            names, row = per_edge[e], w[e]
            candidates = [p for p, name in enumerate(names) if name != "none"]
            if not candidates:
                raise GenotypeError(f"cannot derive a genotype: edge {e} holds only 'none'")
            best = max(candidates, key=lambda p: float(row[p]))
            scored.append((float(row[best]), j, names[best]))
        scored.sort(key=lambda t: -t[0])
        pairs += [(name, j) for _, j, name in scored[:2]]
    return pairs


def genotype_to_weights(genotype: GenotypeSpec, primitives: Sequence[str] = PRIMITIVES
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """0/1 op masks (E, P) for the normal and reduction cell of ``genotype``.

    Entry (e, p) counts how often the genotype uses op p on edge e (2 for a
    duplicated pair); unused edges are all zero. Usable directly as explicit
    continuous-mode weights (DAP-style unweighted sums): the output then
    equals discrete mode in full-channel networks.
    """
    g = resolve_genotype(genotype, allow_duplicate_inputs=True)
    steps = g.steps
    index = {name: p for p, name in enumerate(primitives)}
    out = []
    for kind in CELL_KINDS:
        w = torch.zeros(num_edges(steps), len(primitives))
        for j, (op, inp) in enumerate(g.cell(kind)):
            if op not in index:
                raise GenotypeError(f"{kind} cell, node {j // 2}: op {op!r} is not in primitives {list(primitives)}")
            w[edge_index(j // 2, inp), index[op]] += 1.0
        out.append(w)
    return out[0], out[1]


__all__ = ["SearchNetwork", "derive_cell", "genotype_to_weights"]
