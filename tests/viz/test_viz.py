"""evonas.viz: every plot writes a real PNG; the front / best-so-far helpers are right."""
import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.evaluators.base import Objective
from evonas.spaces.darts import Genotype, get_genotype
from evonas.spaces.darts.drawing import plot_cell, plot_genotype
from evonas.viz import (
    attainment_steps,
    best_so_far,
    non_dominated_mask,
    plot_pareto,
    plot_progress,
    plot_training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ACC, PARAMS, LATENCY = Objective("accuracy", "max"), Objective("params", "min"), Objective("latency", "min")


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1024


def population(n=40, m=2, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.uniform(1e6, 5e6, n)
    accuracy = 90 + 5 * np.log(params / 1e6) / np.log(5) + rng.normal(0, 1, n)
    columns = [accuracy, params, rng.uniform(5, 50, n)][:m]
    return np.column_stack(columns), np.repeat(np.arange(n // 8), 8)[:n]


def test_non_dominated_mask_mixed_directions():
    points = np.array([
        [95.0, 3.0e6],  # front: best accuracy
        [93.0, 1.0e6],  # front: fewest params
        [94.0, 2.0e6],  # front: trade-off
        [93.5, 2.5e6],  # dominated by [94, 2e6]
        [92.0, 1.0e6],  # dominated by [93, 1e6] (same params, lower accuracy)
        [95.0, 3.0e6],  # duplicate of a front point: kept
        [np.nan, 0.5e6],  # NaN: never on the front
    ])
    mask = non_dominated_mask(points, [ACC, PARAMS])
    assert mask.tolist() == [True, True, True, False, False, True, False]
    # both minimised: (low accuracy, low params) wins instead
    assert non_dominated_mask(points, [Objective("accuracy"), PARAMS]).tolist() == [
        False, False, False, False, True, False, False]
    assert non_dominated_mask(np.zeros((0, 2)), [ACC, PARAMS]).shape == (0,)
    with pytest.raises(ConfigError):
        non_dominated_mask(points, [ACC, PARAMS, LATENCY])


def test_attainment_steps_follow_directions():
    front = np.array([[94.0, 2.0], [95.0, 3.0], [93.0, 1.0]])  # accuracy max, params min
    steps = attainment_steps(front, [ACC, PARAMS])
    # best accuracy first; corners keep the previous params until the next accuracy
    assert steps.tolist() == [[95, 3], [94, 3], [94, 2], [93, 2], [93, 1]]


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("with_generations", [False, True])
def test_plot_pareto_writes_png(tmp_path, m, with_generations):
    points, gens = population(m=m)
    objectives = [ACC, PARAMS, LATENCY][:m]
    out = plot_pareto(points, objectives, tmp_path / "sub" / "pareto.png",
                      generations=gens if with_generations else None, title="test front")
    assert out == tmp_path / "sub" / "pareto.png"
    assert_png(out)


def test_plot_pareto_given_mask_and_bad_shapes(tmp_path):
    points, gens = population()
    mask = np.zeros(len(points), bool)
    mask[:3] = True
    assert_png(plot_pareto(points, [ACC, PARAMS], tmp_path / "p.png", front_mask=mask))
    with pytest.raises(ConfigError):
        plot_pareto(points, [ACC, PARAMS], tmp_path / "q.png", generations=gens[:5])
    with pytest.raises(ConfigError):
        plot_pareto(points[:, :1], [ACC], tmp_path / "q.png")


def progress_rows(m=2):
    points, gens = population(m=m)
    names = [o.name for o in [ACC, PARAMS, LATENCY][:m]]
    return [{"generation": int(g), **dict(zip(names, row))} for g, row in zip(gens, points)]


def test_best_so_far_respects_direction():
    rows = [{"generation": 0, "accuracy": 90, "params": 5}, {"generation": 0, "accuracy": 92, "params": 7},
            {"generation": 1, "accuracy": 91, "params": 3}, {"generation": 2, "accuracy": 95, "params": ""}]
    gens, best = best_so_far(rows, ACC)
    assert gens.tolist() == [0, 1, 2] and best.tolist() == [92, 92, 95]
    gens, best = best_so_far(rows, PARAMS)  # the empty cell of generation 2 is skipped
    assert gens.tolist() == [0, 1] and best.tolist() == [5, 3]


@pytest.mark.parametrize("text", [False, True])
def test_best_so_far_takes_rows_in_any_order_and_skips_what_is_not_a_finite_number(text):
    rows = [{"generation": 2, "accuracy": 95}, {"generation": 0, "accuracy": 90}, {"generation": 1, "accuracy": 93},
            {"generation": 0, "accuracy": 91}, {"generation": 1, "accuracy": 92}, {"generation": 0,
                                                                                    "accuracy": float("inf")}]
    if text:  # as csv.DictReader gives them, with cells that are not numbers
        rows = [{k: str(v) for k, v in row.items()} for row in rows]
        rows += [{"generation": "1", "accuracy": "n/a"}, {"generation": "3", "accuracy": None}, {"accuracy": "99"}]
    gens, best = best_so_far(rows, ACC)
    assert gens.tolist() == [0, 1, 2] and best.tolist() == [91, 93, 95]


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("with_hv", [False, True])
def test_plot_progress_writes_png(tmp_path, m, with_hv):
    rows = progress_rows(m)
    hv = [(g, 0.1 * g + 0.3) for g in range(5)] if with_hv else None
    assert_png(plot_progress(rows, [ACC, PARAMS, LATENCY][:m], tmp_path / "progress.png", hypervolume=hv))
    with pytest.raises(ConfigError, match="energy"):
        plot_progress(rows, [Objective("energy")], tmp_path / "bad.png")


def test_plot_training_curves_accepts_csv_strings(tmp_path):
    rows = [{"epoch": str(e), "lr": str(0.025 * (1 - e / 10)), "train_loss": str(2.3 / e),
             "test_loss": str(2.4 / e), "train_top1": str(10 + 8 * e), "test_top1": str(9 + 7 * e),
             "seconds": "1.5"} for e in range(1, 11)]
    assert_png(plot_training_curves(rows, tmp_path / "curves.png"))


def test_plot_cell_and_genotype(tmp_path):
    genotype = get_genotype("DARTS_V2")
    for kind in ("normal", "reduce"):
        assert_png(plot_cell(genotype, kind, tmp_path / f"{kind}.png"))
    assert_png(plot_genotype("PC_DARTS", tmp_path / "genotype.png"))
    with pytest.raises(ValueError):
        plot_cell(genotype, "middle", tmp_path / "bad.png")


def test_plot_cell_duplicate_inputs(tmp_path):
    cell = [("sep_conv_3x3", 0), ("max_pool_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2),
            ("sep_conv_5x5", 3), ("avg_pool_3x3", 3), ("sep_conv_3x3", 4), ("skip_connect", 0)]
    genotype = Genotype.from_cell(cell, concat=range(2, 6), allow_duplicate_inputs=True)
    assert_png(plot_genotype(genotype, tmp_path / "dup.png", title="duplicate inputs"))
