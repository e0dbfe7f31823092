"""NAS-Bench-201 cells as values: six ops on the six edges of a 4-node DAG, and the benchmark's string format.

Node 0 is the cell input; node j (1..3) sums one op applied to each earlier
node. The six edges in the benchmark's order are (1<-0), (2<-0), (2<-1),
(3<-0), (3<-1), (3<-2), and a cell is written
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (Dong and Yang, ICLR 2020). An
architecture is a tuple of six op names in that edge order; every such tuple
is a valid cell (a ``none`` edge drops the connection; a cell may compute
zeros). 15,625 cells in all.
"""
from __future__ import annotations

import json
from typing import Any, Tuple

from evonas.errors import GenotypeError

#: the five candidate ops, in the benchmark's order (ids index this tuple)
OPS: Tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (to_node, from_node) of each edge, in string order
EDGES: Tuple[Tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

Arch = Tuple[str, str, str, str, str, str]
_KNOWN = frozenset(OPS)


#: the cell string with one ``%s`` per edge, in edge order (node j lists its edges from nodes 0..j-1)
_STRING = "+".join("|" + "|".join(f"%s~{i}" for i in range(node)) + "|" for node in (1, 2, 3))


def arch_string(arch: Arch) -> str:
    """``("nor_conv_3x3", ...)`` -> ``"|nor_conv_3x3~0|+|...|"``."""
    return _STRING % tuple(arch)


def parse_arch_string(text: str) -> Arch:
    """Inverse of :func:`arch_string`; GenotypeError names the node and edge that are wrong."""
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise GenotypeError(f"a NAS-Bench-201 cell string has 3 nodes joined by '+', got {len(nodes)}: {text!r}")
    ops = []
    for node, part in enumerate(nodes, start=1):
        if not (part.startswith("|") and part.endswith("|")):
            raise GenotypeError(f"node {node} of {text!r} must be written |op~i|...|")
        entries = part[1:-1].split("|")
        if len(entries) != node:
            raise GenotypeError(f"node {node} of {text!r} needs {node} edge(s) (one per earlier node), "
                                f"got {len(entries)}")
        for expected, entry in enumerate(entries):
            op, _, source = entry.partition("~")
            if source != str(expected):
                raise GenotypeError(f"node {node}, edge {expected}: expected '{op or 'op'}~{expected}', got {entry!r}")
            ops.append(op)
    return validate_arch(ops)


def validate_arch(spec: Any) -> Arch:
    """An architecture from six op names or ids, a cell string, or JSON of either; GenotypeError otherwise."""
    if type(spec) is tuple and len(spec) == len(EDGES):
        try:
            if _KNOWN.issuperset(spec):
                return spec  # already an architecture value (the common case, on every key and encoding)
        except TypeError:  # an unhashable entry: not an op name
            pass
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("["):
            try:
                return validate_arch(json.loads(text))
            except json.JSONDecodeError as exc:
                raise GenotypeError(f"not valid JSON: {exc}") from None
        return parse_arch_string(text)
    try:
        items = list(spec)
    except TypeError:
        raise GenotypeError(f"a NAS-Bench-201 cell is a string or six ops, got {spec!r}") from None
    if len(items) != len(EDGES):
        raise GenotypeError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(items)} ops")
    ops = []
    for (to, frm), item in zip(EDGES, items):
        if isinstance(item, str) and item in OPS:
            ops.append(item)
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(OPS):
            ops.append(OPS[item])
        elif hasattr(item, "__index__") and not isinstance(item, bool) and 0 <= int(item) < len(OPS):
            ops.append(OPS[int(item)])
        else:
            raise GenotypeError(f"edge {to}<-{frm}: unknown op {item!r} (known: {', '.join(OPS)})")
    return tuple(ops)  # type: ignore[return-value]


__all__ = ["EDGES", "OPS", "arch_string", "parse_arch_string", "validate_arch"]
