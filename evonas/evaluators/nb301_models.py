"""Reading NAS-Bench-301's model files: restricted unpickling, xgboost 1.x conversion, ensembles.

See :mod:`evonas.evaluators.nb301` for the directory layout and how the
ensemble mean and noise are computed.
"""
from __future__ import annotations

import json
import logging
import pickle
import struct
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evonas.errors import CheckpointError
from evonas.imports import optional_import

log = logging.getLogger(__name__)

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
                xgb = optional_import("xgboost", extra="nb301", purpose="NAS-Bench-301 model files")
                raw = bytes(handle)
                if raw.startswith(b"{"):  # xgboost >= 1.6 serialisation (JSON / UBJSON)
                    self.booster = xgb.Booster.__new__(xgb.Booster)
                    self.booster.__setstate__({"handle": bytearray(raw)})
                else:
                    self.booster = xgb.Booster(model_file=bytearray(legacy_xgboost_to_ubj(raw)))
                self.rounds = self.booster.num_boosted_rounds()
            else:
                lgb = optional_import("lightgbm", extra="nb301", purpose="NAS-Bench-301 model files")
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


__all__ = ["MODEL_FILE", "NB301Ensemble", "legacy_xgboost_to_ubj", "load_ensemble", "resolve_model_dir"]
