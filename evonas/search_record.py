"""``search.json``: how to build a search's components again, by registry name and options.

:func:`evonas.search` writes it into every run directory it starts (from the
command line or from Python alike), in the format of
:class:`~evonas.search_config.SearchConfig`: ``evonas search --resume RUN``
builds the space, strategy and evaluator from it, ``evonas export RUN``
reads the space and the cost evaluator's network options. A component the
registry made is recorded by the name and options it was made with; one
built in code by its class's registry name and the settings that differ
from the defaults (:func:`evonas.params.registry_options`). A composite
evaluator is recorded as the list of its members' names (options in one
table per member), :class:`~evonas.evaluators.base.SelectObjectives` as
``objectives``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from evonas.params import registry_options

__all__ = ["SEARCH_JSON", "search_record"]

SEARCH_JSON = "search.json"


def search_record(space, strategy, evaluator, *, constraints: Sequence[Any], budget: int, seed: int,
                  run_dir: str | Path | None) -> dict[str, Any]:
    """The ``search.json`` of a search (JSON-able; the keys of ``SearchConfig``)."""
    import evonas.registry as registry
    from evonas.evaluators.base import CompositeEvaluator, SelectObjectives

    objectives: list[str] = []
    if isinstance(evaluator, SelectObjectives):
        objectives = [f"{o.name}:{o.direction}" for o in evaluator.objectives]
        evaluator = evaluator.inner
    if isinstance(evaluator, CompositeEvaluator) and getattr(evaluator, "_registry_spec", None) is None:
        members = [registry_options(member, registry.evaluators) for member in evaluator.evaluators]
        evaluator_name: str | list[str] = [name for name, _ in members]
        evaluator_options: dict[str, Any] = {name: options for name, options in members if options}
    else:
        evaluator_name, evaluator_options = registry_options(evaluator, registry.evaluators)
    space_name, space_options = registry_options(space, registry.spaces)
    strategy_name, strategy_options = registry_options(strategy, registry.strategies)
    return {"space": space_name, "strategy": strategy_name, "evaluator": evaluator_name,
            "objectives": objectives, "constraints": [str(c) for c in constraints], "budget": int(budget),
            "seed": int(seed), "run_dir": None if run_dir is None else str(run_dir),
            "space_options": space_options, "strategy_options": strategy_options,
            "evaluator_options": evaluator_options}
