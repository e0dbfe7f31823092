"""Registries: built-in modules found by discovery, plugins loaded after them, test fixtures kept out."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import types
import uuid

import pytest

from evonas.errors import ConfigError
from evonas.plugins import ENV_VAR, Plugins, find_plugins
from evonas.registry import Registry


@pytest.fixture
def make_package(tmp_path, monkeypatch):
    """Writes a package ``{relative path: source}`` under a fresh name on sys.path (``PKG`` in a source stands for
    that name); returns the name."""
    made = []

    def make(files: dict[str, str]) -> str:
        name = f"regtest_{uuid.uuid4().hex[:8]}"
        for path, source in {"__init__.py": "", **files}.items():
            target = tmp_path / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(source).replace("PKG", name))
        made.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for module in [m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in made)]:
        del sys.modules[module]


# registering modules reach their registry through the package's own module `hub`
HUB = "from evonas.registry import Registry\nwidgets = Registry('widget', ['PKG.parts'])\n"
REGISTERS = "from PKG.hub import widgets\nwidgets.register({name!r}, dict)\n"


def test_every_module_of_the_package_is_found_and_imported_on_first_use(make_package):
    name = make_package({
        "hub.py": HUB,
        "parts/__init__.py": "",
        "parts/plain.py": REGISTERS.format(name="plain"),
        "parts/deeper/__init__.py": "",
        "parts/deeper/nested.py": REGISTERS.format(name="nested"),
        "parts/_private.py": REGISTERS.format(name="private"),
        "parts/optional.py": "import evonas_no_such_dependency\n" + REGISTERS.format(name="optional"),
    })
    hub = __import__(f"{name}.hub", fromlist=["widgets"])
    assert not any(m.startswith(f"{name}.parts.") for m in sys.modules)  # nothing imported before first use
    assert hub.widgets.names() == ["nested", "plain"]  # sub-packages walked, _private left out
    assert hub.widgets.unavailable == {f"{name}.parts.optional": "needs 'evonas_no_such_dependency'"}
    with pytest.raises(ConfigError, match=rf"unknown widget 'optional'; valid: nested, plain; not loaded: "
                                          rf"{name}\.parts\.optional needs 'evonas_no_such_dependency'"):
        hub.widgets.get("optional")


def test_a_broken_built_in_module_is_not_hidden(make_package):
    name = make_package({"parts/__init__.py": "", "parts/bad.py": "import evonas.no_such_module\n"})
    with pytest.raises(ModuleNotFoundError, match="evonas.no_such_module"):
        Registry("widget", [f"{name}.parts"]).names()


def _pair(plugins):
    return Registry("widget", plugins=plugins), Registry("gadget", plugins=plugins)


PLUGGED_HUB = """
from evonas.plugins import Plugins
from evonas.registry import Registry
FOUND = []
plugins = Plugins(find=lambda: FOUND)
widgets = Registry("widget", plugins=plugins)
gadgets = Registry("gadget", ["PKG.parts"], plugins=plugins)
"""


def test_plugins_load_once_after_the_built_ins_of_every_registry(make_package, caplog):
    name = make_package({"hub.py": PLUGGED_HUB, "parts/__init__.py": "",
                         "parts/builtin.py": "from PKG.hub import gadgets\ngadgets.register('builtin', list)\n"})
    hub = __import__(f"{name}.hub", fromlist=["gadgets"])
    calls = []

    def first():
        calls.append(sorted(hub.gadgets._factories))  # what the other registry holds when the plugin runs
        hub.widgets.register("w", dict)
        hub.gadgets.register("g", set)

    hub.FOUND += [("first", lambda: first), ("module-form", lambda: types.ModuleType("m"))]  # a module: not called
    assert hub.widgets.names() == ["w"]  # the first use of any registry
    assert calls == [["builtin"]] and not hub.plugins.failures and not caplog.records
    assert hub.gadgets.names() == ["builtin", "g"]
    assert len(calls) == 1  # once per process


def test_a_failing_plugin_is_one_warning_line_and_the_others_still_load(caplog):
    def broken():
        raise RuntimeError("cannot reach\nits server")

    plugins = Plugins(find=lambda: [("broken", lambda: broken), ("fine", lambda: lambda: widgets.register("w", dict))])
    widgets, _ = _pair(plugins)
    with caplog.at_level(logging.WARNING, logger="evonas.plugins"):
        assert widgets.names() == ["w"]
    assert [r.getMessage() for r in caplog.records] == \
        ["evonas plugin 'broken' was not loaded (RuntimeError: cannot reach its server)"]
    with pytest.raises(ConfigError, match=r"unknown widget 'x'; valid: w; not loaded: plugin 'broken' "
                                          r"\(RuntimeError: cannot reach its server\)$"):
        widgets.get("x")


def test_a_plugin_cannot_take_over_a_built_in_name(caplog):
    def greedy():
        gadgets.register("mine", dict)
        gadgets.register("builtin", dict)

    plugins = Plugins(find=lambda: [("greedy", lambda: greedy)])
    widgets, gadgets = _pair(plugins)
    gadgets.register("builtin", list)
    widgets.names()  # the first use of any registry loads the plugins
    assert gadgets.get("builtin") is list and gadgets.get("mine") is dict
    assert plugins.failures == {"greedy": "ConfigError: gadget 'builtin' is already registered, by builtins"}
    with pytest.raises(ValueError, match="already registered"):  # outside a plugin: a programming error
        gadgets.register("builtin", tuple)


def test_the_environment_names_more_plugins(monkeypatch):
    monkeypatch.setenv(ENV_VAR, " json , os.path:join,")
    found = find_plugins()
    assert [name for name, _ in found][-2:] == ["json", "os.path:join"]
    assert found[-2][1]() is sys.modules["json"] and found[-1][1]() is os.path.join


FRESH = textwrap.dedent(
    """
    import sys
    import evonas
    assert "torch" not in sys.modules, "import evonas imported torch"
    from evonas.registry import evaluators, strategies
    assert not [m for m in sys.modules if m.startswith("evonas.strategies.")], "a registry loaded at import"
    assert "evonas.strategies.evolution" not in sys.modules
    strategies.names()
    assert "evonas.strategies.evolution" in sys.modules
    import evonas.testing
    print("fixtures:", [n for n in evaluators.names() if n in ("zdt", "hamming", "crash-once")])
    from evonas.cli import main
    sys.exit(main(["search", "--space", "darts", "--evaluator", "crash-once", "--strategy", "nsga2",
                   "--budget", "2", "--run-dir", sys.argv[1], "--quiet"]))
    """
)


def test_test_fixtures_are_no_components_outside_the_test_suite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}  # the suite registers them through it
    proc = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "run")], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "fixtures: []" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evonas: error: unknown evaluator 'crash-once'"), proc.stderr
    assert not (tmp_path / "run").exists()
