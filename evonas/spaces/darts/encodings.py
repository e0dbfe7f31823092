"""Vector encodings of DARTS genotypes, and random variation on genotypes.

Encodings are explicit objects with ``encode(genotype) -> np.ndarray`` and
``decode(vector) -> Genotype``; each carries its own *string* op list (op
ids are only meaningful relative to that list: DARTS, StacNAS, RelativeNAS,
DAP and NASBench-301 each order their primitives differently). Both
encode the normal cell first, then the reduction cell, four numbers per
node: ``[input_1, op_1, input_2, op_2]``. The concat is not encoded: decoded
genotypes concatenate every intermediate node (DARTS default).

Variation (``sample_genotype``, ``mutate_genotype``, ``crossover_genotypes``)
takes ``rng: np.random.Generator`` and always returns valid genotypes.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from evonas.errors import GenotypeError
from evonas.spaces.base import check_rng
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES, OPS

#: RelativeNAS' op order (its index 0..6; 7 ops, no 'none'): ``PRIMITIVES`` in
#: genotypes.py of github.com/EMI-Group/RelativeNAS (Tan et al., IEEE TNNLS 2021).
RELATIVENAS_PRIMITIVES: Tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
    "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
_SLOTS = ("input 1", "op 1", "input 2", "op 2")


def _check_primitives(primitives: Iterable[str]) -> Tuple[str, ...]:
    prims = tuple(primitives)
    bad = [p for p in prims if p not in OPS or p == "none"]
    if not prims or bad or len(set(prims)) != len(prims):
        raise GenotypeError(
            f"genotype primitives must be distinct known op names other than 'none', got {list(prims)}")
    return prims


def _where(kind: str, node: int, slot: int, position: int) -> str:
    return f"{kind} cell, node {node} (state {node + 2}), {_SLOTS[slot]} (vector index {position})"


class _CellEncoding:
    """Shared layout of the two encodings: 2 cells x steps nodes x 4 numbers."""

    def __init__(self, primitives: Sequence[str], steps: int, allow_duplicate_inputs: bool):
        self.primitives = _check_primitives(primitives)
        self.steps = int(steps)
        self.allow_duplicate_inputs = allow_duplicate_inputs
        self._op_index = {name: p for p, name in enumerate(self.primitives)}

    @property
    def length(self) -> int:
        """Vector length: 8 * steps (32 for 4 nodes)."""
        return 8 * self.steps

    def _indices(self, genotype: Genotype) -> np.ndarray:
        """Integer (inputs, op ids) layout of ``genotype``."""
        if not isinstance(genotype, Genotype):
            raise GenotypeError(f"expected a Genotype, got {type(genotype).__name__}")
        decoded = genotype.__dict__.get("_indices")  # (layout, indices) of a genotype an encoding decoded
        if decoded is not None and decoded[0] == (self.primitives, self.steps):
            return np.array(decoded[1], dtype=np.int64)
        if genotype.steps != self.steps:
            raise GenotypeError(f"genotype has {genotype.steps} nodes per cell; this encoding has {self.steps}")
        out = np.empty(self.length, dtype=np.int64)
        for c, kind in enumerate(CELL_KINDS):
            if tuple(sorted(genotype.concat(kind))) != tuple(range(2, 2 + self.steps)):
                raise GenotypeError(f"{kind}_concat {list(genotype.concat(kind))} cannot be encoded "
                                    "(encodings assume every intermediate node is concatenated)")
            for j, (op, inp) in enumerate(genotype.cell(kind)):
                if op not in self._op_index:
                    raise GenotypeError(f"{kind} cell, node {j // 2}: op {op!r} is not in this "
                                        f"encoding's primitives ({', '.join(self.primitives)})")
                pos = c * 4 * self.steps + 2 * j
                out[pos], out[pos + 1] = inp, self._op_index[op]
        return out

    def _genotype(self, indices: np.ndarray | list) -> Genotype:
        """The genotype of in-bounds indices (inputs of node j in 0..j+1, ops indexing ``primitives``, which
        are known ops): valid by construction, so it is built without re-validation."""
        values = indices if isinstance(indices, list) else indices.tolist()  # Python ints, one conversion
        pairs, texts, rank = self._tables()
        half, cells, keys = 4 * self.steps, [], []
        for start in (0, half):  # the normal cell, then the reduction cell
            cell, nodes = [], []
            for k in range(start, start + half, 4):
                in_a, op_a, in_b, op_b = values[k:k + 4]
                cell += (pairs[op_a][in_a], pairs[op_b][in_b])
                # the node's text for the key (genotype.cell_key): its two pairs sorted by (input, op name)
                first, second = ((texts[op_b][in_b], texts[op_a][in_a]) if (in_b, rank[op_b]) < (in_a, rank[op_a])
                                 else (texts[op_a][in_a], texts[op_b][in_b]))
                nodes.append(f"{first}+{second}")
            cells.append(tuple(cell))
            keys.append(";".join(nodes))
        genotype = Genotype._checked(cells[0], cells[1], bool(self.allow_duplicate_inputs))
        concat = ",".join(str(i) for i in range(2, 2 + self.steps))
        genotype.__dict__.update(  # its key (as Genotype.key() computes it) and its indices, for a later encode
            _key="|".join(f"{kind}={key}|{kind}_concat={concat}" for kind, key in zip(CELL_KINDS, keys)),
            _indices=((self.primitives, self.steps), values))
        return genotype

    def _tables(self) -> tuple:
        """``(pairs, texts, rank)``: the ``(op, input)`` pair and its key text ``op@input`` by ``[op id][input]``
        (shared by every decoded genotype), and each op's rank in name order."""
        tables = self.__dict__.get("_pair_tables")
        if tables is None:
            inputs = range(self.steps + 1)
            order = sorted(self.primitives)
            tables = self._pair_tables = ([[(op, i) for i in inputs] for op in self.primitives],
                                          [[f"{op}@{i}" for i in inputs] for op in self.primitives],
                                          [order.index(op) for op in self.primitives])
        return tables

    def _as_vector(self, vector: object) -> np.ndarray:
        v = np.asarray(vector)
        if v.shape != (self.length,):
            raise GenotypeError(f"encoded vector must have shape ({self.length},), got {v.shape}")
        if v.dtype.kind in "iu":  # integers are finite numbers
            return v
        if not np.issubdtype(v.dtype, np.number) or not np.all(np.isfinite(v)):
            raise GenotypeError("encoded vector must hold finite numbers")
        return v

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) float arrays of length ``length``; see the subclass for inclusivity."""
        cached = getattr(self, "_bounds", None)
        if cached is None:
            cached = self._bounds = self._compute_bounds()
        return cached[0].copy(), cached[1].copy()

    def _compute_bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        upper = np.empty(self.length)
        for c in range(2):
            for node in range(self.steps):
                pos = c * 4 * self.steps + 4 * node
                upper[pos:pos + 4] = (self._input_upper(node), self._op_upper(), self._input_upper(node),
                                      self._op_upper())
        return np.zeros(self.length), upper

    def _position(self, pos: int) -> str:
        c, rest = divmod(int(pos), 4 * self.steps)
        node, slot = divmod(rest, 4)
        return _where(CELL_KINDS[c], node, slot, int(pos))

    def _check_bounds(self, v: np.ndarray) -> None:
        if getattr(self, "_bounds", None) is None:
            self.bounds()
        lower, upper = self._bounds
        if ((v < lower) | (v > upper)).any():
            self._bounds_error(v, lower, upper)

    def _bounds_error(self, v: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        for pos in np.flatnonzero((v < lower) | (v > upper)):
            raise GenotypeError(f"{self._position(pos)}: value {v[pos].item()!r} "
                                f"is outside {lower[pos]:g}..{upper[pos]:g}")


class DiscreteEdgeEncoding(_CellEncoding):
    """Integer encoding: per node (input_1, op_1, input_2, op_2), ops indexing ``primitives``.

    Bounds are inclusive integers: input of node i in 0..i+1, op in
    0..len(primitives)-1. This is the representation DAP perturbs and
    integer GA / pymoo operators work on.
    """

    def __init__(self, *, primitives: Optional[Sequence[str]] = None, steps: Optional[int] = None,
                 allow_duplicate_inputs: Optional[bool] = None):
        super().__init__(GENOTYPE_PRIMITIVES if primitives is None else primitives,
                         4 if steps is None else steps, bool(allow_duplicate_inputs))

    def _input_upper(self, node: int) -> int:
        return node + 1

    def _op_upper(self) -> int:
        return len(self.primitives) - 1

    def _compute_bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        lower, upper = super()._compute_bounds()
        return lower.astype(np.int64), upper.astype(np.int64)

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) inclusive int64 bounds."""
        return super().bounds()

    def repair(self, vector: object) -> np.ndarray:
        """``vector`` (one row, or rows along the last axis) rounded into the bounds, with a node's second input
        moved off its first when duplicate inputs are not allowed (to the next state, cyclically): every repaired
        vector decodes. Vector operators (SBX, polynomial mutation) produce any point of the box; this maps it to a
        genotype."""
        lower, upper = self.bounds()
        v = np.clip(np.rint(np.asarray(vector, dtype=float)), lower, upper).astype(np.int64)
        if not self.allow_duplicate_inputs:  # vectorised over any leading axes (a matrix of rows works too)
            first, states = self._input_slots()
            same = v[..., first] == v[..., first + 2]
            v[..., first + 2] = np.where(same, (v[..., first] + 1) % states, v[..., first + 2])
        return v

    def _input_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of each node's first input, and the number of states each node may read (node + 2)."""
        slots = getattr(self, "_slots", None)
        if slots is None:
            slots = self._slots = (np.arange(0, self.length, 4), np.tile(np.arange(self.steps) + 2, 2))
        return slots

    def canonical(self, rows: np.ndarray) -> np.ndarray:
        """Integer rows (..., length) with each node's two (input, op) pairs in (input, op) order: two rows
        are the same architecture exactly when their canonical rows are equal (vectorised duplicate checks)."""
        v = np.array(rows, dtype=np.int64, copy=True)
        nodes = v.reshape(*v.shape[:-1], -1, 2, 2)  # (..., node, pair, (input, op))
        first, second = nodes[..., 0, :], nodes[..., 1, :]
        swap = (second[..., 0] < first[..., 0]) | ((second[..., 0] == first[..., 0]) & (second[..., 1] < first[..., 1]))
        lower = np.where(swap[..., None], second, first)
        upper = np.where(swap[..., None], first, second)
        return np.stack([lower, upper], axis=-2).reshape(v.shape)

    def encode(self, genotype: Genotype) -> np.ndarray:
        """Genotype -> int64 vector of length ``length``."""
        return self._indices(genotype)

    def decode(self, vector: object) -> Genotype:
        """Integer-valued vector -> Genotype; GenotypeError names any bad coordinate."""
        v = self._as_vector(vector)
        if v.dtype.kind not in "iu":
            frac = np.flatnonzero(v != np.round(v))
            if frac.size:
                raise GenotypeError(f"{self._position(frac[0])}: value {v[frac[0]].item()!r} is not an integer")
        self._check_bounds(v)
        v = v.astype(np.int64, copy=False)
        if not self.allow_duplicate_inputs:
            first = np.arange(0, self.length, 4)
            for pos in first[v[first] == v[first + 2]]:
                c, rest = divmod(int(pos), 4 * self.steps)
                node = rest // 4
                raise GenotypeError(f"{CELL_KINDS[c]} cell, node {node} (state {node + 2}): both inputs are state "
                                    f"{v[pos]} (vector indices {pos}, {pos + 2}); this encoding does not allow "
                                    "duplicate inputs")
        return self._genotype(v)

    def decode_many(self, vectors: np.ndarray) -> list[Genotype]:
        """:meth:`decode` of each row of the 2-D ``vectors``: the rows are checked together (integers, bounds,
        duplicate inputs), and a batch with a bad row is decoded row by row for the error that names it."""
        v = np.asarray(vectors)
        if v.ndim != 2 or v.shape[1] != self.length or not np.issubdtype(v.dtype, np.number):
            return [self.decode(row) for row in v]
        if v.dtype.kind not in "iu":
            if not (np.all(np.isfinite(v)) and np.all(v == np.round(v))):
                return [self.decode(row) for row in v]
        lower, upper = self.bounds() if getattr(self, "_bounds", None) is None else self._bounds
        bad = ((v < lower) | (v > upper)).any()
        if not bad and not self.allow_duplicate_inputs:
            bad = (v[:, 0::4] == v[:, 2::4]).any()
        if bad:
            return [self.decode(row) for row in v]
        return [self._genotype(row) for row in v.astype(np.int64, copy=False).tolist()]

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Encoding of a uniformly sampled valid genotype."""
        return self.encode(sample_genotype(rng, steps=self.steps, primitives=self.primitives,
                                           allow_duplicate_inputs=self.allow_duplicate_inputs))


class RelativeNASEncoding(_CellEncoding):
    """RelativeNAS' continuous encoding (Tan et al., IEEE TNNLS 2021), 32 reals for 4 nodes.

    Box bounds: input of node j in [0, 2 + j], op in [0, 7] (7 =
    len(RELATIVENAS_PRIMITIVES)). A coordinate v decodes to
    ``d(v) = floor(v)`` if v is not an integer, else ``max(v - 1, 0)``; so
    every point of the closed box is valid (0 -> 0, upper u -> u - 1).
    Duplicate inputs (and ops) are allowed.
    """

    def __init__(self, *, steps: Optional[int] = None):
        super().__init__(RELATIVENAS_PRIMITIVES, 4 if steps is None else steps, True)

    def _input_upper(self, node: int) -> int:
        return node + 2

    def _op_upper(self) -> int:
        return len(self.primitives)

    @staticmethod
    def decode_value(v: float) -> int:
        """d(v): floor(v) for non-integers, v - 1 for integers (0 stays 0)."""
        f = int(np.floor(v))
        return f if f != v else max(f - 1, 0)

    def encode(self, genotype: Genotype) -> np.ndarray:
        """Genotype -> float vector (each index + 0.5, the centre of its decoding cell)."""
        return self._indices(genotype).astype(np.float64) + 0.5

    def decode(self, vector: object) -> Genotype:
        """Real vector inside :meth:`bounds` -> Genotype (apply :meth:`clip` first after an update)."""
        v = self._as_vector(vector).astype(np.float64)
        self._check_bounds(v)
        return self._genotype(np.array([self.decode_value(x) for x in v], dtype=np.int64))

    def clip(self, vector: object) -> np.ndarray:
        """Clip into the box (RelativeNAS clips after each pseudo-gradient update)."""
        lower, upper = self.bounds()
        return np.clip(np.asarray(vector, dtype=np.float64), lower, upper)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Uniform sample inside the box (RelativeNAS population initialisation)."""
        lower, upper = self.bounds()
        return check_rng(rng).uniform(lower, upper)


# --------------------------------------------------------------- variation
def _sample_node(rng: np.random.Generator, node: int, prims: Sequence[str], dup: bool) -> List[Tuple[str, int]]:
    if dup:
        inputs = rng.integers(0, node + 2, size=2)
    else:
        inputs = rng.choice(node + 2, size=2, replace=False)
    ops = rng.integers(0, len(prims), size=2)
    return [(prims[int(ops[0])], int(inputs[0])), (prims[int(ops[1])], int(inputs[1]))]


def sample_genotype(rng: np.random.Generator, *, steps: int = 4,
                    primitives: Sequence[str] = GENOTYPE_PRIMITIVES,
                    allow_duplicate_inputs: bool = False, shared_cell: bool = False) -> Genotype:
    """Uniformly random genotype: per node two inputs (distinct unless allowed) and two ops.

    ``shared_cell=True`` makes the reduction cell equal the normal cell (DAP).
    """
    check_rng(rng)
    prims = _check_primitives(primitives)
    cells = [[pair for node in range(steps) for pair in _sample_node(rng, node, prims, allow_duplicate_inputs)]
             for _ in range(1 if shared_cell else 2)]
    return Genotype(normal=cells[0], reduce=cells[-1], allow_duplicate_inputs=allow_duplicate_inputs)


def mutate_genotype(genotype: Genotype, rng: np.random.Generator, *,
                    primitives: Sequence[str] = GENOTYPE_PRIMITIVES,
                    allow_duplicate_inputs: Optional[bool] = None, shared_cell: bool = False) -> Genotype:
    """Change one op or one input of one node (50/50 when both are possible).

    The result always differs from ``genotype`` (as a :meth:`Genotype.key`
    too). ``allow_duplicate_inputs=None`` keeps the genotype's own policy.
    With ``shared_cell`` the mutated normal cell is also the reduction cell.
    """
    check_rng(rng)
    prims = _check_primitives(primitives)
    dup = genotype.allow_duplicate_inputs if allow_duplicate_inputs is None else allow_duplicate_inputs
    kinds = CELL_KINDS[:1] if shared_cell else CELL_KINDS
    positions = [(k, j) for k in kinds for j in range(2 * genotype.steps)]
    for pos in rng.permutation(len(positions)):
        kind, j = positions[int(pos)]
        cell = list(genotype.cell(kind))
        node, (op, inp) = j // 2, cell[j]
        other = cell[j ^ 1][1]
        new_ops = [p for p in prims if p != op]
        new_inputs = [i for i in range(node + 2) if i != inp and (dup or i != other)]
        moves = [m for m, ok in (("op", new_ops), ("input", new_inputs)) if ok]
        if not moves:
            continue
        if moves[int(rng.integers(len(moves)))] == "op":
            cell[j] = (new_ops[int(rng.integers(len(new_ops)))], inp)
        else:
            cell[j] = (op, new_inputs[int(rng.integers(len(new_inputs)))])
        changes = {"normal": cell, "reduce": cell} if shared_cell else {kind: cell}
        return genotype.with_cells(allow_duplicate_inputs=dup, **changes)
    raise GenotypeError("no mutation possible: every op and input is forced by the primitives and rules")


def crossover_genotypes(a: Genotype, b: Genotype, rng: np.random.Generator, *,
                        shared_cell: bool = False) -> Tuple[Genotype, Genotype]:
    """Node-wise uniform crossover; returns two complementary children.

    Each node (both of its pairs) of child 1 comes from ``a`` or ``b`` with
    probability 1/2, child 2 takes the other parent's node. Children keep
    the concats of ``a`` and ``b`` respectively and allow duplicate inputs if
    either parent does. With ``shared_cell`` only the normal cell is crossed
    and copied to the reduction cell.
    """
    check_rng(rng)
    if a.steps != b.steps:
        raise GenotypeError(f"cannot cross genotypes with {a.steps} and {b.steps} nodes per cell")
    dup = a.allow_duplicate_inputs or b.allow_duplicate_inputs
    children: List[dict] = [{}, {}]
    for kind in CELL_KINDS[:1] if shared_cell else CELL_KINDS:
        take_a = rng.random(a.steps) < 0.5
        ca, cb = a.cell(kind), b.cell(kind)
        c1, c2 = [], []
        for node in range(a.steps):
            na, nb = ca[2 * node: 2 * node + 2], cb[2 * node: 2 * node + 2]
            c1 += na if take_a[node] else nb
            c2 += nb if take_a[node] else na
        children[0][kind], children[1][kind] = c1, c2
    if shared_cell:
        for child in children:
            child["reduce"] = child["normal"]
    return (a.with_cells(allow_duplicate_inputs=dup, **children[0]),
            b.with_cells(allow_duplicate_inputs=dup, **children[1]))


__all__ = ["DiscreteEdgeEncoding", "RELATIVENAS_PRIMITIVES", "RelativeNASEncoding", "crossover_genotypes",
           "mutate_genotype", "sample_genotype"]
