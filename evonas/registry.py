"""One registry per kind of component, so the CLI and configs create them by name.

>>> from evonas.registry import strategies
>>> strategies.names()          # doctest: +SKIP
['deap-ga', 'deap-nsga2', 'ga', 'nsga2', ...]
>>> strategies.create("nsga2", pop_size=20)   # doctest: +SKIP

An unknown name raises :class:`~evonas.errors.ConfigError` listing the valid
ones (with a close match when there is one), as timm's ``create_model`` does;
so does an option the component does not take.

Built-in components register themselves when their module is imported; a
registry finds those modules itself (every module of its package, e.g.
:mod:`evonas.strategies` for ``strategies``) and imports them on first use,
so a new component is one new module and no list to update. Third-party
packages register theirs through the ``evonas.plugins`` entry-point group
(:mod:`evonas.plugins`), loaded at the same moment, after the built-ins.
The test fixtures of :mod:`evonas.testing` are not registered unless
:func:`evonas.testing.register_fixtures` is called.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import pkgutil
import typing
from typing import Any, Callable, Iterable

from evonas.errors import ConfigError
from evonas.params import describe
from evonas.plugins import Plugins

log = logging.getLogger(__name__)


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
    """Name -> factory mapping for one kind of component.

    Args:
        kind: what the components are, for messages ("search space").
        packages: the packages whose modules hold the built-in components: every module in them (sub-packages
            included; modules whose name starts with ``_`` aside) is imported on first use, and registers its
            components as it is imported. A module that needs an optional dependency which is not installed
            is skipped (its components are then unknown, and the error for an unknown name says why).
        plugins: the :class:`~evonas.plugins.Plugins` this registry shares with the others, loaded after the
            built-ins of all of them (None: no plugins).
    """

    def __init__(self, kind: str, packages: Iterable[str] = (), *, plugins: Plugins | None = None) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}
        self._packages = list(packages)
        self._plugins = plugins
        if plugins is not None:
            plugins.registries.append(self)
        self._builtins_loaded = False
        #: built-in modules skipped for a missing optional dependency: module -> why
        self.unavailable: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., Any] | None = None):
        """Register ``factory`` under ``name``; usable as a decorator.

        A name taken by another factory is a ValueError (a ConfigError naming the plugin while a plugin
        loads, so that the plugin is skipped and evonas' own component kept).
        """

        def add(obj):
            if name in self._factories and self._factories[name] is not obj:
                plugin = self._plugins.current if self._plugins is not None else None
                if plugin is not None:
                    raise ConfigError(f"{self.kind} {name!r} is already registered, "
                                      f"by {_origin(self._factories[name])}")
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = obj
            return obj

        return add(factory) if factory is not None else add

    def _load_builtins(self) -> None:
        """Import every module of :attr:`packages` once (the built-in components register themselves)."""
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        for package in self._packages:
            for module in _modules_of(package):
                try:
                    importlib.import_module(module)
                except ImportError as exc:
                    missing = exc.name or ""
                    if not missing or missing.split(".")[0] == "evonas":  # evonas' own bug: not to be hidden
                        raise
                    self.unavailable[module] = f"needs {missing!r}"
                    log.debug("%s: %s skipped, it needs %r, which is not installed", self.kind, module, missing)

    def _load(self) -> None:
        self._load_builtins()
        if self._plugins is not None:
            self._plugins.load()

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load()
        return sorted(self._factories)

    def describe(self) -> dict[str, str]:
        """``{name: one-line description}`` of every registered component, sorted by name.

        The description is the first sentence of the factory's docstring (for
        a factory without one, of the class its return annotation names),
        reST markup removed; ``""`` when there is none. The CLI's help is
        generated from it, so a component registered by a plugin is listed
        with the built-in ones.
        """
        import re

        out = {}
        for name in self.names():
            factory = self._factories[name]
            doc = factory.__doc__ if inspect.isclass(factory) or inspect.isfunction(factory) else None
            if not (doc or "").strip() and inspect.isfunction(factory):
                try:
                    returned = typing.get_type_hints(factory).get("return")
                except (NameError, TypeError, AttributeError):  # unresolvable annotation: no description
                    returned = None
                doc = returned.__doc__ if inspect.isclass(returned) else None
            paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split()) if isinstance(doc, str) else ""
            sentence = re.split(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s+", paragraph, maxsplit=1)[0]
            out[name] = re.sub(r":\w+:`~?([^`]+)`", r"\1", sentence).replace("``", "")
        return out

    def options(self, name: str) -> set[str] | None:
        """The keyword options the component registered as ``name`` accepts (None when that cannot be told)."""
        return _accepted_options(self.get(name))

    def get(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``."""
        self._load()
        if name not in self._factories:
            close = difflib.get_close_matches(name, self._factories, 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            missing = [f"{module} {why}" for module, why in self.unavailable.items()]
            if self._plugins is not None and self._plugins.failures:
                missing.append(self._plugins.describe_failures())
            note = f"; not loaded: {'; '.join(missing)}" if missing else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{hint}; valid: {', '.join(self.names())}{note}")
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


def _modules_of(package: str) -> list[str]:
    """Every module of ``package`` and its sub-packages, sorted; names starting with ``_`` are left out."""
    root = importlib.import_module(package)
    found = []
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if not any(part.startswith("_") for part in info.name[len(package) + 1:].split(".")):
            found.append(info.name)
    return sorted(found)


def _origin(factory: Any) -> str:
    """Where a registered factory comes from, for messages ("evonas.strategies.evolution")."""
    return getattr(factory, "__module__", None) or type(factory).__module__


#: the plugins of the registries below (``evonas.plugins`` entry points and ``EVONAS_PLUGINS``)
plugins = Plugins()
spaces = Registry("search space", ["evonas.spaces"], plugins=plugins)
strategies = Registry("strategy", ["evonas.strategies"], plugins=plugins)
evaluators = Registry("evaluator", ["evonas.evaluators"], plugins=plugins)
operators = Registry("operator", ["evonas.operators"], plugins=plugins)
executors = Registry("executor", ["evonas.runtime"], plugins=plugins)

#: the registries by the kind names :func:`create` and :func:`list_components` take
REGISTRIES: dict[str, Registry] = {"space": spaces, "strategy": strategies, "evaluator": evaluators,
                                   "operator": operators, "executor": executors}


def _registry(kind: str) -> Registry:
    if kind not in REGISTRIES:
        close = difflib.get_close_matches(kind, REGISTRIES, 1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown kind of component {kind!r}{hint}; valid: {', '.join(REGISTRIES)}")
    return REGISTRIES[kind]


def create(kind: str, name: str, **options: Any) -> Any:
    """The component of ``kind`` (``"space"``, ``"strategy"``, ``"evaluator"``, ``"operator"``,
    ``"executor"``) registered as ``name``, built with ``options`` (checked by name against its constructor).

    >>> import evonas
    >>> evonas.create("strategy", "nsga2", pop_size=20)   # doctest: +SKIP
    """
    return _registry(kind).create(name, **options)


def list_components(kind: str | None = None) -> dict[str, list[str]] | list[str]:
    """The registered names of ``kind`` (sorted), or ``{kind: names}`` of every kind; built-ins and plugins."""
    if kind is not None:
        return _registry(kind).names()
    return {k: registry.names() for k, registry in REGISTRIES.items()}


__all__ = ["REGISTRIES", "Registry", "component_config", "create", "differences", "evaluators", "executors",
           "list_components", "operators", "plugins", "spaces", "strategies"]
