"""How well does a cheap scorer rank architectures? Kendall tau, Spearman and precision at the top.

A supernet (or any evaluator) is worth using as fitness when it orders
architectures as their trained accuracies do. :func:`ranking_statistics`
compares predicted scores with the truth; :func:`rank_architectures` scores
``k`` architectures sampled from a space with a table of true accuracies
(NAS-Bench-201) and reports the statistics beside those of the trivial
"more parameters is better" predictor, which any scorer must beat to be
worth its cost (on NAS-Bench-201 it reaches a Kendall tau near 0.6).
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evonas.errors import ConfigError

log = logging.getLogger(__name__)


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
                       params_of=None, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Score ``k`` distinct random architectures of ``space`` with ``evaluator`` and compare with the truth.

    Args:
        truth_of: ``arch -> true accuracy`` (e.g. a table lookup).
        score: the evaluator's value to rank by (``accuracy``: higher is better; ``val_loss`` / any name
            ending in ``loss``: lower is better).
        params_of: ``arch -> parameter count``, for the baseline predictor (None: ``space.build(arch)``).
        out_dir: where to write ``ranking.csv`` (every architecture: its key, score, truth, parameters),
            ``ranking.json`` and ``ranking.png`` (scatter of score against truth).

    Returns the statistics of the scorer and of the parameter-count baseline.
    """
    from evonas.operators.base import unique_offspring

    rng = np.random.default_rng(seed)
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
