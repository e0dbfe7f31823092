"""The SCARLET-NAS search space (Chu et al., arXiv 1908.06022; ICCV-W 2021).

19 searchable MobileNet layers, each choosing one of 12 inverted-residual
blocks (expansion {3, 6} x kernel {3, 5, 7} x squeeze-excite {off, on}) or
skip. :mod:`~evonas.spaces.scarlet.models` holds the space as data (choice
order, stage plan, SCARLET-A/B/C) and the stand-alone :class:`ScarletNet`;
:class:`ScarletSupernet` is the weight-sharing supernet with SCARLET's
equivariant learnable stabilizer on skips; :class:`ScarletSpace`
implements the SearchSpace contract (registered as ``"scarlet"``).
"""
from evonas.spaces.scarlet.blocks import (
    HSigmoid,
    HSwish,
    InvertedResidual,
    SkipProjection,
    SqueezeExcite,
    Stabilizer,
    make_divisible,
)
from evonas.spaces.scarlet.models import (
    CHOICE_INDEX,
    CHOICE_NAMES,
    CHOICES,
    LAYERS,
    NUM_CHOICES,
    NUM_LAYERS,
    PUBLISHED,
    SCARLET_A,
    SCARLET_B,
    SCARLET_C,
    SKIP,
    SKIP_RULES,
    STAGES,
    VARIANTS,
    ScarletNet,
    arch_names,
    choice_index,
    net_plan,
    resolve_arch,
    skip_layers,
)
from evonas.spaces.scarlet.space import ScarletSpace
from evonas.spaces.scarlet.supernet import ScarletSupernet, SupernetLayer

__all__ = [
    "HSigmoid", "HSwish", "InvertedResidual", "SkipProjection", "SqueezeExcite", "Stabilizer", "make_divisible",
    "CHOICE_INDEX", "CHOICE_NAMES", "CHOICES", "LAYERS", "NUM_CHOICES", "NUM_LAYERS", "PUBLISHED",
    "SCARLET_A", "SCARLET_B", "SCARLET_C", "SKIP", "SKIP_RULES", "STAGES", "VARIANTS",
    "ScarletNet", "arch_names", "choice_index", "net_plan", "resolve_arch", "skip_layers",
    "ScarletSpace", "ScarletSupernet", "SupernetLayer",
]
