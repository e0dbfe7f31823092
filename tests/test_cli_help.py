"""``evonas --help`` and ``evonas search --help``: generated from the registries, so every registered component
is listed with its one-line description, including one registered while the tests run."""
from __future__ import annotations

import re

import pytest

from evonas import registry
from evonas.cli import COMMANDS, build_parser, main
from evonas.strategies.random_search import RandomSearch

REGISTRIES = (registry.spaces, registry.strategies, registry.evaluators, registry.operators, registry.executors)


def search_help(capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "400")  # one line per component, so a description can be matched whole
    with pytest.raises(SystemExit) as stop:
        main(["search", "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


HEADINGS = ("search spaces (--space):", "strategies (--strategy):", "evaluators (--evaluator):", "operators (",
            "executors (--executor):")


def listed(text: str) -> list[dict[str, str]]:
    """``{name: description}`` of the component lines of each section (in :data:`HEADINGS`' order)."""
    sections = []
    for heading in HEADINGS:
        start = text.index(f"\n{heading}")
        block = text[start + 1:].split("\n\n", 1)[0]
        sections.append({m.group(1): m.group(2) for m in re.finditer(r"^  (\S+) +(\S.*)$", block, re.MULTILINE)})
    return sections


def test_search_help_lists_every_registered_component_with_its_description(capsys, monkeypatch):
    sections = listed(search_help(capsys, monkeypatch))
    for reg, lines in zip(REGISTRIES, sections):
        described = reg.describe()
        assert described and lines == {name: line or "-" for name, line in described.items()}, reg.kind
    spaces, strategies = sections[0], sections[1]
    assert {"darts", "scarlet", "nb201"} <= set(spaces)
    assert {"darts", "stacnas", "dap", "pymoo", "deap"} <= set(strategies)  # none was in the hand-written help


class MadeByTheTest(RandomSearch):
    """A strategy registered by the test. Its second sentence is not shown."""


def undocumented_factory(**kwargs) -> MadeByTheTest:
    return MadeByTheTest(**kwargs)


def test_a_component_registered_at_test_time_appears_in_the_help(capsys, monkeypatch):
    registry.strategies.names()  # built-ins loaded first, so the test's entries are the only change
    monkeypatch.setitem(registry.strategies._factories, "made-by-test", MadeByTheTest)
    monkeypatch.setitem(registry.strategies._factories, "made-by-test-fn", undocumented_factory)
    lines = listed(search_help(capsys, monkeypatch))[1]
    assert lines["made-by-test"] == "A strategy registered by the test."
    assert lines["made-by-test-fn"] == "A strategy registered by the test."  # the returned class's docstring


def test_describe_takes_the_first_sentence_without_markup(monkeypatch):
    reg = registry.Registry("widget")

    @reg.register("plain")
    def plain():
        """Scores ``arch`` with :class:`~evonas.X`, e.g. by hand.
        Second sentence on the next line.

        A second paragraph."""

    @reg.register("bare")
    def bare():
        pass

    assert reg.describe() == {"bare": "", "plain": "Scores arch with evonas.X, e.g. by hand."}


def test_every_command_module_parses_and_runs_its_subcommand():
    parser = build_parser()
    names = {"data": ["data", "info", "x"], "train": ["train"], "evaluate": ["evaluate", "--checkpoint", "c"],
             "train_supernet": ["train-supernet", "--checkpoint", "c"], "search": ["search"],
             "export": ["export", "r"], "score": ["score", "g", "--nb301", "d"],
             "surrogate": ["surrogate", "fit", "h", "-o", "m", "--objective", "acc"], "rank": ["rank"],
             "op_clusters": ["op-clusters"], "report": ["report", "r"]}
    assert sorted(names) == sorted(module.__name__.rsplit(".", 1)[1] for module in COMMANDS)
    for module in COMMANDS:
        args = parser.parse_args(names[module.__name__.rsplit(".", 1)[1]])
        assert args.handler is module.run


def test_top_level_help_names_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("data", "train", "evaluate", "train-supernet", "search", "report", "export", "score", "surrogate",
                    "rank", "op-clusters"):
        assert re.search(rf"^    {command}\b", out, re.MULTILINE), command
