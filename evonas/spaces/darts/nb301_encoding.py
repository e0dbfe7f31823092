"""NAS-Bench-301's feature encoding of DARTS genotypes, an encoding of the DARTS space (the surrogate that reads
it: :mod:`evonas.evaluators.nb301`, which reaches it through the space's ``cell_tools``).

Reproduces ``representations.convert_genotype_to_config`` and ConfigSpace
0.4.12's ``Configuration.get_array()`` on the package's ``configspace.json``
(as its ``ConfigLoader`` alters it), without ConfigSpace: 56 values per
genotype, inactive edges NaN (-1 in the model input).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

from evonas.errors import GenotypeError

if TYPE_CHECKING:
    from evonas.spaces.darts.genotype import Genotype

#: NAS-Bench-301's op choices, in its order (no ``none``, no ``sep_conv_7x7``).
NB301_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")
_D = "NetworkSelectorDatasetInfo:darts:"
_EDGE_START = (0, 2, 5, 9)  # first DARTS edge of each intermediate node
_CELLS = ("normal", "reduce")

#: ``nasbench301.api.fixed_hyperparameters`` (the benchmark's training pipeline), "True" -> True.
FIXED_HYPERPARAMETERS: Mapping[str, Any] = {
    "CreateImageDataLoader:batch_size": 96, "ImageAugmentation:augment": True,
    "ImageAugmentation:cutout": True, "ImageAugmentation:cutout_holes": 1,
    "ImageAugmentation:cutout_length": 16, "ImageAugmentation:autoaugment": False,
    "ImageAugmentation:fastautoaugment": False, "LossModuleSelectorIndices:loss_module": "cross_entropy",
    _D + "auxiliary": True, _D + "drop_path_prob": 0.2, "NetworkSelectorDatasetInfo:network": "darts",
    "OptimizerSelector:optimizer": "sgd", "OptimizerSelector:sgd:learning_rate": 0.025,
    "OptimizerSelector:sgd:momentum": 0.9, "OptimizerSelector:sgd:weight_decay": 0.0003,
    "SimpleLearningrateSchedulerSelector:cosine_annealing:T_max": 100,
    "SimpleLearningrateSchedulerSelector:cosine_annealing:eta_min": 1e-8,
    "SimpleLearningrateSchedulerSelector:lr_scheduler": "cosine_annealing",
    "SimpleTrainNode:batch_loss_computation_technique": "mixup", "SimpleTrainNode:mixup:alpha": 0.2,
    _D + "init_channels": 32, _D + "layers": 8,
}

# Non-architecture hyperparameters as ConfigLoader leaves them: (kind, *args). "int"/"float":
# lower, upper, log; "normal": log (mu / sigma do not enter the vector); "cat": choices. ConfigLoader
# replaces init_channels, layers, T_max (constants / narrow in configspace.json) and eta_min by wide ranges.
_OTHER = {
    "CreateImageDataLoader:batch_size": ("int", 64, 128, True),
    "ImageAugmentation:augment": ("cat", (True,)), "ImageAugmentation:autoaugment": ("cat", (False, True)),
    "ImageAugmentation:cutout": ("cat", (True,)), "ImageAugmentation:cutout_holes": ("int", 1, 3, False),
    "ImageAugmentation:cutout_length": ("int", 1, 50, False),
    "ImageAugmentation:fastautoaugment": ("cat", (False, True)),
    "LossModuleSelectorIndices:loss_module": ("cat", ("cross_entropy",)),
    _D + "auxiliary": ("cat", (True,)), _D + "drop_path_prob": ("const", 0.2),
    _D + "init_channels": ("int", 1, 10000, False), _D + "layers": ("int", 1, 10000, False),  # ConfigLoader
    "NetworkSelectorDatasetInfo:network": ("cat", ("darts",)), "OptimizerSelector:optimizer": ("cat", ("sgd",)),
    "OptimizerSelector:sgd:learning_rate": ("normal", True), "OptimizerSelector:sgd:weight_decay": ("normal", True),
    "OptimizerSelector:sgd:momentum": ("float", 0.1, 0.99, False),
    "SimpleLearningrateSchedulerSelector:cosine_annealing:T_max": ("int", 1, 10000, False),  # ConfigLoader
    "SimpleLearningrateSchedulerSelector:cosine_annealing:eta_min": ("float", 0.0, 10000.0, False),  # ConfigLoader
    "SimpleLearningrateSchedulerSelector:lr_scheduler": ("cat", ("cosine_annealing",)),
    "SimpleTrainNode:batch_loss_computation_technique": ("cat", ("mixup",)),
    "SimpleTrainNode:mixup:alpha": ("float", 0.01, 0.7, True),
}


def _input_pairs(state: int) -> tuple[str, ...]:
    """Choices of ``inputs_node_*_{state}``: "i_j" for i < j < state, in (i, j) order."""
    return tuple(f"{i}_{j}" for i in range(state) for j in range(i + 1, state))


def _hyperparameters() -> dict[str, tuple]:
    hps = dict(_OTHER)
    for cell in _CELLS:
        for edge in range(14):
            hps[f"{_D}edge_{cell}_{edge}"] = ("cat", NB301_OPS)
        for state in (3, 4, 5):
            hps[f"{_D}inputs_node_{cell}_{state}"] = ("cat", _input_pairs(state))
    return hps


_HPS = _hyperparameters()
_CONDITIONAL = sorted(f"{_D}edge_{c}_{e}" for c in _CELLS for e in range(2, 14))
#: The 56 feature names in vector order (ConfigSpace 0.4.12: by condition depth, then by name).
FEATURE_NAMES: tuple[str, ...] = tuple(sorted(set(_HPS) - set(_CONDITIONAL))) + tuple(_CONDITIONAL)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _unit(value: float, lower: float, upper: float, log_scale: bool) -> float:
    """ConfigSpace 0.4.12 ``UniformFloatHyperparameter._inverse_transform`` (q = None)."""
    if log_scale:
        value, lower, upper = np.log(value), np.log(lower), np.log(upper)
    return float(np.maximum(0.0, np.minimum(1.0, (value - lower) / (upper - lower))))


def hyperparameter_value(name: str, value: Any) -> float:
    """One entry of ``get_array()``: the vector value of ``value`` for hyperparameter ``name``."""
    kind, *args = _HPS[name]
    if value is None:
        return float("nan")
    if kind == "cat":
        return float(args[0].index(value))
    if kind == "const":
        return 0.0 if value == args[0] else float("nan")
    if kind == "normal":
        return float(np.log(value)) if args[0] else float(value)
    lower, upper, log_scale = args
    if kind == "int":  # UniformInteger wraps a float range widened by 0.49999
        lower, upper = lower - 0.49999, upper + 0.49999
    return _unit(value, lower, upper, log_scale)


_BASE = np.array([hyperparameter_value(n, FIXED_HYPERPARAMETERS.get(n)) for n in FEATURE_NAMES])


def check_nb301_genotype(arch: Any) -> "Genotype":
    """``arch`` (any genotype spec) as a Genotype NAS-Bench-301 can score, or GenotypeError naming why not."""
    from evonas.spaces.darts.cellwise import CellwiseGenotype
    from evonas.spaces.darts.genotype import Genotype, resolve_genotype

    if type(arch) is Genotype and arch.__dict__.get("_nb301_checked"):
        return arch  # passed before (genotypes are immutable): an evaluation checks each one up to three times
    if isinstance(arch, CellwiseGenotype):
        raise GenotypeError("NAS-Bench-301 scores one normal and one reduction cell, not per-cell genotypes")

    try:
        g = resolve_genotype(arch, allow_duplicate_inputs=True)
    except GenotypeError as exc:
        raise GenotypeError(f"not a NAS-Bench-301 genotype: {exc}") from None
    if g.steps != 4:
        raise GenotypeError(f"NAS-Bench-301 cells have 4 nodes; this genotype has {g.steps}")
    for kind in _CELLS:
        if sorted(g.concat(kind)) != [2, 3, 4, 5]:
            raise GenotypeError(f"{kind}_concat {list(g.concat(kind))}: NAS-Bench-301 concatenates all "
                                "four nodes (2, 3, 4, 5)")
        cell = g.cell(kind)
        for j, (op, _) in enumerate(cell):
            if op not in NB301_OPS:
                raise GenotypeError(f"{kind} cell, node {j // 2} (state {j // 2 + 2}), pair {j % 2}: op {op!r} "
                                    f"is not one of NAS-Bench-301's 7 ops ({', '.join(NB301_OPS)})")
        for node in range(4):
            if cell[2 * node][1] == cell[2 * node + 1][1]:
                raise GenotypeError(f"{kind} cell, node {node} (state {node + 2}): both inputs are state "
                                    f"{cell[2 * node][1]}; NAS-Bench-301 needs two distinct inputs per node")
    object.__setattr__(g, "_nb301_checked", True)
    return g


def nb301_config(arch: Any) -> dict[str, str]:
    """The architecture hyperparameters of ``arch`` (``convert_genotype_to_config``)."""
    g = check_nb301_genotype(arch)
    config = {}
    for kind in _CELLS:
        cell = g.cell(kind)
        for node, start in enumerate(_EDGE_START):
            pairs = cell[2 * node: 2 * node + 2]
            for op, inp in pairs:
                config[f"{_D}edge_{kind}_{start + inp}"] = op
            if node:
                config[f"{_D}inputs_node_{kind}_{node + 2}"] = "_".join(str(i) for i in sorted(i for _, i in pairs))
    return config


def nb301_array(arch: Any) -> np.ndarray:
    """ConfigSpace ``get_array()`` of ``arch`` with the fixed hyperparameters: (56,) float64, NaN = inactive."""
    vector = _BASE.copy()  # architecture entries start as NaN (inactive)
    for name, value in nb301_config(arch).items():
        vector[_INDEX[name]] = hyperparameter_value(name, value)
    return vector


def nb301_features(archs: Iterable[Any]) -> np.ndarray:
    """Model input for a batch: (n, 56) float64, inactive edges = -1 (as ``XGBModel.query``)."""
    rows = [nb301_array(a) for a in archs]
    X = np.stack(rows) if rows else np.empty((0, len(FEATURE_NAMES)))
    X[np.isnan(X)] = -1.0
    return X


__all__ = ["FEATURE_NAMES", "FIXED_HYPERPARAMETERS", "NB301_OPS", "check_nb301_genotype", "hyperparameter_value",
           "nb301_array", "nb301_config", "nb301_features"]
