"""How well does a cheap scorer rank architectures? Kendall tau, Spearman and precision at the top.

A supernet (or any evaluator) is worth using as fitness when it orders
architectures as their trained accuracies do. :func:`ranking_statistics`
compares predicted scores with the truth; :func:`rank_architectures` scores
``k`` architectures sampled from a space with a table of true accuracies
(NAS-Bench-201) and reports the statistics beside those of the trivial
"more parameters is better" predictor, which any scorer must beat to be
worth its cost (on NAS-Bench-201 it reaches a Kendall tau near 0.6).
:func:`rank_nb201_cells` is the experiment ``evonas rank`` runs: a zero-cost
score or a trained supernet against the NAS-Bench-201 table.
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evonas.errors import ConfigError, GenotypeError

__all__ = ["PROXY_SCORERS", "SCORERS", "rank_architectures", "rank_nb201_cells", "ranking_statistics"]

log = logging.getLogger(__name__)

#: zero-cost proxies :func:`rank_nb201_cells` scores with the ``zero-cost`` evaluator (naswot and synflow have
#: evaluators of their own; the list is :data:`evonas.evaluators.zero_cost.proxies.PROXIES`, kept here so that
#: the command's help does not import torch)
PROXY_SCORERS = ("jacov", "grad_norm", "snip", "grasp", "fisher", "zen", "params", "flops")
#: the scorers :func:`rank_nb201_cells` compares with the table
SCORERS = ("naswot", "synflow", "supernet", *PROXY_SCORERS, "zc-ensemble", "few-shot-supernet")


def ranking_statistics(scores: Sequence[float], truth: Sequence[float], *, top: float = 0.1) -> dict[str, float]:
    """Kendall tau (tau-b), Spearman rho and precision at the top ``top`` share of ``scores`` against
    ``truth`` (both: higher is better). Precision: the share of the truly best ``top`` fraction that the scores
    also put there (at least one architecture)."""
    from scipy.stats import kendalltau, spearmanr

    scores, truth = np.asarray(scores, dtype=float), np.asarray(truth, dtype=float)
    if scores.shape != truth.shape or scores.ndim != 1 or len(scores) < 3:
        raise ConfigError(f"need two equally long lists of at least 3 values, got {scores.shape} and {truth.shape}")
    k = max(1, int(round(top * len(scores))))
    predicted, actual = set(np.argsort(-scores, kind="stable")[:k]), set(np.argsort(-truth, kind="stable")[:k])
    return {"kendall_tau": float(kendalltau(scores, truth).statistic),
            "spearman": float(spearmanr(scores, truth).statistic),
            f"precision_top_{round(100 * top)}": len(predicted & actual) / k, "n": int(len(scores))}


def rank_architectures(space, evaluator, truth_of, *, k: int = 50, seed: int = 0, score: str = "accuracy",
                       params_of=None, out_dir: str | Path | None = None, candidates: list | None = None
                       ) -> dict[str, Any]:
    """Score ``k`` distinct random architectures of ``space`` with ``evaluator`` and compare with the truth.

    Args:
        truth_of: ``arch -> true accuracy`` (e.g. a table lookup).
        candidates: draw the ``k`` architectures from these (e.g. the rows of a table) instead of the whole
            space.
        score: the evaluator's value to rank by (``accuracy``: higher is better; ``val_loss`` / any name
            ending in ``loss``: lower is better).
        params_of: ``arch -> parameter count``, for the baseline predictor (None: ``space.build(arch)``).
        out_dir: where to write ``ranking.csv`` (every architecture: its key, score, truth, parameters),
            ``ranking.json`` and ``ranking.png`` (scatter of score against truth).

    Returns the statistics of the scorer and of the parameter-count baseline.
    """
    from evonas.operators.base import unique_offspring

    rng = np.random.default_rng(seed)
    if candidates is not None:
        if not 3 <= k <= len(candidates):
            raise ConfigError(f"k must be from 3 to the {len(candidates)} candidates, got {k}")
        archs = [candidates[i] for i in sorted(rng.choice(len(candidates), size=k, replace=False))]
    else:
        sample = lambda *_: space.sample(rng)  # noqa: E731
        archs = unique_offspring(sample, k, key=space.key, retry=sample, max_tries=100)
    if params_of is None:
        from evonas.counting import count_params

        params_of = lambda arch: count_params(space.build(arch))  # noqa: E731
    evaluator.setup(space)
    results = evaluator.evaluate(archs)
    sign = -1.0 if score.endswith("loss") else 1.0
    scores = np.asarray([sign * r[score] for r in results])
    truth = np.asarray([truth_of(a) for a in archs], dtype=float)
    params = np.asarray([params_of(a) for a in archs], dtype=float)
    report = {"score": score, "k": k, "seed": seed, "scorer": ranking_statistics(scores, truth),
              "params_baseline": ranking_statistics(params, truth)}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "ranking.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["arch", score, "truth", "params"])
            for arch, result, true, count in zip(archs, results, truth, params):
                writer.writerow([space.key(arch), result[score], true, int(count)])
        (out / "ranking.json").write_text(json.dumps(report, indent=1))
        _scatter(out / "ranking.png", scores * sign, truth, score, report)
    return report


def rank_nb201_cells(*, archs: int = 50, scorer: str = "naswot", score: str = "accuracy",
                     truth: str = "cifar10_test", table: str | Path | None = None,
                     evaluator_options: dict[str, Any] | None = None, seed: int = 0,
                     out_dir: str | Path | None = "runs/rank", progress: bool = True) -> dict[str, Any]:
    """How well a scorer ranks ``archs`` random NAS-Bench-201 cells against a column of the table.

    Args:
        scorer: ``naswot`` (zero-cost, on a C=8, N=1 network unless ``net_kwargs`` is given: it ranks as the
            full network does, 20x faster), ``synflow`` (zero-cost), another zero-cost proxy of
            :data:`PROXY_SCORERS` or ``zc-ensemble`` (their mean rank; both on C=8, N=1 networks unless
            ``net_kwargs`` is given), ``supernet`` (a trained weight-sharing supernet, C=16, N=2 unless
            ``supernet_kwargs`` is given) or ``few-shot-supernet`` (few-shot supernets, the same defaults).
        score: the supernet's value to rank by, ``accuracy`` or ``loss`` (ignored by the zero-cost scorers).
        truth: the table column to rank against (e.g. ``cifar10_test``, accuracy in %).
        table: another NAS-Bench-201 table file (None: the one shipped).
        evaluator_options: options of the scorer's evaluator.
        out_dir: where ``ranking.csv`` / ``.json`` / ``.png`` go (None: nowhere).

    Returns :func:`rank_architectures`' report plus ``label``, the scorer as a reader names it
    (``"naswot"``, ``"supernet accuracy"``). An unknown ``scorer``, ``score`` or ``truth`` is a
    :class:`ConfigError` naming the valid ones.
    """
    from evonas.evaluators.tabular import load_nb201_table
    from evonas.registry import evaluators, spaces

    if scorer not in SCORERS:
        raise ConfigError(f"unknown scorer {scorer!r}; valid: {', '.join(SCORERS)}")
    if score not in ("accuracy", "loss"):
        raise ConfigError(f"unknown score {score!r} of the supernet; valid: accuracy, loss")
    space, rows = spaces.create("nb201"), load_nb201_table(table)  # the space the table is keyed by
    columns = next(iter(rows.values()))
    if truth not in columns:
        raise ConfigError(f"unknown truth column {truth!r}; valid: {', '.join(c for c in columns if c != 'index')}")
    if not isinstance(archs, int) or not 3 <= archs <= len(rows):
        raise ConfigError(f"archs must be a number of cells from 3 to the table's {len(rows)}, got {archs!r}")
    cells = []
    for cell in rows:  # the cells are drawn from the table's rows: a partial table ranks its own cells
        try:
            cells.append(space.validate(cell))
        except GenotypeError as exc:
            raise ConfigError(f"{table or 'the NAS-Bench-201 table'}: {cell!r} is not a NAS-Bench-201 cell "
                              f"({exc})") from None
    options = dict(evaluator_options or {})
    if scorer == "naswot":
        options.setdefault("net_kwargs", {"C": 8, "N": 1})  # ranks as the full network does, 20x faster
        evaluator, value, label = evaluators.create("naswot", **options), "naswot", "naswot"
    elif scorer == "synflow":
        evaluator, value, label = evaluators.create("synflow", **options), "synflow", "synflow"
    elif scorer in PROXY_SCORERS:
        options.setdefault("net_kwargs", {"C": 8, "N": 1})
        options["proxies"] = [scorer]
        evaluator, value, label = evaluators.create("zero-cost", **options), scorer, scorer
    elif scorer == "zc-ensemble":
        options.setdefault("net_kwargs", {"C": 8, "N": 1})
        evaluator, value, label = evaluators.create("zc-ensemble", **options), "zc_ensemble", "zc-ensemble"
    else:
        options = {"progress": progress, **options}
        options.setdefault("supernet_kwargs", {"C": 16, "N": 2})
        options["metric"] = score
        evaluator = evaluators.create(scorer, **options)  # supernet or few-shot-supernet
        value = "accuracy" if score == "accuracy" else "val_loss"
        label = f"{scorer} {score}"
    report = rank_architectures(space, evaluator, lambda arch: rows[space.key(arch)][truth], k=archs, seed=seed,
                                score=value, params_of=lambda arch: space.analytic_cost(arch)["params"],
                                out_dir=out_dir, candidates=cells)
    return {**report, "label": label}


def _scatter(path: Path, scores: np.ndarray, truth: np.ndarray, score: str, report: dict) -> None:
    from matplotlib.figure import Figure

    from evonas.viz.pareto import save_figure

    fig = Figure(figsize=(5.2, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.scatter(scores, truth, s=16, alpha=0.7)
    ax.set(xlabel=f"supernet {score}", ylabel="true accuracy (%)",
           title=f"Kendall tau {report['scorer']['kendall_tau']:+.2f} (#params: "
                 f"{report['params_baseline']['kendall_tau']:+.2f}), n={report['k']}")
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)
