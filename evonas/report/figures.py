"""Plotly figures (plain JSON: ``{"data": [...], "layout": {...}}``) of one or several runs.

* :func:`front_figure`: every evaluated architecture of a run on its first
  two objectives (one objective: against the generation), the front drawn
  on top; each point's ``customdata`` is ``[run, row]`` (its row of
  ``history.csv``), which the page uses to show the architecture on click;
* :func:`progress_figure`: best value per objective, hypervolume and
  evaluations per second against the generation;
* :func:`overlay_figure` / :func:`comparison_rows`: several runs' fronts on
  one plot and a table of their hypervolume (on common bounds) and best values;
* :func:`panel_figures`: a strategy's own panels (:mod:`evonas.report.panels`).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from evonas.core import hypervolume, non_dominated_mask, to_minimization
from evonas.report.run import RunData

#: above this many points a front is drawn with WebGL (``scattergl``) instead of SVG
WEBGL_ABOVE = 5000
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _clean(values) -> list:
    """Numbers for JSON: NaN / inf become None (a gap)."""
    return [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]


def _axis_title(objective) -> str:
    return f"{objective.name} ({objective.direction})"


def _hover(run: RunData, rows: Sequence[int]) -> list[str]:
    names = [o.name for o in run.objectives]
    individuals = run.result.individuals
    return [f"#{individuals[i].index} gen {individuals[i].generation}<br>"
            + "<br>".join(f"{n} = {individuals[i].values.get(n, math.nan):.6g}" for n in names)
            + f"<br>{individuals[i].key[:90]}" for i in rows]


def front_rows(run: RunData) -> list[int]:
    """Rows (``history.csv`` order) of the run's non-dominated feasible architectures, best first."""
    by_index = {id(ind): i for i, ind in enumerate(run.result.individuals)}
    return [by_index[id(ind)] for ind in run.result.front]


def front_figure(run: RunData, run_index: int) -> dict[str, Any]:
    """Every evaluated architecture of ``run`` (see the module docstring); points = rows of ``history.csv``."""
    individuals, objectives = run.result.individuals, run.objectives
    front = set(front_rows(run))
    kind = "scattergl" if len(individuals) > WEBGL_ABOVE else "scatter"
    if len(objectives) >= 2:
        x_of = lambda i: individuals[i].values[objectives[1].name]  # noqa: E731
        y_of = lambda i: individuals[i].values[objectives[0].name]  # noqa: E731
        x_title, y_title = _axis_title(objectives[1]), _axis_title(objectives[0])
    else:
        x_of = lambda i: individuals[i].generation  # noqa: E731
        y_of = lambda i: individuals[i].values[objectives[0].name]  # noqa: E731
        x_title, y_title = "generation", _axis_title(objectives[0])
    groups = {"evaluated": [i for i, ind in enumerate(individuals) if ind.feasible and i not in front],
              "infeasible": [i for i, ind in enumerate(individuals) if not ind.feasible],
              "Pareto front": sorted(front, key=x_of) if len(objectives) >= 2 else sorted(front)}
    data = []
    for label, rows in groups.items():
        if not rows and label != "evaluated":
            continue
        trace = {"type": kind, "name": f"{label} ({len(rows)})", "x": _clean(x_of(i) for i in rows),
                 "y": _clean(y_of(i) for i in rows), "customdata": [[run_index, i] for i in rows],
                 "text": _hover(run, rows), "hovertemplate": "%{text}<extra></extra>", "mode": "markers"}
        if label == "evaluated":
            trace["marker"] = {"size": 7, "opacity": 0.75, "color": [individuals[i].generation for i in rows],
                               "colorscale": "Viridis", "showscale": True,
                               "colorbar": {"title": {"text": "generation"}, "thickness": 12}}
        elif label == "infeasible":
            trace["marker"] = {"size": 7, "color": "#999999", "symbol": "x"}
        else:
            trace["marker"] = {"size": 11, "color": "#d62728", "line": {"width": 1, "color": "black"}}
            if len(objectives) >= 2:
                trace["mode"], trace["line"] = "lines+markers", {"shape": "hv", "width": 1.5}
        data.append(trace)
    layout = {"title": {"text": f"{run.name}: {len(individuals)} evaluated architectures"},
              "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
              "hovermode": "closest", "legend": {"orientation": "h", "y": -0.18}, "margin": {"t": 50, "r": 20},
              "height": 480}
    return {"data": data, "layout": layout}


def _grid(n: int, cols: int = 3) -> tuple[dict, list[tuple[str, str]]]:
    """Layout axes for ``n`` small plots, ``cols`` to a row; returns the layout part and each plot's axis names."""
    rows = max(1, -(-n // cols))
    layout, names = {}, []
    gap_x, gap_y = 0.08, 0.16 if rows > 1 else 0.0
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    for k in range(n):
        r, c = divmod(k, cols)
        suffix = "" if k == 0 else str(k + 1)
        x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
        layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + width], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [max(y1 - height, 0), y1], "anchor": f"x{suffix}"}
        names.append((f"x{suffix}", f"y{suffix}"))
    layout["height"] = 260 * rows + 60
    return layout, names


def small_multiples(title: str, series: list[tuple[str, list, list, str]], *, text: list | None = None) -> dict:
    """One small plot per ``(title, x, y, x title)``, three to a row."""
    layout, axes = _grid(len(series))
    data, annotations = [], []
    for k, ((name, x, y, x_title), (xa, ya)) in enumerate(zip(series, axes)):
        trace = {"type": "scatter", "mode": "lines+markers", "name": name, "x": _clean(x), "y": _clean(y),
                 "xaxis": xa, "yaxis": ya, "showlegend": False, "marker": {"size": 5, "color": COLORS[k % 8]}}
        if text is not None:
            trace["text"], trace["hovertemplate"] = text, f"{name} = %{{y:.6g}}<br>%{{text}}<extra></extra>"
        data.append(trace)
        suffix = "" if k == 0 else str(k + 1)
        layout[f"xaxis{suffix}"]["title"] = {"text": x_title}
        domain_x, domain_y = layout[f"xaxis{suffix}"]["domain"], layout[f"yaxis{suffix}"]["domain"]
        annotations.append({"text": f"<b>{name}</b>", "xref": "paper", "yref": "paper", "showarrow": False,
                            "x": (domain_x[0] + domain_x[1]) / 2, "y": domain_y[1], "yanchor": "bottom"})
    layout.update({"title": {"text": title}, "annotations": annotations, "margin": {"t": 70, "r": 20}})
    return {"data": data, "layout": layout}


def progress_figure(run: RunData) -> dict:
    """Best value so far per objective, hypervolume (final bounds) and evaluations per second per generation."""
    series = []
    for o in run.objectives:
        series.append((f"best {o.name} ({o.direction})", [r["generation"] for r in run.best],
                       [r.get(o.name) for r in run.best], "generation"))
    if run.hypervolume:
        series.append(("hypervolume", [g for g, _ in run.hypervolume], [v for _, v in run.hypervolume],
                       "generation"))
    if run.timing:
        series.append(("evaluations / s", [t["generation"] for t in run.timing],
                       [t["per_second"] for t in run.timing], "generation"))
    return small_multiples(f"{run.name}: progress", series)


def panel_figures(panel: dict) -> dict | None:
    """The Plotly figure of a strategy panel (None for a text panel)."""
    if panel["kind"] == "curves":
        return small_multiples(panel["title"], [(name, panel["x"], values, panel["x_title"])
                                                for name, values in panel["curves"].items()], text=panel["labels"])
    if panel["kind"] == "matrices":
        layout, axes = _grid(len(panel["matrices"]), cols=2)
        data = []
        for k, (matrix, (xa, ya)) in enumerate(zip(panel["matrices"], axes)):
            data.append({"type": "heatmap", "z": matrix["z"], "x": matrix["x"], "y": matrix["y"], "xaxis": xa,
                         "yaxis": ya, "colorscale": "RdBu", "showscale": k == 0, "name": matrix["name"],
                         "hovertemplate": f"{matrix['name']}<br>%{{y}} / %{{x}}: %{{z:.4g}}<extra></extra>"})
        layout.update({"title": {"text": f"{panel['title']}: " + ", ".join(m["name"] for m in panel["matrices"])},
                       "height": max(layout["height"], 360)})
        return {"data": data, "layout": layout}
    if panel["kind"] == "ranking":
        stats = panel["stats"].get("scorer", {}) if isinstance(panel["stats"], dict) else {}
        tau = stats.get("kendall_tau")
        title = f"ranking: {panel['score']} against the truth" + (f" (Kendall tau {tau:+.3f})" if tau else "")
        return {"data": [{"type": "scatter", "mode": "markers", "x": _clean(panel["x"]), "y": _clean(panel["y"]),
                          "text": panel["keys"], "hovertemplate": "%{text}<br>truth %{x:.4g}, score %{y:.4g}"
                                                                  "<extra></extra>",
                          "marker": {"size": 7, "color": _clean(panel["params"]), "colorscale": "Viridis",
                                     "showscale": True, "colorbar": {"title": {"text": "params"}}}}],
                "layout": {"title": {"text": title}, "xaxis": {"title": {"text": "true accuracy"}},
                           "yaxis": {"title": {"text": panel["score"]}}, "height": 460}}
    return None


def _common(runs: Sequence[RunData]) -> bool:
    first = [(o.name, o.direction) for o in runs[0].objectives]
    return all([(o.name, o.direction) for o in run.objectives] == first for run in runs)


def overlay_figure(runs: Sequence[RunData]) -> dict | None:
    """Every run's points (faint) and front (a line) on one plot; None unless the runs share 2+ objectives."""
    if len(runs) < 2 or not _common(runs) or len(runs[0].objectives) < 2:
        return None
    objectives = runs[0].objectives
    data = []
    for k, run in enumerate(runs):
        color = COLORS[k % len(COLORS)]
        individuals = run.result.individuals
        rows = list(range(len(individuals)))
        data.append({"type": "scatter", "mode": "markers", "name": f"{run.name} (all {len(rows)})",
                     "legendgroup": run.name, "x": _clean(individuals[i].values[objectives[1].name] for i in rows),
                     "y": _clean(individuals[i].values[objectives[0].name] for i in rows),
                     "customdata": [[k, i] for i in rows], "text": _hover(run, rows),
                     "hovertemplate": f"{run.name}<br>%{{text}}<extra></extra>",
                     "marker": {"size": 5, "opacity": 0.3, "color": color}})
        front = sorted(front_rows(run), key=lambda i: individuals[i].values[objectives[1].name])
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"{run.name} front ({len(front)})",
                     "legendgroup": run.name, "line": {"shape": "hv", "color": color, "width": 2},
                     "x": _clean(individuals[i].values[objectives[1].name] for i in front),
                     "y": _clean(individuals[i].values[objectives[0].name] for i in front),
                     "customdata": [[k, i] for i in front], "text": _hover(run, front),
                     "hovertemplate": f"{run.name}<br>%{{text}}<extra></extra>",
                     "marker": {"size": 9, "color": color, "line": {"width": 1, "color": "black"}}})
    return {"data": data, "layout": {"title": {"text": "fronts side by side"}, "hovermode": "closest",
                                     "xaxis": {"title": {"text": _axis_title(objectives[1])}},
                                     "yaxis": {"title": {"text": _axis_title(objectives[0])}}, "height": 520}}


def comparison_rows(runs: Sequence[RunData]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table: status, evaluations, front size, hypervolume (normalised by the
    ideal / nadir of all runs' feasible points together, so the runs compare) and the best value per objective."""
    objectives = runs[0].objectives if _common(runs) else ()
    header = ["run", "strategy", "status", "evaluations", "front", "hypervolume (common bounds)",
              *[f"best {_axis_title(o)}" for o in objectives], "wall time (s)"]
    bounds = None
    if len(objectives) >= 2:
        every = [run.result.values(run.result.feasible) for run in runs if run.result.feasible]
        if every:
            F = to_minimization(np.vstack(every), objectives)
            F = F[np.all(np.isfinite(F), axis=1)]
            if len(F):
                bounds = (F.min(axis=0), F.max(axis=0))
    rows = []
    for run in runs:
        hv = ""
        if bounds is not None and run.result.feasible:
            values = run.result.values(run.result.feasible)
            values = values[np.all(np.isfinite(values), axis=1)]
            if len(values):
                front = values[non_dominated_mask(values, objectives)]
                hv = f"{hypervolume(front, objectives, ideal=bounds[0], nadir=bounds[1]):.4f}"
        best = run.result.best
        rows.append([run.name, str(run.settings.get("strategy", "")), run.status, str(run.evaluations),
                     str(len(run.result.front)), hv,
                     *[f"{best[o.name].values[o.name]:.6g}" if o.name in best else "" for o in objectives],
                     "" if run.wall_time is None else f"{run.wall_time:.1f}"])
    return header, rows


__all__ = ["WEBGL_ABOVE", "comparison_rows", "front_figure", "front_rows", "overlay_figure", "panel_figures",
           "progress_figure", "small_multiples"]
