"""The DARTS ``Genotype``: an immutable, validated, JSON round-trippable cell pair.

Format (DARTS / NASBench-301 compatible): ``normal`` and ``reduce`` are flat
tuples of ``(op_name, input)`` pairs, two consecutive pairs per intermediate
node; inputs use the DARTS index convention (0 = c_{k-2}, 1 = c_{k-1},
2 + i = intermediate node i). ``*_concat`` lists the states concatenated
into the cell output (default: every intermediate node, ``range(2, 2 + n)``).

Validation happens once, at construction; every violation raises
:class:`~evonas.errors.GenotypeError` naming the cell, node and field.
Nodes are named by their 0-based index *and* their state index (the number
other nodes use to refer to them), e.g. ``"normal cell, node 2 (state 4)"``.

Duplicate inputs. Two pairs of one node normally read different states
(DARTS derives cells that way and NASBench-301 requires it), but a node
reading one state twice still builds a valid network, and RelativeNAS'
published cells do so. One rule holds everywhere: a genotype that builds a
valid network is accepted (by ``Genotype``, the parsers, files, JSON, the
command line); a *space* that excludes duplicate inputs (``DartsSpace``'s
default, NASBench-301 scoring) says so when it validates a member. The
fifth dataclass field ``allow_duplicate_inputs`` records whether a genotype
reads a state twice (True then, whatever was passed); it is excluded from
equality and hashing and written by ``to_dict`` / ``to_json`` / ``repr``
only when True, so texts that carry it still parse.

Per-cell genotypes (StacNAS without ``alpha_share``, one cell per layer)
are :class:`~evonas.spaces.darts.cellwise.CellwiseGenotype`.
"""
from __future__ import annotations

import hashlib
import json
import operator
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Sequence, Tuple, Union

from evonas.errors import GenotypeError
from evonas.spaces.darts.ops import OPS

Pair = Tuple[str, int]
Cell = Tuple[Pair, ...]

#: Op names a genotype may use: every op in ``OPS`` except ``none``.
GENOTYPE_OPS = tuple(name for name in OPS if name != "none")
CELL_KINDS = ("normal", "reduce")
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _where(kind: str, node: int) -> str:
    return f"{kind} cell, node {node} (state {node + 2})"


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise GenotypeError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise GenotypeError(f"{what} must be an integer, got {value!r}") from None


def _normalise_cell(kind: str, cell: Any) -> Cell:
    if isinstance(cell, (str, bytes, Mapping)) or not isinstance(cell, Iterable):
        raise GenotypeError(f"{kind} cell must be a list of (op, input) pairs, got {cell!r}")
    if type(cell) in (tuple, list) and cell and all(type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str
                                                    and type(pair[1]) is int for pair in cell):
        pairs = out = list(cell)  # already (op, int) pairs (decoded or copied genotypes): nothing to convert
    else:
        pairs, out = list(cell), []
    if not pairs:
        raise GenotypeError(f"{kind} cell is empty; it needs 2 (op, input) pairs per node")
    for j, pair in enumerate(pairs if out is not pairs else ()):
        where = f"{_where(kind, j // 2)}, pair {j % 2}"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise GenotypeError(f"{where}: expected an (op, input) pair, got {pair!r}")
        op, index = pair
        if not isinstance(op, str):
            raise GenotypeError(f"{where}: op must be a string name, got {op!r}")
        out.append((op, _as_int(index, f"{where}: input")))
    if len(out) % 2:
        node = len(out) // 2
        raise GenotypeError(
            f"{_where(kind, node)}: has 1 input, needs exactly 2 "
            f"(a cell lists 2 (op, input) pairs per node; got {len(out)} pairs)")
    return tuple(out)


def _check_cell(kind: str, cell: Cell, allow_duplicate_inputs: bool) -> None:
    for j, (op, index) in enumerate(cell):
        node = j // 2
        if op != "none" and op in OPS and 0 <= index <= node + 1 and (
                allow_duplicate_inputs or not j % 2 or index != cell[j - 1][1]):
            continue  # the common case: valid, and no message to format
        where = f"{_where(kind, node)}, pair {j % 2}"
        if op == "none":
            raise GenotypeError(
                f"{where}: op 'none' is not allowed in a final genotype "
                "(an unused edge is simply not listed)")
        if op not in OPS:
            raise GenotypeError(f"{where}: unknown op {op!r} (known: {', '.join(GENOTYPE_OPS)})")
        if not 0 <= index <= node + 1:
            raise GenotypeError(
                f"{where}: input {index} is not an earlier state (allowed 0..{node + 1})")
        if j % 2 and not allow_duplicate_inputs and index == cell[j - 1][1]:
            raise GenotypeError(
                f"{_where(kind, node)}: both inputs are state {index}; duplicate inputs "
                "are only allowed with allow_duplicate_inputs=True (RelativeNAS-style cells)")


def _has_duplicate_inputs(cell: Cell) -> bool:
    return any(cell[j][1] == cell[j + 1][1] for j in range(0, len(cell), 2))


def _normalise_concat(kind: str, concat: Any, n_nodes: int) -> Tuple[int, ...]:
    name = f"{kind}_concat"
    if concat is None:
        return tuple(range(2, 2 + n_nodes))
    if isinstance(concat, (str, bytes, Mapping)) or not isinstance(concat, Iterable):
        raise GenotypeError(f"{name} must be a list of state indices, got {concat!r}")
    out = tuple(_as_int(i, f"{name} entry") for i in concat)
    if not out:
        raise GenotypeError(f"{name} is empty; it must list at least one intermediate node")
    for i in out:
        if not 2 <= i <= n_nodes + 1:
            raise GenotypeError(
                f"{name}: index {i} is not an intermediate node (allowed 2..{n_nodes + 1})")
    if len(set(out)) != len(out):
        dup = next(i for i in out if out.count(i) > 1)
        raise GenotypeError(f"{name}: index {dup} appears more than once")
    return out


def _format_cell(cell: Cell) -> str:
    return "[" + ", ".join(f"({op!r}, {i})" for op, i in cell) + "]"


@dataclass(frozen=True)
class Genotype:
    """A validated DARTS genotype (normal cell, reduction cell, their concats).

    Accepts lists / tuples / ranges on input and stores tuples. Equality and
    hash depend on the four DARTS fields only (not on
    ``allow_duplicate_inputs``). Use :meth:`key` for memoisation: it also
    identifies genotypes that differ only in the order of a node's two pairs.
    """

    normal: Cell
    normal_concat: Tuple[int, ...] = None  # type: ignore[assignment]
    reduce: Cell = None  # type: ignore[assignment]
    reduce_concat: Tuple[int, ...] = None  # type: ignore[assignment]
    allow_duplicate_inputs: bool = field(default=False, compare=False)

    @classmethod
    def _checked(cls, normal: Cell, reduce: Cell, allow_duplicate_inputs: bool = False) -> "Genotype":
        """A genotype from cells its caller has already checked: tuples of (known op, int input) pairs that
        read earlier states only, both cells of one node count, all nodes concatenated (an encoding's
        decoder). Skips the validation ``Genotype(...)`` does; anything else must use the constructor."""
        genotype = object.__new__(cls)
        concat = tuple(range(2, 2 + len(normal) // 2))
        genotype.__dict__.update(  # the fields, as a frozen dataclass's own __init__ sets them
            normal=normal, normal_concat=concat, reduce=reduce, reduce_concat=concat,
            allow_duplicate_inputs=bool(allow_duplicate_inputs) or _has_duplicate_inputs(normal)
            or _has_duplicate_inputs(reduce))
        return genotype

    def __post_init__(self) -> None:
        if self.reduce is None:
            raise GenotypeError("reduce cell is missing")
        if not isinstance(self.allow_duplicate_inputs, bool):
            raise GenotypeError(
                f"allow_duplicate_inputs must be True or False, got {self.allow_duplicate_inputs!r}")
        normal = _normalise_cell("normal", self.normal)
        reduce = _normalise_cell("reduce", self.reduce)
        if len(reduce) != len(normal):
            raise GenotypeError(
                f"reduce cell has {len(reduce) // 2} nodes but normal cell has "
                f"{len(normal) // 2}; both cells need the same number of nodes")
        for kind, cell in (("normal", normal), ("reduce", reduce)):
            _check_cell(kind, cell, True)
        if not self.allow_duplicate_inputs and (_has_duplicate_inputs(normal) or _has_duplicate_inputs(reduce)):
            object.__setattr__(self, "allow_duplicate_inputs", True)
        n = len(normal) // 2
        object.__setattr__(self, "normal", normal)
        object.__setattr__(self, "reduce", reduce)
        object.__setattr__(self, "normal_concat", _normalise_concat("normal", self.normal_concat, n))
        object.__setattr__(self, "reduce_concat", _normalise_concat("reduce", self.reduce_concat, n))

    # ------------------------------------------------------------------ views
    @property
    def steps(self) -> int:
        """Number of intermediate nodes per cell (4 in DARTS)."""
        return len(self.normal) // 2

    def cell(self, kind: str) -> Cell:
        """The ``"normal"`` or ``"reduce"`` cell."""
        if kind not in CELL_KINDS:
            raise ValueError(f"cell kind must be 'normal' or 'reduce', got {kind!r}")
        return self.normal if kind == "normal" else self.reduce

    def concat(self, kind: str) -> Tuple[int, ...]:
        """The ``"normal"`` or ``"reduce"`` concat indices."""
        self.cell(kind)
        return self.normal_concat if kind == "normal" else self.reduce_concat

    def ops(self) -> Tuple[str, ...]:
        """Every op name used, normal cell first, in pair order."""
        return tuple(op for op, _ in self.normal + self.reduce)

    @classmethod
    def from_cell(cls, cell: Sequence[Sequence[Any]], *, concat: Iterable[int] | None = None,
                  allow_duplicate_inputs: bool = False) -> "Genotype":
        """A genotype whose reduction cell equals its normal cell (DAP)."""
        return cls(normal=cell, normal_concat=concat, reduce=cell, reduce_concat=concat,
                   allow_duplicate_inputs=allow_duplicate_inputs)

    def with_cells(self, **changes: Any) -> "Genotype":
        """A copy with some fields replaced (validated again)."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["allow_duplicate_inputs"] = self.allow_duplicate_inputs
        data.update(changes)
        return Genotype(**data)

    # ---------------------------------------------------------- round trips
    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-ready dict; pairs become ``[op, input]`` lists."""
        out: Dict[str, Any] = {
            "normal": [[op, i] for op, i in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [[op, i] for op, i in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }
        if self.allow_duplicate_inputs:
            out["allow_duplicate_inputs"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, allow_duplicate_inputs: bool = False) -> "Genotype":
        """Inverse of :meth:`to_dict`. Missing concats default to all nodes.

        Duplicate inputs are allowed when ``data`` says
        ``allow_duplicate_inputs: true`` or the argument is True.
        """
        if not isinstance(data, Mapping):
            raise GenotypeError(f"a genotype dict must be a JSON object / mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_FIELDS) - {"allow_duplicate_inputs"})
        if unknown:
            raise GenotypeError(
                f"genotype dict has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(_FIELDS)}")
        for required in ("normal", "reduce"):
            if required not in data:
                raise GenotypeError(f"genotype dict is missing the {required!r} cell")
        flag = data.get("allow_duplicate_inputs", False)
        if not isinstance(flag, bool):
            raise GenotypeError(f"allow_duplicate_inputs must be true or false, got {flag!r}")
        return cls(normal=data["normal"], normal_concat=data.get("normal_concat"),
                   reduce=data["reduce"], reduce_concat=data.get("reduce_concat"),
                   allow_duplicate_inputs=flag or allow_duplicate_inputs)

    def to_json(self, **dumps_kwargs: Any) -> str:
        """JSON text of :meth:`to_dict` (``json.dumps`` keyword arguments pass through)."""
        return json.dumps(self.to_dict(), **dumps_kwargs)

    @classmethod
    def from_json(cls, text: str, *, allow_duplicate_inputs: bool = False) -> "Genotype":
        """Parse JSON text from :meth:`to_json`; malformed JSON raises GenotypeError."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise GenotypeError(f"malformed genotype JSON: {exc}") from None
        return cls.from_dict(data, allow_duplicate_inputs=allow_duplicate_inputs)

    def __repr__(self) -> str:
        extra = ", allow_duplicate_inputs=True" if self.allow_duplicate_inputs else ""
        return (f"Genotype(normal={_format_cell(self.normal)}, "
                f"normal_concat={list(self.normal_concat)}, "
                f"reduce={_format_cell(self.reduce)}, "
                f"reduce_concat={list(self.reduce_concat)}{extra})")

    __str__ = __repr__

    # ------------------------------------------------------------ identity
    def key(self) -> str:
        """Canonical string key, stable across processes and versions.

        The two pairs of every node are sorted by (input, op) and concat
        indices are sorted, since neither order changes the function the
        cell computes (sums and concatenations up to channel order).
        Computed once per genotype (genotypes are immutable).
        """
        cached = self.__dict__.get("_key")
        if cached is not None:
            return cached
        parts = []
        for kind in CELL_KINDS:
            concat = ",".join(str(i) for i in sorted(self.concat(kind)))
            parts.append(f"{kind}=" + cell_key(self.cell(kind)) + f"|{kind}_concat={concat}")
        key = "|".join(parts)
        object.__setattr__(self, "_key", key)
        return key

    def key_hash(self, length: int = 16) -> str:
        """Short hex digest (SHA-1) of :meth:`key`, for file names."""
        return hashlib.sha1(self.key().encode("utf-8")).hexdigest()[:length]


def cell_key(cell: Cell) -> str:
    """Canonical text of one cell: ``op@input+op@input`` per node, ``;``-separated, the two pairs of a node
    sorted by (input, op) (their order does not change what the cell computes)."""
    nodes = []
    for n in range(0, len(cell), 2):
        (op_a, in_a), (op_b, in_b) = cell[n], cell[n + 1]
        if (in_b, op_b) < (in_a, op_a):
            op_a, in_a, op_b, in_b = op_b, in_b, op_a, in_a
        nodes.append(f"{op_a}@{in_a}+{op_b}@{in_b}")
    return ";".join(nodes)


def canonical_key(genotype: Genotype) -> str:
    """Functional form of :meth:`Genotype.key`."""
    return genotype.key()


GenotypeSpec = Union[Genotype, Mapping[str, Any], str, "os.PathLike[str]"]


def resolve_genotype(spec: GenotypeSpec, *, allow_duplicate_inputs: bool = False) -> Genotype:
    """Turn any accepted genotype description into a :class:`Genotype`.

    ``spec`` may be a ``Genotype`` (returned as is), a dict, a published
    name (``"DARTS_V2"``, case-insensitive, see
    :func:`~evonas.spaces.darts.genotypes.list_genotypes`), JSON text,
    pasted ``Genotype(...)`` text, or a path to a file holding JSON or
    Genotype text. A JSON object ``{"genotype": ...}`` is unwrapped.
    """
    from evonas.spaces.darts.genotypes import get_genotype, is_published_name, list_genotypes

    if isinstance(spec, Genotype):
        return spec
    if isinstance(spec, Mapping):
        return _from_loaded(spec, allow_duplicate_inputs)
    if isinstance(spec, os.PathLike):
        return _from_file(os.fspath(spec), allow_duplicate_inputs)
    if not isinstance(spec, str):
        raise GenotypeError(f"cannot interpret a {type(spec).__name__} as a genotype")
    text = spec.strip()
    if not text:
        raise GenotypeError("empty genotype description")
    if is_published_name(text):
        return get_genotype(text)
    if text.startswith("{"):
        return _from_text(text, allow_duplicate_inputs)
    if "Genotype" in text or text.startswith("("):
        return parse_genotype(text, allow_duplicate_inputs=allow_duplicate_inputs)
    if os.path.isfile(text):
        return _from_file(text, allow_duplicate_inputs)
    if os.path.isdir(text):
        raise GenotypeError(f"{text!r} is a directory; a genotype file is a JSON or Genotype(...) text file")
    if text.lower().endswith(".json") or os.sep in text:
        raise GenotypeError(f"genotype file {text!r} does not exist")
    raise GenotypeError(
        f"unknown genotype {text!r}: not a published name (valid: "
        f"{', '.join(list_genotypes())}), not JSON, not Genotype(...) text, "
        "and not an existing file")


def _from_loaded(data: Any, allow_duplicate_inputs: bool) -> Genotype:
    if isinstance(data, Mapping) and set(data) == {"genotype"}:
        inner = data["genotype"]
        if isinstance(inner, str):
            return _from_text(inner, allow_duplicate_inputs)
        data = inner
    return Genotype.from_dict(data, allow_duplicate_inputs=allow_duplicate_inputs)


def _from_text(text: str, allow_duplicate_inputs: bool) -> Genotype:
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GenotypeError(f"malformed genotype JSON: {exc}") from None
        return _from_loaded(data, allow_duplicate_inputs)
    return parse_genotype(text, allow_duplicate_inputs=allow_duplicate_inputs)


def _from_file(path: str, allow_duplicate_inputs: bool) -> Genotype:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise GenotypeError(f"cannot read genotype file {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise GenotypeError(f"genotype file {path!r} is not text (a genotype file holds JSON or Genotype(...) "
                            "text)") from None
    try:
        return _from_text(text, allow_duplicate_inputs)
    except GenotypeError as exc:
        raise GenotypeError(f"{path}: {exc}") from None


# Re-exported here so that ``genotype`` is the one module to import from;
# imported last because ``parse`` needs ``Genotype``.
from evonas.spaces.darts.parse import parse_genotype  # noqa: E402, I001

__all__ = ["CELL_KINDS", "GENOTYPE_OPS", "Genotype", "canonical_key", "cell_key", "parse_genotype",
           "resolve_genotype"]
