"""Safe parser for the ``Genotype(...)`` text printed by DARTS-style code.

Users paste genotypes from papers and logs, e.g.::

    Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6),
             reduce=[...], reduce_concat=[2, 3, 4, 5])

The text is parsed with :func:`ast.parse` and walked by hand; nothing is
evaluated. Accepted: string / number literals, lists and tuples,
``range(a[, b[, c]])`` with literal integer arguments, ``list(...)`` /
``tuple(...)`` around one of those, and list ``+`` / ``* small_int`` (some
papers write cells as ``[...] + [...] * 3``). An optional assignment
(``genotype = Genotype(...)``) and a module prefix (``genotypes.Genotype``)
are tolerated. Anything else raises :class:`~evonas.errors.GenotypeError`
naming the offending expression and its position.
"""
from __future__ import annotations

import ast
from typing import Any, Dict

from evonas.errors import GenotypeError
from evonas.spaces.darts.genotype import _FIELDS, Genotype

_MAX_ITEMS = 1000  # longest list a range / repetition may produce
_MAX_TEXT = 100_000  # characters


def _describe(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of a parsed node should not fail
        text = type(node).__name__
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text!r} (line {getattr(node, 'lineno', '?')}, column {getattr(node, 'col_offset', -1) + 1})"


def _fail(where: str, node: ast.AST, why: str) -> GenotypeError:
    return GenotypeError(f"genotype text, field {where!r}: {why}: {_describe(node)}")


def _int_arg(where: str, node: ast.AST) -> int:
    value = _literal(where, node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, node, "range() arguments must be integer literals")
    return value


def _literal(where: str, node: ast.AST) -> Any:
    """Convert one expression node to a Python value, allowing only safe forms."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(where, elt) for elt in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if node.keywords:
            raise _fail(where, node, f"{name}() takes no keyword arguments here")
        if name == "range" and 1 <= len(node.args) <= 3:
            bounds = [_int_arg(where, arg) for arg in node.args]
            if bounds[-1:] == [0] and len(bounds) == 3:
                raise _fail(where, node, "range() step must not be zero")
            values = range(*bounds)
            if len(values) > _MAX_ITEMS:
                raise _fail(where, node, f"range() longer than {_MAX_ITEMS} items")
            return list(values)
        if name in ("list", "tuple") and len(node.args) == 1:
            value = _literal(where, node.args[0])
            if not isinstance(value, list):
                raise _fail(where, node, f"{name}() needs a list, tuple or range argument")
            return value
        raise _fail(where, node, "only range(a, b), list(...) and tuple(...) calls are allowed")
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _literal(where, node.left), _literal(where, node.right)
        if isinstance(node.op, ast.Add):
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            raise _fail(where, node, "'+' is only allowed between lists")
        seq, times = (left, right) if isinstance(left, list) else (right, left)
        if not isinstance(seq, list) or not isinstance(times, int) or isinstance(times, bool):
            raise _fail(where, node, "'*' is only allowed between a list and an integer")
        if times < 0 or len(seq) * times > _MAX_ITEMS:
            raise _fail(where, node, f"list repetition must give 0..{_MAX_ITEMS} items")
        return seq * times
    raise _fail(where, node, "unsupported expression (only literals, lists, range(a, b) "
                             "and list + / * are allowed)")


def _genotype_call(tree: ast.Module) -> ast.Call:
    if len(tree.body) != 1:
        raise GenotypeError(
            f"genotype text must hold a single Genotype(...) expression, found {len(tree.body)} statements")
    stmt = tree.body[0]
    if isinstance(stmt, ast.Expr):
        node = stmt.value
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        node = stmt.value
    else:
        raise GenotypeError(f"genotype text must be Genotype(...), found: {_describe(stmt)}")
    func = getattr(node, "func", None)
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if not isinstance(node, ast.Call) or name != "Genotype":
        raise GenotypeError(f"genotype text must be a call Genotype(...), found: {_describe(node)}")
    return node


def parse_genotype(text: str, *, allow_duplicate_inputs: bool = False) -> Genotype:
    """Parse pasted ``Genotype(...)`` text (keyword or positional fields) safely.

    Duplicate inputs are allowed when the text says
    ``allow_duplicate_inputs=True`` or the argument is True. Raises
    GenotypeError for malformed text or an invalid genotype.
    """
    if not isinstance(text, str):
        raise GenotypeError(f"genotype text must be a string, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise GenotypeError(f"genotype text is longer than {_MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as exc:
        raise GenotypeError(
            f"malformed genotype text: {exc.msg} (line {exc.lineno}, column {exc.offset})") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise GenotypeError(f"malformed genotype text: {type(exc).__name__}") from None
    call = _genotype_call(tree)
    if len(call.args) > len(_FIELDS):
        raise GenotypeError(
            f"Genotype(...) takes at most {len(_FIELDS)} positional fields "
            f"({', '.join(_FIELDS)}), got {len(call.args)}")
    values: Dict[str, Any] = {}
    for name, arg in zip(_FIELDS, call.args):
        values[name] = _literal(name, arg)
    flag = False
    for kw in call.keywords:
        if kw.arg is None:
            raise GenotypeError("genotype text: '**' arguments are not allowed")
        if kw.arg in values:
            raise GenotypeError(f"genotype text: field {kw.arg!r} is given twice")
        if kw.arg == "allow_duplicate_inputs":
            flag = _literal(kw.arg, kw.value)
            if not isinstance(flag, bool):
                raise GenotypeError(f"genotype text: allow_duplicate_inputs must be True or False, got {flag!r}")
            continue
        if kw.arg not in _FIELDS:
            raise GenotypeError(
                f"genotype text: unknown field {kw.arg!r}; expected {', '.join(_FIELDS)}")
        values[kw.arg] = _literal(kw.arg, kw.value)
    for required in ("normal", "reduce"):
        if required not in values:
            raise GenotypeError(f"genotype text is missing the {required!r} cell")
    return Genotype(allow_duplicate_inputs=flag or allow_duplicate_inputs, **values)


__all__ = ["parse_genotype"]
