"""The SCARLET weight-sharing supernet, with SCARLET's equivariant learnable stabilizer.

Every searchable layer holds all 12 MBConv candidates (one
:class:`~evonas.spaces.scarlet.blocks.InvertedResidual` each) and, where the
skip rule allows skip, a skip path. ``supernet(x, arch)`` runs the fixed
stem / separable block / head and, per layer, *only* the chosen candidate
(single-path one-shot; the contract of :mod:`evonas.training.one_shot` and
:class:`~evonas.evaluators.supernet.SupernetEvaluator`).

Decisions the SCARLET paper does not specify (its released code holds only
the three final models, no supernet), and what evonas chose:

* **SE weights are not shared**: ``mb3_k5`` and ``mb3_k5_se`` are separate
  modules with separate expand / depthwise / project weights (uninas makes
  the same choice). 12 independent candidates per layer.
* **Entangled weights (option).** ``weight_sharing="entangled"`` makes the
  12 candidates nested slices of the largest one (private BNs), which
  learns much faster on small budgets but is not the paper's supernet.
* **Skip path.** With ``stabilizer=True`` (default) a chosen skip runs the
  layer's :class:`~evonas.spaces.scarlet.blocks.Stabilizer` ``A x`` (bias-free
  1x1 conv, no BN, no activation: the authors describe a purely linear
  map, and a non-linearity would break its equivalence with the identity),
  initialised randomly as the published implementations do
  (``stabilizer_init="random"``, the released convolution initialisation);
  ``stabilizer_init="identity"`` starts it at the identity, so that at
  initialisation it equals a plain skip exactly. With
  ``stabilizer=False`` (ablation) a skip is a plain identity. At layers
  where no identity exists (stride 2 or a width change, only reachable with
  ``skip_rule="stride1"`` or ``"all"``) the skip path is always a
  1x1 conv of the needed shape and stride (attribute ``stabilizer``), with or
  without ``stabilizer``: it is the projection such a skip needs.
* **Export.** :meth:`ScarletSupernet.export` builds a stand-alone
  :class:`~evonas.spaces.scarlet.models.ScarletNet` holding copies of the
  stem, separable block, head, classifier and the chosen candidates
  (weights and BN statistics). Stabilized skips at width-preserving layers
  become a plain ``nn.Identity`` (no stabilizer weights: SCARLET's final
  models use identities and are retrained from scratch); skips where no
  identity exists become a ``SkipProjection`` carrying the stabilizer's
  weights. Cost objectives are measured on the exported model, never on the
  supernet (the stabilizers cost MACs and parameters only in the supernet,
  not in the architecture being scored). The exported model computes exactly the
  supernet path whenever the path's width-preserving stabilizers are the
  identity (``stabilizer_init="identity"`` untrained, or ``stabilizer=False``).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.scarlet.blocks import InvertedResidual, SkipProjection, Stabilizer, init_weights
from evonas.spaces.scarlet.entangled import EntangledCandidates
from evonas.spaces.scarlet.models import (
    CHOICES,
    LAYERS,
    SKIP,
    ArchSpec,
    LayerSpec,
    ScarletNet,
    add_fixed_parts,
    check_skip_rule,
    net_plan,
    resolve_arch,
    skip_layers,
)

#: how the candidates of a layer hold their weights (ScarletSupernet's ``weight_sharing``)
WEIGHT_SHARING = ("independent", "entangled")


class SupernetLayer(nn.Module):
    """One searchable layer: 12 MBConv candidates and an optional skip path.

    ``weight_sharing="independent"``: ``candidates[i]`` is choice i (0..11,
    see :data:`~evonas.spaces.scarlet.models.CHOICES`), an
    :class:`~evonas.spaces.scarlet.blocks.InvertedResidual` of its own.
    ``"entangled"``: ``candidates`` is one
    :class:`~evonas.spaces.scarlet.entangled.EntangledCandidates` whose
    slices are the 12 choices. ``stabilizer`` is the skip's 1x1 map, or None
    when a skip is a plain identity or not allowed (``skip_allowed``).
    """

    def __init__(self, spec: LayerSpec, skip_allowed: bool, stabilizer: bool = True,
                 stabilizer_init: str = "random", weight_sharing: str = "independent"):
        super().__init__()
        self.spec, self.skip_allowed, self.weight_sharing = spec, bool(skip_allowed), weight_sharing
        if weight_sharing == "entangled":
            self.candidates = EntangledCandidates(spec.in_ch, spec.out_ch, spec.stride)
        else:
            self.candidates = nn.ModuleList(
                InvertedResidual(spec.in_ch, spec.out_ch, c.expansion, c.kernel, spec.stride, c.se)
                for c in CHOICES if not c.is_skip)
        needs_map = self.skip_allowed and (stabilizer or not spec.identity_possible)
        self.stabilizer: Optional[Stabilizer] = (
            Stabilizer(spec.in_ch, spec.out_ch, spec.stride, init=stabilizer_init) if needs_map else None)

    def forward(self, x: torch.Tensor, choice: int) -> torch.Tensor:
        if choice != SKIP:
            if self.weight_sharing == "entangled":
                return self.candidates(x, choice)
            return self.candidates[choice](x)
        if not self.skip_allowed:
            raise GenotypeError(f"{LAYERS[self.spec.index - 1].describe()}: this supernet has no skip path here")
        return x if self.stabilizer is None else self.stabilizer(x)

    def candidate_state_dict(self, choice: int) -> dict:
        """MBConv ``choice``'s weights and BN state in the layout of ``InvertedResidual``."""
        if self.weight_sharing == "entangled":
            return self.candidates.candidate_state_dict(choice)
        return self.candidates[choice].state_dict()

    def candidate_modules(self, choice: int) -> list:
        """The modules whose parameters ``choice`` uses (shared ones included)."""
        if choice == SKIP:
            return [] if self.stabilizer is None else [self.stabilizer]
        if self.weight_sharing == "entangled":
            return [self.candidates]
        return [self.candidates[choice]]


class ScarletSupernet(nn.Module):
    """SCARLET supernet: (N, 3, H, W) -> logits (N, num_classes) along one path.

    Args:
        variant: ``"cifar"`` (default, 32x32 inputs) or ``"imagenet"`` (224x224);
            strides as in :mod:`evonas.spaces.scarlet.models`.
        num_classes: classifier outputs.
        width_mult: channel multiplier (multiples of 8).
        stabilizer: skip = learnable stabilizer (True) or plain identity (False, ablation).
        skip_rule: where skip exists (``"width_preserving"``, ``"stride1"``, ``"all"``;
            :data:`~evonas.spaces.scarlet.models.SKIP_RULES`).
        stabilizer_init: ``"random"`` (default: N(0, sqrt(2 / C_out)), as the published implementations
            start it), ``"identity"`` (the stabilized supernet equals the plain one at initialisation) or
            ``"kaiming"`` (:class:`~evonas.spaces.scarlet.blocks.Stabilizer`).
        weight_sharing: ``"independent"`` (default: 12 candidates with their
            own weights per layer, the FairNAS / SCARLET supernet) or
            ``"entangled"`` (the candidates are nested slices of the largest
            one, private BNs; learns far faster on small budgets, see
            :mod:`evonas.spaces.scarlet.entangled`).

    ``layers[i]`` is layer i + 1 (a :class:`SupernetLayer`).
    """

    def __init__(self, variant: str = "cifar", num_classes: int = 10, width_mult: float = 1.0,
                 stabilizer: bool = True, skip_rule: str = "width_preserving", stabilizer_init: str = "random",
                 weight_sharing: str = "independent"):
        super().__init__()
        allowed = set(skip_layers(skip_rule))
        if stabilizer_init not in Stabilizer.INITS:
            raise ConfigError(f"stabilizer_init must be one of {', '.join(Stabilizer.INITS)}, got {stabilizer_init!r}")
        if weight_sharing not in WEIGHT_SHARING:
            raise ConfigError(f"weight_sharing must be one of {', '.join(WEIGHT_SHARING)}, got {weight_sharing!r}")
        self.weight_sharing = weight_sharing
        self.plan = plan = net_plan(variant, width_mult)
        self.variant, self.width_mult, self.num_classes = variant, plan.width_mult, int(num_classes)
        self.use_stabilizer, self.skip_rule = bool(stabilizer), skip_rule
        add_fixed_parts(self, plan, self.num_classes)
        self.layers = nn.ModuleList(
            SupernetLayer(spec, spec.index in allowed, self.use_stabilizer, stabilizer_init, weight_sharing)
            for spec in plan.layers)
        init_weights(self)

    def check_arch(self, arch: ArchSpec) -> Tuple[int, ...]:
        """``arch`` as 19 choice indices, checked against this supernet's skip rule (GenotypeError)."""
        genes = resolve_arch(arch)
        check_skip_rule(genes, self.skip_rule)
        return genes

    def forward(self, x: torch.Tensor, arch: ArchSpec) -> torch.Tensor:
        """Logits (N, num_classes) of ``arch``'s path; only the chosen candidates run (``supernet(x, arch)``,
        the protocol every evonas supernet follows; a SCARLET supernet always needs a path)."""
        genes = self.check_arch(arch)
        x = self.separable(self.stem(x))
        for layer, gene in zip(self.layers, genes):
            x = layer(x, gene)
        return self.classifier(self.dropout(self.head(x).mean((2, 3))))

    def forward_path(self, x: torch.Tensor, arch: ArchSpec) -> torch.Tensor:
        """The same as ``self(x, arch)`` (kept for older callers)."""
        return self(x, arch)

    def path_parameters(self, arch: ArchSpec):
        """The parameters ``arch``'s path uses (fixed parts, chosen candidates, stabilizers on the path).

        With entangled weights a chosen candidate contributes its layer's shared weights and BNs (a superset).
        """
        genes = self.check_arch(arch)
        modules = [self.stem, self.separable, self.head, self.classifier]
        for layer, gene in zip(self.layers, genes):
            modules.extend(layer.candidate_modules(gene))
        return [p for m in modules for p in m.parameters()]

    @torch.no_grad()
    def export(self, arch: ArchSpec, dropout: float = 0.0) -> ScarletNet:
        """A stand-alone :class:`ScarletNet` of ``arch`` with this supernet's weights and BN statistics.

        Width-preserving skips become ``nn.Identity`` (stabilizer weights are
        dropped); skips where no identity exists become a ``SkipProjection``
        holding the stabilizer's weights. Same variant, width and classes;
        returned on the supernet's device, in the supernet's training mode.
        """
        genes = self.check_arch(arch)
        net = ScarletNet(genes, num_classes=self.num_classes, variant=self.variant, width_mult=self.width_mult,
                         dropout=dropout, skip_projection=self.skip_rule != "width_preserving")
        for name in ("stem", "separable", "head", "classifier"):
            getattr(net, name).load_state_dict(getattr(self, name).state_dict())
        for block, layer, gene in zip(net.blocks, self.layers, genes):
            if gene != SKIP:
                block.load_state_dict(layer.candidate_state_dict(gene))
            elif isinstance(block, SkipProjection):
                block.conv.weight.copy_(layer.stabilizer.conv.weight)
        device = next(self.parameters()).device
        return net.to(device).train(self.training)


__all__ = ["WEIGHT_SHARING", "SupernetLayer", "ScarletSupernet"]
