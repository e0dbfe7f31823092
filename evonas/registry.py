"""One registry per kind of component, so the CLI and configs create them by name.

>>> from evonas.registry import strategies
>>> strategies.names()          # doctest: +SKIP
['deap-ga', 'deap-nsga2', 'ga', 'nsga2', ...]
>>> strategies.create("nsga2", pop_size=20)   # doctest: +SKIP

An unknown name raises :class:`~evonas.errors.ConfigError` listing the valid
ones (with a close match when there is one), as timm's ``create_model`` does;
so does an option the component does not take.
Built-in components register themselves when their module is imported; the
registries import those modules lazily on first use.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import typing
from typing import Any, Callable, Iterable

from evonas.errors import ConfigError
from evonas.params import describe


def _accepted_options(factory: Any) -> set[str] | None:
    """Keyword arguments ``factory`` accepts; None when that cannot be told.

    A factory taking ``**kwargs`` is followed to the class its return
    annotation names (e.g. ``nsga2`` -> ``PymooStrategy``).
    """
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        return names
    if not inspect.isfunction(factory):
        return None
    try:
        target = typing.get_type_hints(factory).get("return")
    except Exception:  # unresolvable annotation: leave the check to the factory
        return None
    inner = _accepted_options(target) if inspect.isclass(target) else None
    return None if inner is None else names | inner


def component_config(obj: Any) -> Any:
    """A JSON-able description of a component's settings: ``{"type": "Class", **settings}``.

    The settings are the constructor's parameters (:meth:`~evonas.params.Configurable.get_params`), nested
    components (an operator given to a strategy, the members of a composite evaluator) described the same
    way; never a ``repr``. Used as the identity a resumed search must match, so a difference can be named
    option by option (:func:`differences`). Same as :func:`evonas.params.describe`.
    """
    return describe(obj)


def differences(saved: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two :func:`component_config` descriptions differ (``strategy.pop_size``)."""
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for key in list(saved) + [k for k in current if k not in saved]:
            out += differences(saved.get(key), current.get(key), f"{prefix}{key}.")
        return out
    return [] if saved == current else [prefix.rstrip(".") or "settings"]


class Registry:
    """Name -> factory mapping for one kind of component."""

    def __init__(self, kind: str, modules: Iterable[str] = ()) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}
        self._modules = list(modules)
        self._loaded = False

    def register(self, name: str, factory: Callable[..., Any] | None = None):
        """Register ``factory`` under ``name``; usable as a decorator."""

        def add(obj):
            if name in self._factories and self._factories[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = obj
            return obj

        return add(factory) if factory is not None else add

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                importlib.import_module(module)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load()
        return sorted(self._factories)

    def get(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``."""
        self._load()
        if name not in self._factories:
            close = difflib.get_close_matches(name, self._factories, 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{hint}; valid: {', '.join(self.names())}")
        return self._factories[name]

    def create(self, name: str, **kwargs: Any) -> Any:
        """Instantiate the component registered as ``name`` with keyword arguments.

        An option the factory does not accept is a :class:`ConfigError` with
        the closest valid name ("unknown option 'epocs' of evaluator
        'supernet'; did you mean 'epochs'?").
        """
        factory = self.get(name)
        accepted = _accepted_options(factory)
        if accepted is not None:
            for key in kwargs:
                if key in accepted:
                    continue
                if not accepted:
                    raise ConfigError(f"{self.kind} {name!r} takes no options, got {key!r}")
                close = difflib.get_close_matches(key, sorted(accepted), 1)
                hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(sorted(accepted))}"
                raise ConfigError(f"unknown option {key!r} of {self.kind} {name!r}; {hint}")
        try:
            component = factory(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{self.kind} {name!r}: {exc}") from exc
        try:  # how to build it again elsewhere (a worker process): this registry name and these options
            component._registry_spec = (name, dict(kwargs))
        except AttributeError:  # pragma: no cover - objects without a __dict__
            pass
        return component


spaces = Registry("search space", ["evonas.spaces.darts.space", "evonas.spaces.scarlet.space",
                                   "evonas.spaces.nb201.space", "evonas.testing"])
strategies = Registry("strategy", ["evonas.strategies.random_search", "evonas.strategies.pymoo_moo",
                                   "evonas.strategies.deap_ga", "evonas.strategies.evolution",
                                   "evonas.strategies.relative", "evonas.strategies.gradient",
                                   "evonas.strategies.dap"])
evaluators = Registry("evaluator", ["evonas.evaluators.cost", "evonas.evaluators.supernet",
                                    "evonas.evaluators.nb301", "evonas.evaluators.surrogate", "evonas.evaluators.tabular",
                                    "evonas.evaluators.zero_cost", "evonas.testing"])
operators = Registry("operator", ["evonas.operators.variation", "evonas.operators.vector",
                                   "evonas.operators.gradient", "evonas.operators.perturbation"])
executors = Registry("executor", ["evonas.runtime.executors", "evonas.runtime.ray_executor"])
