"""Published DARTS-space genotypes, as data.

Each entry names its source. Use :func:`get_genotype` (or
:func:`~evonas.spaces.darts.genotype.resolve_genotype`) to look one up by
name, and :func:`list_genotypes` for the valid names.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import List, Mapping

from evonas.errors import GenotypeError
from evonas.spaces.darts.genotype import Genotype

_ALL = range(2, 6)

# DARTS (Liu et al., ICLR 2019), quark0/darts cnn/genotypes.py: first-order
# (V1) and second-order (V2) CIFAR-10 cells. 3,169,414 / 3,349,342 params at
# C=36, 20 cells, 10 classes without the auxiliary head.
DARTS_V1 = Genotype(
    normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    normal_concat=_ALL,
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
    reduce_concat=_ALL,
)
DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=_ALL,
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=_ALL,
)

# PC-DARTS (Xu et al., ICLR 2020), yuhuixu1993/PC-DARTS genotypes.py, CIFAR-10
# cell (``PC_DARTS_cifar``).
PC_DARTS = Genotype(
    normal=[("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0), ("dil_conv_3x3", 1),
            ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
    normal_concat=_ALL,
    reduce=[("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 2),
            ("sep_conv_3x3", 0), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
    reduce_concat=_ALL,
)

# P-DARTS (Chen et al., ICCV 2019), as copied in afzalxo/PertNAS
# extras/genotypes.py (identical to chenxin061/pdarts).
PDARTS = Genotype(
    normal=[("skip_connect", 0), ("dil_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("sep_conv_3x3", 0), ("dil_conv_5x5", 4)],
    normal_concat=_ALL,
    reduce=[("avg_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 2),
            ("max_pool_3x3", 0), ("dil_conv_3x3", 1), ("dil_conv_3x3", 1), ("dil_conv_5x5", 3)],
    reduce_concat=_ALL,
)

# StacNAS (Li et al., arXiv 1909.11926): transcribed from the cell diagrams of
# github.com/susan0199/StacNAS. The repo stores no genotype text, so
# edge attribution in dense drawings is unverified against the paper.
_SEP_PAIR = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]
STACNAS_C10 = Genotype(
    normal=[("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 2),
            ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 2), ("sep_conv_3x3", 0)],
    normal_concat=_ALL,
    reduce=[("skip_connect", 1), ("max_pool_3x3", 0), ("dil_conv_5x5", 2), ("avg_pool_3x3", 0),
            ("dil_conv_5x5", 3), ("avg_pool_3x3", 0), ("dil_conv_5x5", 3), ("sep_conv_5x5", 0)],
    reduce_concat=_ALL,
)
STACNAS_C100 = Genotype(
    normal=[("skip_connect", 0), ("dil_conv_3x3", 1)] + _SEP_PAIR * 3,
    normal_concat=_ALL,
    reduce=[("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_5x5", 2),
            ("dil_conv_5x5", 2), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 3)],
    reduce_concat=_ALL,
)
STACNAS_IMAGENET = Genotype(
    normal=[("skip_connect", 0), ("skip_connect", 1)] + _SEP_PAIR * 3,
    normal_concat=_ALL,
    reduce=_SEP_PAIR * 4,
    reduce_concat=_ALL,
)

# RelativeNAS (Tan et al., IEEE TNNLS 2021), EMI-Group/RelativeNAS genotypes.py.
# Contains duplicate-input nodes (e.g. normal node 1 = sep_conv_3x3 on state 1
# twice), hence allow_duplicate_inputs=True; not expressible in NASBench-301.
RELATIVENAS = Genotype(
    normal=[("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("sep_conv_5x5", 1), ("skip_connect", 0), ("sep_conv_3x3", 0)],
    normal_concat=_ALL,
    reduce=[("avg_pool_3x3", 1), ("max_pool_3x3", 1), ("dil_conv_5x5", 1), ("max_pool_3x3", 1),
            ("avg_pool_3x3", 3), ("skip_connect", 1), ("dil_conv_5x5", 3), ("sep_conv_3x3", 1)],
    reduce_concat=_ALL,
    allow_duplicate_inputs=True,
)

# DAP / PertNAS (github.com/afzalxo/PertNAS, file extras/genotypes.py).
# Best cells of the evolutionary and the supernet-based search, used as both
# normal and reduction cell (NASBench-301 fixtures: 94.71 / 94.58).
DAP_BEST_EVOLUTIONARY = Genotype.from_cell(
    [("sep_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
     ("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
    concat=_ALL,
)
# == EVAL_BEST_SUPERNET (== OPCAP4_DARTS_FT102535_2GPU_RUN4) in PertNAS.
DAP_BEST_SUPERNET = Genotype.from_cell(
    [("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1),
     ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("max_pool_3x3", 1)],
    concat=_ALL,
)
# PertNAS ``EVAL_BEST_EVOLUTIONARY``: the genotype trained for the 97.51 %
# CIFAR-10 / 75.53 % ImageNet results (normal = best evolutionary cell,
# reduce = a second-best cell from another run).
DAP_EVAL_BEST_EVOLUTIONARY = Genotype(
    normal=DAP_BEST_EVOLUTIONARY.normal,
    normal_concat=_ALL,
    reduce=[("sep_conv_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
            ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
    reduce_concat=_ALL,
)

#: Read-only name -> Genotype mapping (names are upper case).
PUBLISHED_GENOTYPES: Mapping[str, Genotype] = MappingProxyType({
    "DARTS_V1": DARTS_V1,
    "DARTS_V2": DARTS_V2,
    "PC_DARTS": PC_DARTS,
    "PDARTS": PDARTS,
    "STACNAS_C10": STACNAS_C10,
    "STACNAS_C100": STACNAS_C100,
    "STACNAS_IMAGENET": STACNAS_IMAGENET,
    "RELATIVENAS": RELATIVENAS,
    "DAP_BEST_EVOLUTIONARY": DAP_BEST_EVOLUTIONARY,
    "DAP_BEST_SUPERNET": DAP_BEST_SUPERNET,
    "DAP_EVAL_BEST_EVOLUTIONARY": DAP_EVAL_BEST_EVOLUTIONARY,
})


# Names the seed code uses for the same genotypes.
_ALIASES = {"DARTS": "DARTS_V2", "PCDARTS": "PC_DARTS", "PC_DARTS_CIFAR": "PC_DARTS",
            "P_DARTS": "PDARTS", "EVAL_BEST_EVOLUTIONARY": "DAP_EVAL_BEST_EVOLUTIONARY",
            "EVAL_BEST_SUPERNET": "DAP_BEST_SUPERNET"}


def is_published_name(name: str) -> bool:
    """True when ``name`` (case-insensitive, aliases included) is a published genotype."""
    key = str(name).strip().upper()
    return key in PUBLISHED_GENOTYPES or key in _ALIASES


def list_genotypes() -> List[str]:
    """Names of the published genotypes, sorted."""
    return sorted(PUBLISHED_GENOTYPES)


def get_genotype(name: str) -> Genotype:
    """The published genotype ``name`` (case-insensitive).

    Also accepts the seed code's names: ``DARTS`` (= DARTS_V2), ``PCDARTS``,
    ``EVAL_BEST_EVOLUTIONARY``, ``EVAL_BEST_SUPERNET``. Raises GenotypeError
    listing the valid names when ``name`` is unknown.
    """
    key = str(name).strip().upper()
    try:
        return PUBLISHED_GENOTYPES[_ALIASES.get(key, key)]
    except KeyError:
        raise GenotypeError(
            f"unknown genotype name {name!r}; valid names: {', '.join(list_genotypes())}") from None


__all__ = ["DAP_BEST_EVOLUTIONARY", "DAP_BEST_SUPERNET", "DAP_EVAL_BEST_EVOLUTIONARY", "DARTS_V1", "DARTS_V2",
           "PC_DARTS", "PDARTS", "PUBLISHED_GENOTYPES", "RELATIVENAS", "STACNAS_C10", "STACNAS_C100",
           "STACNAS_IMAGENET", "get_genotype", "is_published_name", "list_genotypes"]
