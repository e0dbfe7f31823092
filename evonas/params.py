"""One settings convention for every component: its settings are its constructor's arguments.

As in scikit-learn, a component (search space, strategy, evaluator,
operator, executor) is described by the parameters of its constructor
signature, and :meth:`Configurable.get_params` returns them by name. The
rule of where the values live, for every component:

    ``self.config`` maps each constructor parameter to its value.

:class:`Configurable` fills it when the object is made, with the arguments
of the call (defaults filled in), so a new component needs no code for it.
A constructor may store an entry it resolved instead (a strategy passes its
settings to ``Strategy.__init__``, DAP stores the defaults it picked), as
long as ``type(c)(**c.get_params())`` builds an equal component.
:meth:`Configurable.get_params` checks the rule: a parameter missing from
``config``, or a key of ``config`` the constructor does not take, is an
:class:`~evonas.errors.EvonasError` naming it.

From the parameters come the generic ``repr`` (the ones that differ from
their defaults), :func:`describe` (the JSON-able identity that
``config.json``, the resume fingerprint, surrogates and export compare;
never a ``repr``) and :func:`registry_options` (a registry name and options
that build the component again, as ``search.json`` records them).

>>> from evonas.testing import ToySpace
>>> ToySpace(length=6)
ToySpace(length=6)
>>> describe(ToySpace(length=6))
{'type': 'ToySpace', 'length': 6, 'choices': 4}
"""
from __future__ import annotations

import enum
import inspect
import types
import typing
from pathlib import PurePath
from typing import Any, ClassVar

import numpy as np

from evonas.core import Constraint, Objective
from evonas.errors import ConfigError, EvonasError

__all__ = ["Configurable", "component_type", "describe", "is_default", "non_default_params", "registry_options"]

_EMPTY = inspect.Parameter.empty


def _init_parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """``({name: Parameter}, takes **kwargs)`` of ``cls.__init__`` (``self`` left out); cached per class."""
    cached = cls.__dict__.get("_params_signature")
    if cached is not None:
        return cached
    init = cls.__init__
    if init is object.__init__:
        found: tuple[dict[str, inspect.Parameter], bool] = ({}, False)
    else:
        parameters = list(inspect.signature(init).parameters.values())[1:]
        named = {p.name: p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        found = (named, any(p.kind is p.VAR_KEYWORD for p in parameters))
    cls._params_signature = found  # one signature per class (set on the class itself, not inherited)
    return found


def _init_hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of ``cls.__init__`` (``{}`` when they cannot be resolved); cached per class."""
    cached = cls.__dict__.get("_params_hints")
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - an annotation naming a type-checking-only import: no type checks
        hints = {}
    cls._params_hints = hints
    return hints


def _type_fits(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` fits annotation ``hint``: True, False, or None where the annotation is not one of the
    plain kinds checked (bool, int, float, str, None and unions of them)."""
    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        fits = [_type_fits(value, arg) for arg in typing.get_args(hint)]
        return True if any(f is True for f in fits) else (False if all(f is False for f in fits) else None)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if hint is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if hint is float:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if hint is str:
        return isinstance(value, str)
    return None


def _hint_text(hint: Any) -> str:
    """``int``, ``int or None``: an annotation as a reader says it."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_hint_text(arg) for arg in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _check_types(cls: type, given: dict[str, Any], named: dict[str, inspect.Parameter]) -> None:
    """A ConfigError naming the first argument whose value does not fit its annotation (``None`` is accepted
    where it is the default)."""
    hints = _init_hints(cls)
    for name, value in given.items():
        if name not in hints or name not in named or value is None and named[name].default is None:
            continue
        if _type_fits(value, hints[name]) is False:
            expected = _hint_text(hints[name])
            raise ConfigError(f"option {name!r} of {cls.__name__} must be {expected}, got {value!r}")


class _ClassSignature:
    """``cls.__signature__``: the constructor's parameters, so ``inspect.signature(cls)`` shows them (not the
    ``*args, **kwargs`` of :meth:`Configurable.__new__`); absent on instances (a callable operator keeps the
    signature of its ``__call__``)."""

    def __get__(self, obj: Any, cls: type) -> inspect.Signature:
        if obj is not None:
            raise AttributeError("__signature__")
        if cls.__init__ is object.__init__:
            return inspect.Signature()
        return inspect.signature(cls.__init__).replace(
            parameters=list(inspect.signature(cls.__init__).parameters.values())[1:])


class Configurable:
    """Base of every component: ``get_params``, a generic ``repr`` and a JSON-able :meth:`describe`.

    Constructor parameters must be nameable (no positional-only ones, no
    ``*args``); ``**kwargs`` is allowed (a strategy passing options on to
    its base class), its entries of ``config`` are then parameters too.
    """

    #: parameters that say how or where to run (device, progress display, data loader workers...), not what
    #: is computed: left out of :meth:`describe`, so that a run resumes on another device or without a
    #: progress bar
    operational_params: ClassVar[frozenset[str]] = frozenset()

    config: dict[str, Any]
    __signature__ = _ClassSignature()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            bad = [p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                   if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)]
            if bad:
                raise TypeError(f"{cls.__qualname__}.__init__: settings must be nameable, {bad} are not "
                                "(see evonas.params)")

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = super().__new__(cls)
        named, _ = _init_parameters(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(obj, *args, **kwargs)
        except TypeError:
            if args or kwargs:  # what __init__ itself would say, before anything runs
                raise
            obj.config = {}  # made without arguments by pickle / copy: its __dict__ follows
            return obj
        _check_types(cls, {k: v for k, v in bound.arguments.items() if k in named}, named)
        bound.apply_defaults()
        config: dict[str, Any] = {}
        for parameter in list(bound.signature.parameters.values())[1:]:
            if parameter.kind is parameter.VAR_KEYWORD:
                config.update(bound.arguments.get(parameter.name, {}))
            elif parameter.name in named:
                config[parameter.name] = bound.arguments[parameter.name]
        obj.config = config
        return obj

    # ---------------------------------------------------------------- settings
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters and their values, from ``self.config`` (see the module docstring).

        ``deep=True`` adds the parameters of nested components as
        ``name__param`` (scikit-learn's convention).
        """
        named, var_keyword = _init_parameters(type(self))
        config = getattr(self, "config", None)
        if not isinstance(config, dict):
            raise EvonasError(f"{type(self).__name__} keeps no config dict (its settings; see evonas.params)")
        missing = [name for name in named if name not in config]
        extra = [] if var_keyword else [key for key in config if key not in named]
        if missing or extra:
            what = (f"lacks {missing} of its constructor's parameters" if missing else
                    f"holds {extra}, which its constructor does not take")
            raise EvonasError(f"{type(self).__name__}.config {what}: config must map each constructor parameter "
                              "to its value (see evonas.params)")
        params = {name: config[name] for name in named}
        params.update({key: value for key, value in config.items() if key not in named})
        if deep:
            for name, value in list(params.items()):
                if isinstance(value, Configurable):
                    params.update({f"{name}__{k}": v for k, v in value.get_params(deep=True).items()})
        return params

    def describe(self) -> dict[str, Any]:
        """The JSON-able identity ``{"type": ..., **settings}`` (settings in :attr:`operational_params` left
        out; nested components described the same way)."""
        return describe(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in non_default_params(self).items())
        return f"{type(self).__name__}({args})"


# ----------------------------------------------------------------------------- descriptions


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b) or (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))
                                                        and list(a) == list(b))
    except Exception:  # arrays and the like: ambiguous truth value
        return False


def is_default(cls: type, name: str, value: Any) -> bool:
    """Whether ``value`` is the default of parameter ``name`` of ``cls``: its constructor's, or (an option passed
    on through ``**kwargs``) that of the first base class whose constructor names it. A parameter without a
    default has none."""
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__ and klass is not object:
            parameter = inspect.signature(klass.__init__).parameters.get(name)
            if parameter is not None and parameter.kind is not parameter.VAR_KEYWORD:
                return parameter.default is not _EMPTY and _same(value, parameter.default)
    return False


def non_default_params(component: Configurable) -> dict[str, Any]:
    """The parameters whose value differs from the constructor's default (what the generic ``repr`` shows)."""
    return {name: value for name, value in component.get_params(deep=False).items()
            if not is_default(type(component), name, value)}


def _described_class(component: Any) -> type:
    cls = type(component)
    while "__init__" not in cls.__dict__:
        parent = cls.__bases__[0]
        name = getattr(cls, "name", None)
        if not (isinstance(name, str) and name and parent.__dict__.get("name") == name):
            break
        cls = parent
    return cls


def component_type(component: Any) -> str:
    """The name a component's description carries: its class name, or that of the class it extends when it only
    adds behaviour (defines no constructor and keeps its parent's registry ``name``, as a test hook does)."""
    return _described_class(component).__qualname__


def describe(value: Any) -> Any:
    """A JSON-able description of ``value``: a component as ``{"type": ..., **settings}``, containers item by item,
    paths and enums as strings, NumPy values as Python ones; an object with a ``describe()`` method by it, any
    other as ``{"type": its class}``. Used as identity (resume, surrogates, export), never a ``repr``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Configurable):
        operational = type(value).operational_params
        settings = {k: describe(v) for k, v in value.get_params(deep=False).items() if k not in operational}
        return {"type": component_type(value), **settings}
    if isinstance(value, (list, tuple)):
        return [describe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((describe(item) for item in value), key=repr)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return describe(value.value)
    if callable(getattr(value, "describe", None)):
        return describe(value.describe())
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy / torch values
        return describe(value.tolist())
    if isinstance(value, Objective):  # as parse_objective reads it
        return f"{value.name}:{value.direction}"
    if isinstance(value, Constraint):
        return str(value)
    return {"type": type(value).__qualname__}


def registry_options(component: Any, registry: Any) -> tuple[str, dict[str, Any]]:
    """``(registry name, options)`` that build ``component`` again with ``registry.create`` (JSON-able).

    A component the registry made gives the name and options it was made with;
    any other its class's registry ``name`` and the settings that differ from
    the defaults (a nested component by its name when it takes only defaults,
    else by its description). A class the registry does not know gives its
    description's type.
    """
    spec = getattr(component, "_registry_spec", None)
    if spec is not None:
        name, options = spec
        return name, {k: _option(v) for k, v in options.items()}
    cls = _described_class(component)
    name = getattr(cls, "name", "")
    if not (isinstance(name, str) and name in registry.names() and registry.get(name) is cls):
        name = cls.__qualname__
    options = non_default_params(component) if isinstance(component, Configurable) else {}
    return name, {k: _option(v) for k, v in options.items()}


def _option(value: Any) -> Any:
    """An option value as ``search.json`` writes it: a nested component taking only its defaults by its registry
    name (strategies accept operators by name), anything else by :func:`describe`."""
    if isinstance(value, Configurable):
        name = getattr(type(value), "name", "")
        if isinstance(name, str) and name and not non_default_params(value):
            return name
    return describe(value)
