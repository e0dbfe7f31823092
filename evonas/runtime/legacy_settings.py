"""Resuming run directories whose settings an older evonas wrote (before :mod:`evonas.params`).

Their ``config.json`` has no ``settings_format``; it described spaces and
most evaluators by a ``repr`` string (``{"type": "ToySpace", "repr":
"ToySpace(length=8, choices=4)"}``), strategies and operators by their
options. :func:`legacy_differences` compares such settings with today's
components without comparing any ``repr`` text: the type and every option
saved must match; the keyword arguments a ``repr`` listed are read back as
Python literals and compared by value; a setting neither names must be at
its default. Whatever cannot be read back counts as a difference, so an old
run is resumed only when its settings are known to be these.
"""
from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any, Mapping

from evonas.params import Configurable, component_type, describe, is_default

__all__ = ["SETTINGS_FORMAT", "is_legacy", "legacy_differences", "refusal"]

#: ``settings_format`` of the ``config.json`` this evonas writes (absent: an older evonas wrote it)
SETTINGS_FORMAT = 2
_UNREADABLE = object()
_NOT_OPTIONS = ("type", "repr", "members", "inner")


def is_legacy(saved: Mapping[str, Any]) -> bool:
    """Whether a run's ``config.json`` was written before settings came from ``get_params``."""
    return "settings_format" not in saved


def legacy_differences(saved: Mapping[str, Any], components: Mapping[str, Any], current: Mapping[str, Any]) -> list:
    """Dotted names of the settings where an old run's saved ``settings`` differ from (or cannot be matched to)
    today's: ``components`` maps ``space`` / ``strategy`` / ``evaluator`` to the objects, ``current`` is today's
    fingerprint (for the plain entries: objectives, constraints, seed)."""
    out: list[str] = []
    for key in list(saved) + [k for k in current if k not in saved]:
        if key in components:
            out += _component(saved.get(key), components[key], key)
        elif _plain(saved.get(key)) != _plain(current.get(key)):
            out.append(key)
    return out


def refusal(run_path: str | Path, differing: list[str]) -> str:
    """The one-line message refusing to resume an old run."""
    return (f"{run_path} was written by an older evonas, whose saved settings cannot be matched to these "
            f"({', '.join(differing[:6])}); finish it with the evonas version that started it, or start a new run")


# ----------------------------------------------------------------------------- comparison


def _component(old: Any, obj: Any, path: str) -> list[str]:
    if not isinstance(obj, Configurable):
        return [] if _plain(old) == _plain(describe(obj)) else [path]
    if not isinstance(old, dict):
        return [path]
    if old.get("type") != component_type(obj):
        return [f"{path}.type"]
    params = obj.get_params(deep=False)
    identity = {k: v for k, v in params.items() if k not in type(obj).operational_params}
    out: list[str] = []
    checked: set[str] = set()
    options = {k: v for k, v in old.items() if k not in _NOT_OPTIONS}
    for key, value in options.items():  # a key that is no parameter (the supernet's "recipe") has nothing to match
        if key in identity:
            out += _value(value, identity[key], f"{path}.{key}")
            checked.add(key)
    for key, name in (("members", "evaluators"), ("inner", "inner")):
        if key in old:
            out += _value(old[key], identity[name], f"{path}.{name}") if name in identity else [f"{path}.{key}"]
            checked.add(name)
    if "repr" in old:
        call = _parse_call(old["repr"])
        if call is None:
            return out + [path]
        args, kwargs = call
        if options or "members" in old or "inner" in old:
            # its positional arguments are saved above (settings, members, inner) or in the fingerprint's
            # objectives (SelectObjectives'): the required parameters they stood for are matched
            checked.update(k for k in identity if k not in kwargs and _required(type(obj), k))
        else:
            names = list(params)
            for i, value in enumerate(args):
                if i >= len(names):
                    return out + [path]
                kwargs.setdefault(names[i], value)
        for key, value in kwargs.items():
            if key in identity:
                out += [f"{path}.{key}"] if value is _UNREADABLE else _value(value, identity[key], f"{path}.{key}")
                checked.add(key)
            elif key not in params:
                out.append(f"{path}.{key}")  # a setting this evonas no longer has
    out += [f"{path}.{key}" for key, value in identity.items()
            if key not in checked and not is_default(type(obj), key, value)]
    return out


def _required(cls: type, name: str) -> bool:
    parameter = inspect.signature(cls).parameters.get(name)
    return parameter is not None and parameter.default is inspect.Parameter.empty


def _value(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(new, Configurable):
        return _component(old, new, path)
    if isinstance(new, (list, tuple)) and any(isinstance(item, Configurable) for item in new):
        if not isinstance(old, list) or len(old) != len(new):
            return [path]
        return [p for i, (o, n) in enumerate(zip(old, new)) for p in _value(o, n, f"{path}.{i}")]
    if _plain(old) == _plain(describe(new)):
        return []
    if (isinstance(old, str) and old == str(new)) or (new is None and old in ({}, [], ())):
        return []  # what the older code stored: str(path), dict(options or {})
    return [path]


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples as lists), for comparing a literal read from a repr."""
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError):
        return repr(value)


def _parse_call(text: Any) -> tuple[list, dict] | None:
    """``(positional, keyword)`` literal arguments of a ``Name(...)`` text; unreadable ones as a marker; None
    when it is no such call."""
    if not isinstance(text, str):
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or any(k.arg is None for k in node.keywords) or any(
            isinstance(a, ast.Starred) for a in node.args):
        return None

    def literal(item: ast.AST) -> Any:
        try:
            return ast.literal_eval(item)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return _UNREADABLE

    return [literal(a) for a in node.args], {k.arg: literal(k.value) for k in node.keywords}
