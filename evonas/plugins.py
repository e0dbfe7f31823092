"""Third-party components: packages that register spaces, strategies, evaluators, operators or executors.

A package makes its components known to evonas through the ``evonas.plugins``
entry-point group, the convention of pytest and friends. In its
``pyproject.toml``::

    [project.entry-points."evonas.plugins"]
    my-plugin = "my_package.evonas_plugin"             # a module that registers when imported
    # or
    my-plugin = "my_package.evonas_plugin:register"    # a function called with no arguments

where the module (or the function) registers its components with the
registries of :mod:`evonas.registry` (``spaces.register("chain", ChainSpace)``).
The environment variable ``EVONAS_PLUGINS`` names more plugins the same way,
comma-separated (``EVONAS_PLUGINS=my_module:register``), as ``PYTEST_PLUGINS``
does for pytest: the way to give one run, and the worker processes it
starts, components that are not installed as a package (evonas' own test
suite registers its fixtures so).

Plugins are loaded lazily, once, on the first use of any registry, after all
built-in components; a plugin that fails to load (an import error, an
exception, a name evonas already has) is skipped with a one-line warning
naming it, and the error of an unknown name repeats that line.
"""
from __future__ import annotations

import logging
import os
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evonas.registry import Registry

__all__ = ["ENTRY_POINT_GROUP", "ENV_VAR", "Plugins", "find_plugins"]

log = logging.getLogger(__name__)

#: the entry-point group a package registers its plugin under
ENTRY_POINT_GROUP = "evonas.plugins"
#: the environment variable naming more plugins, ``module`` or ``module:function``, comma-separated
ENV_VAR = "EVONAS_PLUGINS"

#: a plugin as found: its name and how to load it (returns the module or the function it names)
Found = tuple[str, Callable[[], Any]]


def _load_reference(reference: str) -> Any:
    """The object ``module`` or ``module:attribute.path`` names (the entry-point syntax)."""
    import importlib

    module_name, _, attribute = reference.strip().partition(":")
    obj = importlib.import_module(module_name.strip())
    for part in filter(None, attribute.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def find_plugins() -> list[Found]:
    """The installed plugins (entry points of :data:`ENTRY_POINT_GROUP`), then those :data:`ENV_VAR` names."""
    from importlib.metadata import entry_points

    found: list[Found] = []
    seen = set()
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if (entry.name, entry.value) not in seen:  # a distribution on the path twice lists its entry points twice
            seen.add((entry.name, entry.value))
            found.append((entry.name, entry.load))
    for reference in filter(None, (part.strip() for part in os.environ.get(ENV_VAR, "").split(","))):
        found.append((reference, lambda reference=reference: _load_reference(reference)))
    return found


class Plugins:
    """The plugins of a set of registries: found and loaded once, after every registry's built-in components.

    Args:
        find: returns the plugins as ``(name, load)`` pairs (default :func:`find_plugins`); ``load()``
            returns the plugin's module (which registered its components when imported) or a function
            that registers them when called with no arguments.
    """

    def __init__(self, find: Callable[[], Iterable[Found]] = find_plugins) -> None:
        self._find = find
        self.registries: list[Registry] = []
        #: plugin name -> one line saying why it was not loaded
        self.failures: dict[str, str] = {}
        #: the plugin being loaded (its name), so a registry refuses the names it would take over
        self.current: str | None = None
        self._loaded = False

    def load(self) -> None:
        """Load every plugin, once; a failing one is recorded in :attr:`failures` and logged, never raised."""
        if self._loaded:
            return
        self._loaded = True
        found = list(self._find())
        if not found:
            return
        for registry in self.registries:  # built-ins first: a plugin never takes over one of evonas' names
            registry._load_builtins()
        for name, load in found:
            self.current = name
            try:
                obj = load()
                if callable(obj) and not isinstance(obj, types.ModuleType):
                    obj()
            except Exception as exc:  # a broken plugin must not break evonas: one line, and go on
                message = " ".join(f"{type(exc).__name__}: {exc}".split())
                self.failures[name] = message
                log.warning("evonas plugin %r was not loaded (%s)", name, message)
            finally:
                self.current = None

    def describe_failures(self) -> str:
        """The failures as one line (empty when none): ``plugin 'name' (ImportError: ...)``."""
        return "; ".join(f"plugin {name!r} ({message})" for name, message in self.failures.items())
