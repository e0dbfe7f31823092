"""NAS-Bench-301 scores for DARTS genotypes, read from the official model files.

NAS-Bench-301 (Siems, Zimmer, Zela, Lukasik, Keuper, Hutter; arXiv:2008.09777)
is an ensemble of gradient-boosted trees fitted on ~60k trained DARTS-space
architectures: it predicts the CIFAR-10 validation accuracy (percent) and the
training time (seconds) of a genotype. Its package ``nasbench301`` pins
ConfigSpace 0.4.12 / torch 1.5 and no longer installs; this module needs only
numpy, xgboost and lightgbm (``pip install evonas[nb301]``).

Getting the model files (figshare, the URLs the nasbench301 README and its
``model_downloader.py`` give)::

    # v1.0: https://figshare.com/articles/software/nasbench301_models_v1_0_zip/13061510
    curl -L -o nb_models_1.0.zip https://ndownloader.figshare.com/files/24992018
    unzip nb_models_1.0.zip && mv nb_models nb_models_1.0
    # v0.9: https://figshare.com/articles/software/nasbench301_models_v0_9_zip/12962432
    #       (file https://ndownloader.figshare.com/files/24693026, folders xgb_v0.9 / lgb_runtime_v0.9)

``nb_models_1.0/xgb_v1.0`` holds the accuracy ensemble and
``nb_models_1.0/lgb_runtime_v1.0`` the runtime ensemble: one sub-folder per
member with ``surrogate_model.model`` (a pickled xgboost / LightGBM Booster),
``model_config.json`` and ``data_config.json``.

How a genotype is scored (reproducing ``nasbench301.api`` + ``surrogate_models``):

1. :func:`nb301_config`: ``representations.convert_genotype_to_config`` -
   ``edge_{cell}_{k}`` = op for the DARTS edge k (node i's edges start at
   0, 2, 5, 9; edge = start + input) and ``inputs_node_{cell}_{3,4,5}`` =
   the sorted input pair ``"0_2"``. Node 2's inputs are always 0 and 1.
2. :func:`nb301_array`: ConfigSpace 0.4.12's ``Configuration.get_array()``
   on the package's ``configspace.json`` as its ``ConfigLoader`` alters it,
   with api.py's fixed training hyperparameters: 56 values, unconditional
   hyperparameters first, then the 24 conditional edges, each group sorted by
   name; a categorical is the index of its value in the choices, an inactive
   edge is NaN; numbers are normalised as ConfigSpace does.
3. :func:`nb301_features`: NaN -> -1 (``XGBModel.query``), the model input.
4. Each member predicts; accuracy = ensemble mean (``query_mean``), the noisy
   variant = mean + N(0, std of the members) (``query``, float32 as numpy
   computes it). The runtime is the LightGBM ensemble's mean.

Pickles are read with a restricted unpickler (no code runs). Boosters
pickled by xgboost 1.x hold the pre-1.6 binary model, which xgboost >= 3
refuses; :func:`legacy_xgboost_to_ubj` converts it to the current UBJSON
model format (same trees, so predictions agree with xgboost 1.2 up to
float32 summation order, |delta| < 1e-4 accuracy points).
"""
from __future__ import annotations

import hashlib
import json
import logging
import pickle
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from evonas.errors import CheckpointError, ConfigError, GenotypeError
from evonas.evaluators.base import Evaluator, Objective
from evonas.registry import evaluators

if TYPE_CHECKING:
    from evonas.spaces.darts.genotype import Genotype

log = logging.getLogger(__name__)

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
    from evonas.spaces.darts.genotype import resolve_genotype

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


# ------------------------------------------------------------------ model files
MODEL_FILE = "surrogate_model.model"
_SAFE_GLOBALS = {("builtins", n) for n in ("bytearray", "bytes", "dict", "list", "set", "frozenset", "tuple",
                                            "object", "str", "int", "float", "complex", "bool")}
_SAFE_GLOBALS |= {("collections", "OrderedDict"), ("collections", "defaultdict"), ("copyreg", "_reconstructor"),
                  ("numpy", "dtype"), ("numpy", "ndarray")}
_NUMPY_CORE = {"scalar", "_reconstruct"}


class _Pickled:
    """Stand-in for a class named in a model pickle: keeps constructor args and state, runs nothing."""

    qualname = ("", "")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.state = args, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key, value):  # tolerate dict-like subclasses
        pass


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in _NUMPY_CORE:
            from numpy._core import multiarray  # numpy >= 2; the old path only warns

            return getattr(multiarray, name)
        return type(name, (_Pickled,), {"qualname": (module, name)})


def _read_pickled_booster(path: Path) -> tuple[str, dict]:
    """(class "module.Name", state dict) of the Booster pickled in ``path``."""
    try:
        with open(path, "rb") as handle:
            obj = _SafeUnpickler(handle).load()
    except Exception as exc:  # noqa: BLE001 - a damaged pickle raises almost anything
        raise CheckpointError(f"{path} is truncated or not a pickled model ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, _Pickled) or not isinstance(obj.state, dict):
        raise CheckpointError(f"{path} does not hold a pickled xgboost / LightGBM Booster")
    return ".".join(obj.qualname), obj.state


_UBJ_TYPES = {np.dtype(np.float32): (b"d", ">f4"), np.dtype(np.int32): (b"l", ">i4"),
              np.dtype(np.uint8): (b"U", "u1"), np.dtype(np.int64): (b"L", ">i8")}


def _ubj(value: Any) -> bytes:
    """Minimal UBJSON writer (the subset xgboost's model format uses)."""
    if isinstance(value, dict):
        out = [b"{"]
        for key, item in value.items():
            raw = key.encode()
            out += [b"L", struct.pack(">q", len(raw)), raw, _ubj(item)]
        return b"".join(out + [b"}"])
    if isinstance(value, str):
        raw = value.encode()
        return b"SL" + struct.pack(">q", len(raw)) + raw
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return b"L" + struct.pack(">q", int(value))
    if isinstance(value, np.ndarray):
        marker, dtype = _UBJ_TYPES[value.dtype]
        return b"[$" + marker + b"#L" + struct.pack(">q", value.size) + value.astype(dtype).tobytes()
    if isinstance(value, (list, tuple)):
        return b"[#L" + struct.pack(">q", len(value)) + b"".join(_ubj(v) for v in value)
    raise TypeError(f"cannot write {type(value).__name__} as UBJSON")


_NODE = np.dtype([("parent", "<i4"), ("left", "<i4"), ("right", "<i4"), ("sindex", "<u4"), ("value", "<f4")])
_STAT = np.dtype([("loss", "<f4"), ("hess", "<f4"), ("weight", "<f4"), ("children", "<i4")])


def _legacy_tree(nodes: np.ndarray, stats: np.ndarray, tree_id: int, num_feature: int) -> dict:
    """One pre-1.6 binary tree as a current JSON tree (deleted nodes dropped, ids renumbered from the root)."""
    keep = np.arange(len(nodes))
    if np.any(nodes["sindex"] == 0xFFFFFFFF):  # pruned trees keep "deleted" slots; walk the live ones
        order, queue = [], [0]
        while queue:
            i = queue.pop(0)
            order.append(i)
            if nodes["left"][i] != -1:
                queue += [int(nodes["left"][i]), int(nodes["right"][i])]
        keep = np.asarray(order)
    new_id = np.full(len(nodes), -1, dtype=np.int64)
    new_id[keep] = np.arange(len(keep))
    n, s = nodes[keep], stats[keep]
    leaf = n["left"] == -1
    remap = lambda ids: np.where(ids == -1, -1, new_id[np.clip(ids, 0, len(nodes) - 1)]).astype(np.int32)  # noqa: E731
    parents = remap(n["parent"].astype(np.int64) & 0x7FFFFFFF)
    parents[0] = 0x7FFFFFFF  # the root (node 0) has no parent
    empty32, empty64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
    return {"base_weights": s["weight"], "categories": empty32, "categories_nodes": empty32,
            "categories_segments": empty64, "categories_sizes": empty64,
            "default_left": (n["sindex"] >> 31).astype(np.uint8), "id": tree_id,
            "left_children": remap(n["left"]), "loss_changes": s["loss"], "parents": parents,
            "right_children": remap(n["right"]), "split_conditions": n["value"],
            "split_indices": np.where(leaf, 0, n["sindex"] & 0x7FFFFFFF).astype(np.int32),
            "split_type": np.zeros(len(n), np.uint8), "sum_hessian": s["hess"],
            "tree_param": {"num_deleted": "0", "num_feature": str(num_feature), "num_nodes": str(len(n)),
                           "size_leaf_vector": "0"}}


def legacy_xgboost_to_ubj(raw: bytes) -> bytes:
    """An xgboost 0.8x-1.x pickled / raw binary ``gbtree`` model as a current UBJSON model.

    Accepts the pickle payload (``b"CONFIG-offset:" + int64 + binary model +
    JSON config``) or the bare binary model (optionally ``b"binf"``-tagged).
    Layout (xgboost 1.2 ``learner.cc`` / ``gbtree_model.h`` / ``tree_model.h``):
    LearnerModelParam (136 bytes), objective and booster names (uint64
    length + bytes), GBTreeModelParam (160 bytes), per tree TreeParam (148
    bytes) + nodes (20 bytes each) + node stats (16 bytes each), tree_info.
    """
    config: dict = {}
    if raw.startswith(b"CONFIG-offset:"):
        (size,) = struct.unpack_from("<q", raw, 14)
        body, tail = raw[22:22 + size], raw[22 + size:]
        try:
            config = json.loads(tail.decode("utf-8")) if tail.strip() else {}
        except ValueError:
            config = {}
    else:
        body = raw
    if body.startswith(b"binf"):
        body = body[4:]
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from(fmt, body, pos)
        pos += struct.calcsize(fmt)
        return values

    def string() -> str:
        nonlocal pos
        (size,) = take("<Q")
        pos += size
        return body[pos - size:pos].decode("utf-8")

    try:
        base_score, num_feature, num_class = take("<fIi")
        take("<iiII27i")
        objective, booster = string(), string()
        if booster != "gbtree":
            raise CheckpointError(f"only gbtree boosters can be converted, this model uses {booster!r}")
        if num_class > 1 or objective not in ("reg:squarederror", "reg:linear"):
            raise CheckpointError(f"only squared-error regression models can be converted, this one is {objective!r}")
        num_trees = take("<iiiiqii32i")[0]
        trees = []
        for tree_id in range(num_trees):
            num_nodes = take("<iiiiii31i")[1]
            nodes = np.frombuffer(body, _NODE, num_nodes, pos)
            stats = np.frombuffer(body, _STAT, num_nodes, pos + num_nodes * _NODE.itemsize)
            pos += num_nodes * (_NODE.itemsize + _STAT.itemsize)
            trees.append(_legacy_tree(nodes, stats, tree_id, num_feature))
        tree_info = list(take(f"<{num_trees}i"))
    except struct.error as exc:
        raise CheckpointError(f"truncated xgboost binary model ({exc})") from None
    gbtree = config.get("learner", {}).get("gradient_booster", {}).get("gbtree_train_param", {})
    parallel = int(gbtree.get("num_parallel_tree", 1) or 1)
    parallel = parallel if num_trees % parallel == 0 else 1
    model = {"learner": {
        "attributes": {}, "feature_names": [], "feature_types": [],
        "gradient_booster": {"model": {"gbtree_model_param": {"num_parallel_tree": str(parallel),
                                                              "num_trees": str(num_trees)},
                                       "iteration_indptr": list(range(0, num_trees + 1, parallel)),
                                       "tree_info": tree_info, "trees": trees}, "name": "gbtree"},
        "learner_model_param": {"base_score": f"{base_score:.9g}", "boost_from_average": "1", "num_class": "0",
                                "num_feature": str(num_feature), "num_target": "1"},
        "objective": {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}}},
        "version": [2, 0, 0]}
    return _ubj(model)


def _import(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(f"NAS-Bench-301 model files need {module}: pip install evonas[nb301]") from None


class _Member:
    """One ensemble member: an xgboost or LightGBM Booster and how the package predicted with it."""

    def __init__(self, path: Path, family: str) -> None:
        qualname, state = _read_pickled_booster(path)
        self.path, self.family = path, family
        handle = state.get("_handle", state.get("handle"))
        if handle is None:
            raise CheckpointError(f"{path}: the pickled Booster holds no model")
        try:
            if family == "xgb":
                xgb = _import("xgboost")
                raw = bytes(handle)
                if raw.startswith(b"{"):  # xgboost >= 1.6 serialisation (JSON / UBJSON)
                    self.booster = xgb.Booster.__new__(xgb.Booster)
                    self.booster.__setstate__({"handle": bytearray(raw)})
                else:
                    self.booster = xgb.Booster(model_file=bytearray(legacy_xgboost_to_ubj(raw)))
                self.rounds = self.booster.num_boosted_rounds()
            else:
                lgb = _import("lightgbm")
                self.booster = lgb.Booster(model_str=handle if isinstance(handle, str) else bytes(handle).decode())
                best = state.get("best_iteration", -1)  # lgb's predict(num_iteration=None) uses it
                self.rounds = int(best) if best and int(best) > 0 else None
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - the libraries raise their own error types
            raise CheckpointError(f"{path}: cannot load the {qualname or family} model ({exc})") from None

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.family == "xgb":  # all trees, as xgboost 1.x Booster.predict(ntree_limit=0)
            return self.booster.inplace_predict(X, iteration_range=(0, self.rounds))
        return self.booster.predict(X, num_iteration=self.rounds)


class NB301Ensemble:
    """An official NAS-Bench-301 ensemble folder (``xgb_v1.0``, ``lgb_runtime_v1.0``, ...).

    Members are the sub-folders holding ``surrogate_model.model`` (found
    recursively, as ``nasbench301.load_ensemble`` does, and sorted by path);
    ``model_config.json`` (its ``"model"`` names the member type: ``xgb``,
    ``lgb``, ``xgb_time``, ``lgb_time``) and ``data_config.json`` are read
    from the first member's folder or the ensemble folder.
    """

    def __init__(self, path: Path, members: Sequence[_Member], model_config: dict, data_config: dict) -> None:
        self.path, self.members = path, list(members)
        self.model_config, self.data_config = model_config, data_config

    @classmethod
    def load(cls, path: str | Path) -> "NB301Ensemble":
        path = Path(path)
        files = sorted(path.rglob("*" + MODEL_FILE)) if path.is_dir() else []
        if not files:
            raise CheckpointError(f"{path}: no ensemble member found (expected {path}/<member>/{MODEL_FILE})")
        configs = {}
        for name in ("model_config.json", "data_config.json"):
            found = [p for p in (files[0].parent / name, path / name) if p.is_file()]
            if not found:
                raise CheckpointError(f"{path}: {name} is missing (expected in {files[0].parent} or {path})")
            try:
                configs[name] = json.loads(found[0].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"{found[0]} is not readable JSON ({exc})") from None
        model = str(configs["model_config.json"].get("model", ""))
        family = model.split("_")[0]
        if family not in ("xgb", "lgb"):
            raise CheckpointError(f"{path}: model {model!r} is not a gradient-boosting ensemble; evonas reads the "
                                  "xgb / lgb ensembles only (the GNN / forest ones need the nasbench301 package)")
        return cls(path, [_Member(f, family) for f in files], configs["model_config.json"], configs["data_config.json"])

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """(n, members) predictions, in each library's output dtype."""
        return np.stack([m.predict(X) for m in self.members], axis=1)

    def mean_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ensemble mean and std (ddof 0), computed as ``np.mean`` / ``np.std`` of one query's list."""
        P = np.ascontiguousarray(self.predict_members(X))
        return P.mean(axis=1), P.std(axis=1)

    def __repr__(self) -> str:
        return f"NB301Ensemble({str(self.path)!r}, {len(self.members)} x {self.model_config.get('model')})"


_LAYOUT = """expected layout (the unzipped figshare archive, see evonas.evaluators.nb301):
  {root}/xgb_v{v}/<member>/surrogate_model.model     accuracy ensemble: one folder per member
  {root}/xgb_v{v}/<member>/model_config.json, data_config.json
  {root}/lgb_runtime_v{v}/<member>/surrogate_model.model   runtime ensemble (not needed with runtime=False)
  {root}/lgb_runtime_v{v}/<member>/model_config.json, data_config.json"""
_LOADED: dict[tuple, NB301Ensemble] = {}


def resolve_model_dir(model_dir: str | Path, version: str = "1.0") -> Path:
    """The folder holding ``xgb_v{version}``: ``model_dir`` itself or its ``nb_models_{version}`` / ``nb_models``."""
    root = Path(model_dir).expanduser()
    for candidate in (root, root / f"nb_models_{version}", root / "nb_models"):
        if (candidate / f"xgb_v{version}").is_dir():
            return candidate
    what = "does not exist" if not root.exists() else f"has no xgb_v{version}/ folder"
    raise CheckpointError(f"NAS-Bench-301 model directory {root} {what}; " + _LAYOUT.format(root=root, v=version))


def load_ensemble(path: str | Path) -> NB301Ensemble:
    """:meth:`NB301Ensemble.load`, cached per process while the member files are unchanged."""
    path = Path(path).resolve()
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.rglob("*" + MODEL_FILE)))
    if (path, stamp) not in _LOADED:
        _LOADED[(path, stamp)] = NB301Ensemble.load(path)
    return _LOADED[(path, stamp)]


def _noise_rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return np.random.default_rng([int(seed)] + [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)])


@evaluators.register("nb301")
class NB301Evaluator(Evaluator):
    """NAS-Bench-301 predicted CIFAR-10 accuracy of DARTS genotypes (objective ``nb301_accuracy``, max).

    Arguments (stored as given; the models load in :meth:`setup`):

    * ``model_dir``: the unzipped ``nb_models_1.0`` folder (or its parent).
    * ``version``: ``"1.0"`` (default) or ``"0.9"``: picks ``xgb_v{version}`` /
      ``lgb_runtime_v{version}``.
    * ``noisy``: report mean + N(0, std of the members) as
      ``nasbench301``'s ``predict(with_noise=True)`` does, instead of the
      mean. The draw is seeded by ``seed`` and the genotype's canonical key,
      so one genotype always gets the same draw (any batch, any order);
      change ``seed`` for another benchmark instance.
    * ``runtime``: also report ``nb301_runtime``, predicted training time in
      seconds (LightGBM ensemble mean, never noisy).
    * ``cost``: also report ``params`` and ``flops`` (multiply-adds) of the
      DARTS evaluation network ``NetworkCIFAR(36, 10, 20, False, genotype)``
      (auxiliary head excluded), counted by evonas and cached per genotype.
      The benchmark itself trains 32 channels / 8 cells; these are the sizes
      papers report.

    Values: ``nb301_accuracy`` (percent, e.g. 94.71), ``nb301_std`` (spread
    of the members), and the optional columns above. Genotypes NB301 cannot
    represent raise GenotypeError (:func:`check_nb301_genotype`).
    """

    name = "nb301"

    def __init__(self, model_dir: Optional[str | Path] = None, *, version: str = "1.0", noisy: bool = False,
                 seed: int = 0, runtime: bool = True, cost: bool = True) -> None:
        super().__init__()
        self.model_dir, self.model_version = model_dir, str(version)
        self.noisy, self.seed, self.runtime, self.cost = bool(noisy), int(seed), bool(runtime), bool(cost)
        self.performance: Optional[NB301Ensemble] = None
        self.runtime_model: Optional[NB301Ensemble] = None
        self._cost_cache: dict[str, tuple[float, float]] = {}

    def __repr__(self) -> str:
        return (f"NB301Evaluator({str(self.model_dir)!r}, version={self.model_version!r}, noisy={self.noisy}, "
                f"seed={self.seed}, runtime={self.runtime}, cost={self.cost})")

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("nb301_accuracy", "max"),)

    @property
    def version(self) -> Any:
        return ("nb301", self.model_version, ("noisy", self.seed) if self.noisy else "mean")

    def _setup(self, space) -> None:
        if self.model_dir is None:
            raise ConfigError("NB301Evaluator needs model_dir, the unzipped NAS-Bench-301 model folder; "
                              + _LAYOUT.format(root="<model_dir>", v=self.model_version))
        root = resolve_model_dir(self.model_dir, self.model_version)
        self.performance = load_ensemble(root / f"xgb_v{self.model_version}")
        if self.runtime:
            runtime_dir = root / f"lgb_runtime_v{self.model_version}"
            if not runtime_dir.is_dir():
                raise CheckpointError(f"{root} has no lgb_runtime_v{self.model_version}/ folder (pass runtime=False "
                                      "to score accuracy only); " + _LAYOUT.format(root=root, v=self.model_version))
            self.runtime_model = load_ensemble(runtime_dir)
        log.info("NAS-Bench-301 v%s: %r%s", self.model_version, self.performance,
                 f", {self.runtime_model!r}" if self.runtime_model else "")
        if self.performance.model_config.get("evonas_demo"):
            log.warning("%s: %s", self.performance.path, DEMO_NOTE)

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        genotypes = [check_nb301_genotype(a) for a in archs]
        X = nb301_features(genotypes)
        mean, std = self.performance.mean_std(X)
        results = []
        for g, m, s in zip(genotypes, mean, std):
            acc = m + _noise_rng(self.seed, g.key()).normal(0.0, s) if self.noisy else m
            results.append({"nb301_accuracy": float(acc), "nb301_std": float(s)})
        if self.runtime_model is not None:
            for row, value in zip(results, self.runtime_model.mean_std(X)[0]):
                row["nb301_runtime"] = float(value)
        if self.cost:
            for row, g in zip(results, genotypes):
                row["params"], row["flops"] = self._network_cost(g)
        return results

    def _network_cost(self, genotype) -> tuple[float, float]:
        key = genotype.key()
        if key not in self._cost_cache:
            self._cost_cache[key] = network_cost(genotype)
        return self._cost_cache[key]


class _CostTable:
    """(params, MACs) of ``NetworkCIFAR(36, 10, 20, False, g)`` as a base plus one term per op.

    A cell's ops are independent modules whose outputs are only summed and
    concatenated, so both counts are additive: the network's count is the
    genotype-independent part (stem, preprocessing, classifier; NB301 always
    concatenates all 4 nodes) plus, per cell and pair, the count of
    ``OPS[op](C, stride, affine=True)`` at that cell's width and resolution.
    Every term comes from :func:`count_params` / :func:`count_macs`; the base
    is one full count of DARTS_V2 minus its op terms. Exact (tests compare
    full counts); ~0.1 ms per genotype instead of ~0.5 s.
    """

    def __init__(self) -> None:
        import torch

        from evonas.evaluators.cost import count_macs, count_params
        from evonas.spaces.darts.genotypes import DARTS_V2
        from evonas.spaces.darts.networks import NetworkCIFAR

        net = NetworkCIFAR(36, 10, 20, False, DARTS_V2)
        self._ops: dict[tuple, np.ndarray] = {}
        self._count = lambda m, shape: np.array([count_params(m), count_macs(m, shape)], dtype=np.int64)
        full = self._count(net, (1, 3, 32, 32))
        self.cells: list[tuple[bool, int, int]] = []  # (reduction, C, input height) per cell, from a shape-only pass
        for cell in net.cells:
            cell.preprocess1.register_forward_hook(
                lambda mod, inp, out, cell=cell: self.cells.append((cell.reduction, out.shape[1], out.shape[2])))
        with torch.no_grad():
            net.to("meta").eval()(torch.zeros(1, 3, 32, 32, device="meta"))
        self.base = full - self._op_terms(DARTS_V2)

    def _op_terms(self, genotype) -> np.ndarray:
        from evonas.spaces.darts.ops import OPS

        total = np.zeros(2, dtype=np.int64)
        for reduction, C, H in self.cells:
            for op, index in genotype.cell("reduce" if reduction else "normal"):
                stride = 2 if reduction and index < 2 else 1
                size = H if index < 2 or not reduction else H // 2
                key = (op, C, stride, size)
                if key not in self._ops:
                    self._ops[key] = self._count(OPS[op](C, stride, True), (1, C, size, size))
                total += self._ops[key]
        return total

    def __call__(self, genotype) -> tuple[float, float]:
        params, macs = self.base + self._op_terms(genotype)
        return float(params), float(macs)


_COST_TABLE: list = []


def network_cost(arch: Any) -> tuple[float, float]:
    """(params, multiply-adds) of the DARTS CIFAR evaluation network (C=36, 20 cells, no auxiliary head)."""
    if not _COST_TABLE:
        _COST_TABLE.append(_CostTable())
    return _COST_TABLE[0](check_nb301_genotype(arch))


DEMO_NOTE = "DEMO surrogate trained on a made-up formula: NOT NAS-Bench-301, its numbers mean nothing"


def build_demo_model_dir(path: str | Path, *, seed: int = 0, members: int = 3, n: int = 600) -> Path:
    """Write a tiny model folder in the official layout (``xgb_v1.0``, ``lgb_runtime_v1.0``) for demos and tests.

    The boosters are fitted on ``n`` random genotypes against an invented
    formula (sep convs up, skips and pools down, ~92-95 "percent"); every
    ``model_config.json`` carries ``"evonas_demo": true`` and
    :data:`DEMO_NOTE`, and :class:`NB301Evaluator` logs a warning when it loads one.
    """
    xgb, lgb = _import("xgboost"), _import("lightgbm")
    from evonas.spaces.darts.encodings import sample_genotype

    rng = np.random.default_rng(seed)
    genotypes = [sample_genotype(rng, primitives=NB301_OPS) for _ in range(n)]
    X = nb301_features(genotypes)
    ops = np.stack([[NB301_OPS.index(op) for op, _ in g.normal + g.reduce] for g in genotypes])
    gain = np.array([-0.25, -0.3, -0.45, 0.35, 0.3, 0.15, 0.1])[ops]
    accuracy = 93.2 + gain[:, :8].sum(1) * 0.35 + gain[:, 8:].sum(1) * 0.1 + rng.normal(0, 0.1, n)
    seconds = 2500.0 + 400.0 * (ops >= 3).sum(1) + rng.normal(0, 50, n)
    root = Path(path)
    for folder, model, fit in (("xgb_v1.0", "xgb", lambda y, i: xgb.train(
            {"max_depth": 5, "eta": 0.1, "subsample": 0.8, "seed": i, "nthread": 1}, xgb.DMatrix(X, label=y), 150)),
            ("lgb_runtime_v1.0", "lgb_time", lambda y, i: lgb.train(
                {"objective": "regression", "num_leaves": 15, "seed": i, "verbose": -1, "num_threads": 1,
                 "bagging_fraction": 0.8, "bagging_freq": 1}, lgb.Dataset(X, label=y), 100))):
        target = accuracy if model == "xgb" else seconds
        for i in range(members):
            member = root / folder / f"demo_member_{i}"
            member.mkdir(parents=True, exist_ok=True)
            (member / MODEL_FILE).write_bytes(pickle.dumps(fit(target, seed + i)))
            config = {"model": model, "evonas_demo": True, "note": DEMO_NOTE}
            (member / "model_config.json").write_text(json.dumps(config))
            (member / "data_config.json").write_text(json.dumps({"seed": seed + i}))
    return root
