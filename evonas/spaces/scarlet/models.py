"""The SCARLET search space as data, the published SCARLET-A/B/C, and the stand-alone :class:`ScarletNet`.

**Candidates.** 13 choices per layer, in a fixed index order::

    index = ((expansion == 6) * 3 + kernel_index) * 2 + se     kernel_index: k3 -> 0, k5 -> 1, k7 -> 2
    0 mb3_k3     1 mb3_k3_se    2 mb3_k5     3 mb3_k5_se    4 mb3_k7     5 mb3_k7_se
    6 mb6_k3     7 mb6_k3_se    8 mb6_k5     9 mb6_k5_se   10 mb6_k7    11 mb6_k7_se
    12 skip

``mb{e}_k{k}[_se]`` is an :class:`~evonas.spaces.scarlet.blocks.InvertedResidual`
with expansion e, depthwise kernel k and optional squeeze-excite.

**Stage plan** (19 searchable layers, identical in SCARLET-A/B/C as released
in github.com/xiaomi-automl/SCARLET-NAS, ``models/``; "stride" is the
first layer's, the others have stride 1):

========  ===  ===  ===  ===  ===  ===
stage       1    2    3    4    5    6
out ch     32   40   80   96  192  320
layers      2    4    4    4    4    1
imagenet    2    2    2    1    2    1
cifar       1    2    2    1    2    1
========  ===  ===  ===  ===  ===  ===

``variant="imagenet"`` (224x224, the published models): stem 3x3 stride 2
(224 -> 112), then 112 -> 56 -> 28 -> 14 -> 14 -> 7 -> 7; total stride 32.
``variant="cifar"`` (32x32): stem stride 1 and stage 1 stride 1, so
32 -> 32 -> 32 -> 16 -> 8 -> 8 -> 4 -> 4; total stride 8, ending at 4x4.
Fixed parts: stem 3 -> 32 (+ BN + ReLU6), depthwise-separable 32 -> 16,
head 1x1 320 -> 1280 (+ BN + ReLU6), global average pool, (dropout),
linear 1280 -> classes. With ``width_mult`` w every width except the input
is ``make_divisible(c * w, 8)``; the head is ``make_divisible(1280 *
max(1, w), 8)`` (MobileNetV2's rule: never narrower than 1280).

Layer positions (``stride``, widths) named in errors and skip rules are
always those of the published ImageNet plan at width 1 (:data:`LAYERS`), so
an architecture means the same thing in both variants.

**Published models** (:data:`SCARLET_A` / ``_B`` / ``_C``, the released
layer lists). Cost at 224x224, 1000 classes, with
:mod:`evonas.evaluators.cost` (all trainable parameters; conv incl. SE and
classifier multiply-adds): A 6,707,720 / 365.3M, B 6,531,556 / 326.9M,
C 6,073,684 / 280.1M; the paper's table says 6.7 / 6.5 / 6.0M and
365 / 329 / 280M. B's multiply-adds are 0.65 % under the table and C's
parameters 0.07M over it (without BN parameters: 6.67 / 6.50 / 6.04M).
The block layout is the released code's, so the gap is the paper's counting.
"""
from __future__ import annotations

import json
import operator
import os
from dataclasses import dataclass
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.scarlet.blocks import (
    InvertedResidual,
    SkipProjection,
    head,
    init_weights,
    make_divisible,
    separable_conv,
    stem,
)


class Choice(NamedTuple):
    """One candidate of a searchable layer (``expansion``/``kernel`` are None for skip)."""

    name: str
    expansion: Optional[int]
    kernel: Optional[int]
    se: bool

    @property
    def is_skip(self) -> bool:
        return self.expansion is None


EXPANSIONS = (3, 6)
KERNELS = (3, 5, 7)
#: The 13 candidates, index = ((e == 6) * 3 + kernel_index) * 2 + se; skip last.
CHOICES: Tuple[Choice, ...] = tuple(
    Choice(f"mb{e}_k{k}" + ("_se" if se else ""), e, k, bool(se))
    for e in EXPANSIONS for k in KERNELS for se in (0, 1)) + (Choice("skip", None, None, False),)
CHOICE_NAMES: Tuple[str, ...] = tuple(c.name for c in CHOICES)
CHOICE_INDEX: Dict[str, int] = {name: i for i, name in enumerate(CHOICE_NAMES)}
NUM_CHOICES = len(CHOICES)  # 13
SKIP = CHOICE_INDEX["skip"]  # 12


def choice_index(expansion: int, kernel: int, se: bool) -> int:
    """Index of the MBConv choice (expansion, kernel, se)."""
    return ((expansion == 6) * 3 + KERNELS.index(kernel)) * 2 + int(bool(se))


class Stage(NamedTuple):
    out_ch: int
    layers: int
    stride: int  # first layer's stride in the ImageNet plan


STAGES: Tuple[Stage, ...] = (Stage(32, 2, 2), Stage(40, 4, 2), Stage(80, 4, 2), Stage(96, 4, 1),
                             Stage(192, 4, 2), Stage(320, 1, 1))
NUM_LAYERS = sum(s.layers for s in STAGES)  # 19
STEM_CH, SEPARABLE_CH, HEAD_CH = 32, 16, 1280
#: variant -> (stem stride, first-layer stride of each stage)
VARIANTS: Dict[str, Tuple[int, Tuple[int, ...]]] = {
    "imagenet": (2, (2, 2, 2, 1, 2, 1)),
    "cifar": (1, (1, 2, 2, 1, 2, 1)),
}
DEFAULT_CLASSES = {"imagenet": 1000, "cifar": 10}


class LayerSpec(NamedTuple):
    """A searchable layer: 1-based ``index``, input / output channels, stride."""

    index: int
    in_ch: int
    out_ch: int
    stride: int

    @property
    def identity_possible(self) -> bool:
        """A plain identity fits here (stride 1 and in == out)."""
        return self.stride == 1 and self.in_ch == self.out_ch

    def describe(self) -> str:
        return f"layer {self.index} (stride {self.stride}, {self.in_ch} -> {self.out_ch} channels)"


@dataclass(frozen=True)
class NetPlan:
    """Every width and stride of one variant / width multiplier."""

    variant: str
    width_mult: float
    stem_stride: int
    stem_ch: int
    separable_ch: int
    head_ch: int
    layers: Tuple[LayerSpec, ...]


def net_plan(variant: str = "imagenet", width_mult: float = 1.0) -> NetPlan:
    """The :class:`NetPlan` of ``variant`` (``"imagenet"`` or ``"cifar"``) at ``width_mult``."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown SCARLET variant {variant!r}; valid: {', '.join(VARIANTS)}")
    try:
        w = float(width_mult)
    except (TypeError, ValueError):
        raise ConfigError(f"width_mult must be a positive number, got {width_mult!r}") from None
    if not w > 0 or not np.isfinite(w):
        raise ConfigError(f"width_mult must be a positive number, got {width_mult!r}")
    stem_stride, strides = VARIANTS[variant]
    scale = (lambda c: c) if w == 1.0 else (lambda c: make_divisible(c * w, 8))
    in_ch, layers = scale(SEPARABLE_CH), []
    for stage, first_stride in zip(STAGES, strides):
        for j in range(stage.layers):
            out_ch = scale(stage.out_ch)
            layers.append(LayerSpec(len(layers) + 1, in_ch, out_ch, first_stride if j == 0 else 1))
            in_ch = out_ch
    return NetPlan(variant, w, stem_stride, scale(STEM_CH), scale(SEPARABLE_CH),
                   make_divisible(HEAD_CH * max(1.0, w), 8), tuple(layers))


#: The nominal layer plan (ImageNet strides, width 1) that skip rules and error messages refer to.
LAYERS: Tuple[LayerSpec, ...] = net_plan("imagenet", 1.0).layers

# ------------------------------------------------------------------ published models
# Layer lists of the released model files (github.com/xiaomi-automl/SCARLET-NAS,
# models/Scarlet_{A,B,C}.py), as choice names.
SCARLET_A: Tuple[str, ...] = (
    "mb3_k7", "mb6_k5", "mb3_k5", "mb3_k7_se", "mb6_k3_se", "mb3_k5_se",
    "mb6_k3_se", "mb3_k3", "mb3_k7_se", "mb3_k7", "mb3_k5", "mb3_k7_se",
    "mb3_k3", "mb3_k7_se", "mb6_k3_se", "mb6_k5_se", "mb3_k3_se", "mb6_k3_se",
    "mb6_k7_se")
SCARLET_B: Tuple[str, ...] = (
    "mb3_k3_se", "mb3_k5_se", "mb3_k3_se", "mb6_k7_se", "mb3_k3", "mb3_k5",
    "mb6_k7_se", "mb3_k3_se", "skip", "mb3_k5", "mb3_k3_se", "mb3_k3_se",
    "mb6_k7_se", "mb3_k3_se", "mb6_k5_se", "mb6_k5_se", "skip", "mb6_k7_se",
    "mb6_k5_se")
SCARLET_C: Tuple[str, ...] = (
    "mb3_k5_se", "mb3_k3_se", "mb3_k5_se", "skip", "skip", "mb3_k3",
    "mb6_k7_se", "mb3_k3_se", "mb3_k3_se", "mb3_k5", "mb3_k7_se", "mb3_k7",
    "mb3_k3_se", "mb3_k7_se", "mb3_k3_se", "skip", "mb6_k3_se", "mb6_k7_se",
    "mb6_k5_se")
PUBLISHED: Dict[str, Tuple[str, ...]] = {"SCARLET_A": SCARLET_A, "SCARLET_B": SCARLET_B, "SCARLET_C": SCARLET_C}

ArchSpec = Union[str, Sequence[Union[int, str]], np.ndarray]


def _published_name(name: str) -> str:
    return name.strip().upper().replace("-", "_")


def resolve_arch(arch: ArchSpec) -> Tuple[int, ...]:
    """``arch`` as a tuple of 19 choice indices (no skip-rule check).

    Accepts a published name (``"SCARLET_A"``, ``"scarlet-a"``), a sequence
    of 19 choice indices (ints, integral numpy values) and/or choice names
    (``"mb3_k5_se"``, ``"skip"``), a 1-D integer array, the JSON text of
    such a list (``'[0, 1, ...]'``, ``'["mb3_k3", "skip", ...]'``), or the
    path of a file holding that JSON or a published name. Raises
    :class:`GenotypeError` naming the layer (1-based) and the problem.
    """
    if isinstance(arch, str):
        return _resolve_text(arch)
    if isinstance(arch, np.ndarray):
        if arch.ndim != 1:
            raise GenotypeError(f"a SCARLET architecture vector must be 1-D, got shape {arch.shape}")
        arch = arch.tolist()
    if isinstance(arch, (bytes, dict)) or not isinstance(arch, Iterable):
        raise GenotypeError(f"a SCARLET architecture is a name or a sequence of {NUM_LAYERS} choices, got {arch!r}")
    genes = list(arch)
    if len(genes) != NUM_LAYERS:
        raise GenotypeError(f"a SCARLET architecture has {NUM_LAYERS} layers, got {len(genes)}")
    out = []
    for i, gene in enumerate(genes, start=1):
        if isinstance(gene, str):
            if gene not in CHOICE_INDEX:
                raise GenotypeError(f"layer {i}: unknown choice {gene!r}; valid: {', '.join(CHOICE_NAMES)}")
            out.append(CHOICE_INDEX[gene])
            continue
        if isinstance(gene, (bool, np.bool_)):
            raise GenotypeError(f"layer {i}: a choice is an index 0..{NUM_CHOICES - 1} or a name, got {gene!r}")
        if isinstance(gene, (float, np.floating)) and float(gene).is_integer():
            gene = int(gene)
        try:
            value = operator.index(gene)
        except TypeError:
            raise GenotypeError(
                f"layer {i}: a choice is an index 0..{NUM_CHOICES - 1} or a name, got {gene!r}") from None
        if not 0 <= value < NUM_CHOICES:
            raise GenotypeError(f"layer {i}: choice index {value} is out of range 0..{NUM_CHOICES - 1}")
        out.append(int(value))
    return tuple(out)


def _json_list(text: str) -> list:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GenotypeError(f"malformed SCARLET architecture JSON: {exc}") from None
    if not isinstance(value, list):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise GenotypeError(f"expected a JSON list of {NUM_LAYERS} choices (indices or names), got {shown!r}")
    return value


def _resolve_text(text: str) -> Tuple[int, ...]:
    """A published name, JSON list text, or a file holding either (see :func:`resolve_arch`)."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return resolve_arch(_json_list(stripped))
    key = _published_name(stripped)
    if key in PUBLISHED:
        return resolve_arch(PUBLISHED[key])
    if os.path.isfile(stripped):
        try:
            with open(stripped, encoding="utf-8") as handle:
                content = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise GenotypeError(f"cannot read SCARLET architecture file {stripped!r}: {exc}") from None
        try:
            if _published_name(content) in PUBLISHED:
                return resolve_arch(PUBLISHED[_published_name(content)])
            return resolve_arch(_json_list(content))
        except GenotypeError as exc:
            raise GenotypeError(f"{stripped}: {exc}") from None
    if os.path.isdir(stripped):
        raise GenotypeError(f"{stripped!r} is a directory; a SCARLET architecture file holds a JSON list or a "
                            "published name")
    if stripped.lower().endswith(".json") or os.sep in stripped:
        raise GenotypeError(f"SCARLET architecture file {stripped!r} does not exist")
    raise GenotypeError(f"unknown SCARLET architecture name {text!r}; published: {', '.join(PUBLISHED)} "
                        f"(or give a JSON list of {NUM_LAYERS} choices, or a file holding one)")


def arch_names(arch: ArchSpec) -> Tuple[str, ...]:
    """The 19 choice names of ``arch``."""
    return tuple(CHOICE_NAMES[i] for i in resolve_arch(arch))


def check_skip_fits(arch: Sequence[int], plan: NetPlan, skip_projection: bool) -> None:
    """Raise GenotypeError when a skip of ``arch`` needs a projection and ``skip_projection`` is False."""
    if skip_projection:
        return
    for gene, spec, nominal in zip(arch, plan.layers, LAYERS):
        if gene == SKIP and not spec.identity_possible:
            raise GenotypeError(
                f"{nominal.describe()}: skip cannot be a plain identity here (built as stride "
                f"{spec.stride}, {spec.in_ch} -> {spec.out_ch} channels); allow a 1x1 projection "
                "with skip_projection=True, or use skip only at stride-1 width-preserving layers")


#: Where the skip choice is legal (the sources disagree, so it is a parameter; positions refer
#: to :data:`LAYERS`):
#: ``"width_preserving"``: stride-1 layers with in == out (13 layers; every skip is a plain identity;
#: the released models skip only at such layers),
#: ``"stride1"``: every stride-1 layer (15; adds layers 11 (80 -> 96) and 19 (192 -> 320), uninas' rule),
#: ``"all"``: every layer (19; the maintainers' answer in SCARLET-NAS issue #2).
SKIP_RULES: Tuple[str, ...] = ("width_preserving", "stride1", "all")


def skip_layers(rule: str = "width_preserving") -> Tuple[int, ...]:
    """1-based indices of the layers where ``rule`` allows skip."""
    if rule not in SKIP_RULES:
        raise ConfigError(f"unknown skip_rule {rule!r}; valid: {', '.join(SKIP_RULES)}")
    if rule == "all":
        return tuple(spec.index for spec in LAYERS)
    if rule == "stride1":
        return tuple(spec.index for spec in LAYERS if spec.stride == 1)
    return tuple(spec.index for spec in LAYERS if spec.identity_possible)


def check_skip_rule(arch: Sequence[int], rule: str = "width_preserving") -> None:
    """Raise GenotypeError naming the first layer of ``arch`` (indices) that skips where ``rule`` forbids it."""
    allowed = set(skip_layers(rule))
    for gene, spec in zip(arch, LAYERS):
        if gene == SKIP and spec.index not in allowed:
            raise GenotypeError(
                f"{spec.describe()}: skip is not allowed under skip_rule={rule!r} "
                f"(allowed at layers {', '.join(map(str, sorted(allowed)))})")


class ScarletNet(nn.Module):
    """A stand-alone SCARLET network: (N, 3, H, W) -> logits (N, num_classes).

    Args:
        arch: any :func:`resolve_arch` spec (``"SCARLET_A"``, 19 indices or names).
        num_classes: classifier outputs.
        variant: ``"imagenet"`` (224x224, total stride 32; the published
            models) or ``"cifar"`` (32x32, total stride 8, see the module docstring).
        width_mult: channel multiplier (widths rounded to multiples of 8).
        dropout: dropout before the classifier (0: none, as the released code).
        skip_projection: where a skip cannot be an identity (stride 2 or a
            width change), build a :class:`SkipProjection` (bias-free 1x1
            conv with the stride, counted in the cost); False (default)
            raises GenotypeError naming the layer instead.

    A skip at a stride-1, width-preserving layer is a plain ``nn.Identity``
    (no weights). ``self.blocks[i]`` is layer i + 1.
    """

    def __init__(self, arch: ArchSpec, num_classes: int = 1000, variant: str = "imagenet",
                 width_mult: float = 1.0, dropout: float = 0.0, skip_projection: bool = False):
        super().__init__()
        self.arch = resolve_arch(arch)
        self.plan = plan = net_plan(variant, width_mult)
        check_skip_fits(self.arch, plan, skip_projection)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
        self.num_classes, self.variant, self.width_mult = int(num_classes), variant, plan.width_mult
        add_fixed_parts(self, plan, self.num_classes, dropout)
        self.blocks = nn.Sequential(*(build_choice(gene, spec) for gene, spec in zip(self.arch, plan.layers)))
        init_weights(self)

    @property
    def choice_names(self) -> Tuple[str, ...]:
        return tuple(CHOICE_NAMES[i] for i in self.arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.separable(self.stem(x)))
        return self.classifier(self.dropout(self.head(x).mean((2, 3))))


def build_choice(gene: int, spec: LayerSpec) -> nn.Module:
    """The stand-alone module of choice ``gene`` at layer ``spec``."""
    choice = CHOICES[gene]
    if choice.is_skip:
        if spec.identity_possible:
            return nn.Identity()
        return SkipProjection(spec.in_ch, spec.out_ch, spec.stride)
    return InvertedResidual(spec.in_ch, spec.out_ch, choice.expansion, choice.kernel, spec.stride, choice.se)


def add_fixed_parts(module: nn.Module, plan: NetPlan, num_classes: int, dropout: float = 0.0) -> None:
    """Give ``module`` the fixed ``stem``, ``separable``, ``head``, ``dropout`` and ``classifier`` of ``plan``."""
    module.stem = stem(3, plan.stem_ch, plan.stem_stride)
    module.separable = separable_conv(plan.stem_ch, plan.separable_ch)
    module.head = head(plan.layers[-1].out_ch, plan.head_ch)
    module.dropout = nn.Dropout(float(dropout)) if dropout else nn.Identity()
    module.classifier = nn.Linear(plan.head_ch, num_classes)


__all__ = [
    "Choice", "CHOICES", "CHOICE_NAMES", "CHOICE_INDEX", "NUM_CHOICES", "SKIP", "EXPANSIONS", "KERNELS",
    "choice_index", "Stage", "STAGES", "NUM_LAYERS", "VARIANTS", "DEFAULT_CLASSES", "LayerSpec", "NetPlan",
    "net_plan", "LAYERS", "SCARLET_A", "SCARLET_B", "SCARLET_C", "PUBLISHED", "resolve_arch", "arch_names",
    "check_skip_fits", "SKIP_RULES", "skip_layers", "check_skip_rule", "ScarletNet", "build_choice",
    "add_fixed_parts",
]
