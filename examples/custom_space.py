"""A search space of your own, in one file: chains of MobileNet-style blocks, searched with evonas.

Nothing here is part of evonas, and evonas knows nothing of it: the space
is a :class:`~evonas.spaces.base.SearchSpace` subclass with its own
networks, and everything evonas offers works on it because the space
*declares* what it can do (see ``docs/extending.md``):

* the contract (``validate``, ``_sample``, ``_mutate``, ``_crossover``,
  ``_encode`` / ``_decode``, ``_build``, ``_key``): random search,
  regularized evolution, NSGA-II (pymoo), the DEAP engine, the cost
  evaluator, export to ONNX, and :func:`evonas.testing.check_space`;
* ``build_supernet`` (:class:`~evonas.spaces.base.HasSupernet`): the
  supernet evaluator (single-path weight sharing, SPOS);
* ``bounds`` (:class:`~evonas.spaces.base.HasBounds`): the vector
  operators ``pm`` / ``sbx`` and pymoo's box;
* ``draw`` (:class:`~evonas.spaces.base.HasDrawing`): pictures of
  architectures (the export writes one beside each model, RelativeNAS one
  of its chosen architecture);
* the supernet's ``candidate_modules`` / ``path_modules``: RelativeNAS'
  block-by-block weight merge.

An architecture is a chain of ``len(widths)`` stages; each stage holds 1 to
``max_depth`` inverted-residual blocks (MobileNetV2, Sandler et al. 2018),
each with its own depthwise kernel size and expansion ratio, e.g.
``(((3, 4), (5, 6)), ((3, 3),), ((7, 4), (5, 3), (3, 6)))``: stage 1 has a
3x3 block expanding 4x and a 5x5 block expanding 6x, and so on. Its key is
``k3e4-k5e6|k3e3|k7e4-k5e3-k3e6``.

One run of the script registers the space, runs the contract suite, trains a
small supernet once on the embedded ``cifar10-mini`` images, searches with
random search, NSGA-II (pymoo) and DEAP's NSGA-II on supernet accuracy and
FLOPs, and with regularized evolution and RelativeNAS (which trains the
supernet as it goes) on accuracy alone, exports the evolution run's best
architecture to ONNX (checked in onnxruntime) and writes everything under
``--run-dir``:

    python examples/custom_space.py                  # about a minute on 2 CPU cores
    python examples/custom_space.py --quick          # smaller: what the test runs
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import evonas
from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.base import SearchSpace

#: one block: (depthwise kernel size, expansion ratio)
Block = tuple[int, int]
#: an architecture: per stage, its blocks
Arch = tuple[tuple[Block, ...], ...]


# ----------------------------------------------------------------------------- networks
class ChainInvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion, ``kernel`` x ``kernel`` depthwise (``stride``), 1x1 projection; a
    residual connection when the shape is kept. ``(N, c_in, H, W) -> (N, c_out, H / stride, W / stride)``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.layers = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers(x)
        return x + y if self.residual else y


def _stem(stem: int) -> nn.Module:
    """3x3 convolution, stride 2: ``(N, 3, H, W) -> (N, stem, H / 2, W / 2)``."""
    return nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6(inplace=True))


def _head(c_in: int, head: int, num_classes: int) -> nn.Module:
    """1x1 convolution to ``head`` channels, global average pooling, linear classifier -> ``(N, classes)``."""
    return nn.Sequential(nn.Conv2d(c_in, head, 1, bias=False), nn.BatchNorm2d(head), nn.ReLU6(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(head, num_classes))


class MobileChainNetwork(nn.Module):
    """The stand-alone network of one architecture: stem (stride 2), the stages (the first block of each
    stage but the first has stride 2), head. ``(N, 3, H, W) -> logits (N, num_classes)``."""

    def __init__(self, arch: Arch, widths: Sequence[int], *, num_classes: int = 10, stem: int = 16,
                 head: int = 128) -> None:
        super().__init__()
        blocks, c_in = [], stem
        for s, (stage, width) in enumerate(zip(arch, widths)):
            for i, (kernel, expansion) in enumerate(stage):
                blocks.append(ChainInvertedResidual(c_in, width, kernel, expansion, 2 if s and not i else 1))
                c_in = width
        self.stem, self.blocks, self.head = _stem(stem), nn.Sequential(*blocks), _head(c_in, head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


class MobileChainSupernet(nn.Module):
    """Single-path weight-sharing supernet: every block position holds one block per (kernel, expansion)
    choice; ``supernet(x, arch)`` runs only ``arch``'s blocks (what evonas' supernet training and scoring
    call). ``(N, 3, H, W) -> logits (N, num_classes)``."""

    def __init__(self, widths: Sequence[int], max_depth: int, kernels: Sequence[int], expansions: Sequence[int],
                 *, num_classes: int = 10, stem: int = 16, head: int = 128) -> None:
        super().__init__()
        self.stem, self.stages = _stem(stem), nn.ModuleList()
        c_in = stem
        for s, width in enumerate(widths):
            positions = nn.ModuleList()
            for i in range(max_depth):
                positions.append(nn.ModuleDict({
                    f"k{k}e{e}": ChainInvertedResidual(c_in if i == 0 else width, width, k, e,
                                                       2 if s and not i else 1)
                    for k in kernels for e in expansions}))
            self.stages.append(positions)
            c_in = width
        self.head = _head(c_in, head, num_classes)

    def candidate_modules(self) -> list[str]:
        """Names of the candidate block modules (what a RelativeNAS weight set merges block by block)."""
        return [f"stages.{s}.{i}.{name}" for s, positions in enumerate(self.stages)
                for i, position in enumerate(positions) for name in position]

    def path_modules(self, arch: Arch) -> set[str]:
        """The candidate modules ``arch``'s path runs."""
        return {f"stages.{s}.{i}.k{k}e{e}" for s, stage in enumerate(arch) for i, (k, e) in enumerate(stage)}

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        x = self.stem(x)
        for positions, stage in zip(self.stages, arch):
            for position, (kernel, expansion) in zip(positions, stage):
                x = position[f"k{kernel}e{expansion}"](x)
        return self.head(x)


# ----------------------------------------------------------------------------- the space
class MobileChainSpace(SearchSpace):
    """Chains of MobileNet-style inverted-residual blocks with per-stage depth and per-block kernel size and
    expansion ratio.

    Keyword-only settings, stored as given: ``widths`` (output channels of each stage, also the number of
    stages), ``max_depth`` (blocks per stage, at least 1), ``kernels`` (depthwise kernel sizes, odd) and
    ``expansions`` (expansion ratios). The encoding is, per stage, ``depth - 1`` then the kernel index and
    the expansion index of each block position (0 where the stage is shorter).
    """

    name = "mobile-chain"

    def __init__(self, *, widths: Sequence[int] = (16, 24, 32), max_depth: int = 3,
                 kernels: Sequence[int] = (3, 5, 7), expansions: Sequence[int] = (3, 4, 6)) -> None:
        self.widths, self.max_depth = tuple(int(w) for w in widths), int(max_depth)
        self.kernels, self.expansions = tuple(int(k) for k in kernels), tuple(int(e) for e in expansions)
        if not self.widths or min(self.widths) < 1 or self.max_depth < 1:
            raise ConfigError(f"need at least one stage of positive width and max_depth >= 1, got widths="
                              f"{self.widths}, max_depth={self.max_depth}")
        if not self.kernels or any(k < 1 or k % 2 == 0 for k in self.kernels) or not self.expansions \
                or min(self.expansions) < 1:
            raise ConfigError(f"kernels must be odd and positive, expansions positive, got {self.kernels}, "
                              f"{self.expansions}")
        if self.max_depth == 1 and len(self.kernels) == 1 and len(self.expansions) == 1:
            raise ConfigError("these settings leave a single architecture: nothing to search")

    # -------------------------------------------------------------- contract
    def validate(self, arch: Any) -> Arch:
        """``arch`` as nested tuples; also accepts its key (``"k3e4-k5e6|k3e3|k7e4"``) and JSON lists."""
        if isinstance(arch, str):
            try:
                arch = [[(int(b[1:b.index("e")]), int(b[b.index("e") + 1:])) for b in stage.split("-")]
                        for stage in arch.split("|")]
            except ValueError as exc:
                raise GenotypeError(f"not a mobile-chain key: {arch!r}") from exc
        try:
            arch = tuple(tuple((int(k), int(e)) for k, e in stage) for stage in arch)
        except (TypeError, ValueError) as exc:
            raise GenotypeError(f"a mobile-chain architecture is a list of stages of (kernel, expansion) pairs, "
                                f"got {arch!r}") from exc
        if len(arch) != len(self.widths):
            raise GenotypeError(f"a mobile-chain architecture has {len(self.widths)} stages, got {len(arch)}")
        for s, stage in enumerate(arch):
            if not 1 <= len(stage) <= self.max_depth:
                raise GenotypeError(f"stage {s + 1} has {len(stage)} blocks; allowed 1..{self.max_depth}")
            bad = [b for b in stage if b[0] not in self.kernels or b[1] not in self.expansions]
            if bad:
                raise GenotypeError(f"stage {s + 1}: block(s) {bad} outside kernels {self.kernels} x expansions "
                                    f"{self.expansions}")
        return arch

    def _random_block(self, rng: np.random.Generator) -> Block:
        return (self.kernels[int(rng.integers(len(self.kernels)))],
                self.expansions[int(rng.integers(len(self.expansions)))])

    def _sample(self, rng: np.random.Generator) -> Arch:
        return tuple(tuple(self._random_block(rng) for _ in range(int(rng.integers(1, self.max_depth + 1))))
                     for _ in self.widths)

    def _mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One move drawn uniformly among all moves: add a block to a stage, remove one, or change one
        block's kernel or expansion to another value (every move changes the architecture)."""
        moves = []
        for s, stage in enumerate(arch):
            if len(stage) < self.max_depth:
                moves.append(("add", s, len(stage)))
            if len(stage) > 1:
                moves += [("remove", s, i) for i in range(len(stage))]
            if len(self.kernels) > 1:
                moves += [("kernel", s, i) for i in range(len(stage))]
            if len(self.expansions) > 1:
                moves += [("expansion", s, i) for i in range(len(stage))]
        what, s, i = moves[int(rng.integers(len(moves)))]
        stage = list(arch[s])
        if what == "add":
            stage.append(self._random_block(rng))
        elif what == "remove":
            del stage[i]
        else:
            k, e = stage[i]
            if what == "kernel":
                others = [v for v in self.kernels if v != k]
                stage[i] = (others[int(rng.integers(len(others)))], e)
            else:
                others = [v for v in self.expansions if v != e]
                stage[i] = (k, others[int(rng.integers(len(others)))])
        return arch[:s] + (tuple(stage),) + arch[s + 1:]

    def _crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> tuple[Arch, Arch]:
        """Uniform crossover of whole stages."""
        mask = rng.random(len(a)) < 0.5
        return (tuple(x if m else y for x, y, m in zip(a, b, mask)),
                tuple(y if m else x for x, y, m in zip(a, b, mask)))

    def _encode(self, arch: Arch) -> np.ndarray:
        out = []
        for stage in arch:
            kernels = [self.kernels.index(k) for k, _ in stage] + [0] * (self.max_depth - len(stage))
            expansions = [self.expansions.index(e) for _, e in stage] + [0] * (self.max_depth - len(stage))
            out += [len(stage) - 1, *kernels, *expansions]
        return np.asarray(out, dtype=np.int64)

    def _decode(self, vector: np.ndarray) -> Arch:
        width = 1 + 2 * self.max_depth
        if vector.shape != (len(self.widths) * width,):
            raise GenotypeError(f"a mobile-chain encoding has {len(self.widths) * width} entries, got shape "
                                f"{vector.shape}")
        lower, upper = self.bounds()
        if np.any(vector != np.round(vector)) or np.any(vector < lower) or np.any(vector > upper):
            raise GenotypeError(f"mobile-chain encodings are integers within bounds(), got {vector.tolist()}")
        arch = []
        for row in np.asarray(vector, dtype=np.int64).reshape(len(self.widths), width):
            depth = int(row[0]) + 1
            arch.append(tuple((self.kernels[int(row[1 + i])], self.expansions[int(row[1 + self.max_depth + i])])
                              for i in range(depth)))
        return tuple(arch)

    def _key(self, arch: Arch) -> str:
        return "|".join("-".join(f"k{k}e{e}" for k, e in stage) for stage in arch)

    def _build(self, arch: Arch, **net_kwargs: Any) -> nn.Module:
        """:class:`MobileChainNetwork` (options ``num_classes``, ``stem``, ``head``)."""
        return MobileChainNetwork(arch, self.widths, **net_kwargs)

    # ---------------------------------------------------------- capabilities
    def build_supernet(self, **kwargs: Any) -> nn.Module:
        """:class:`MobileChainSupernet` (options ``num_classes``, ``stem``, ``head``): ``supernet(x, arch)``."""
        return MobileChainSupernet(self.widths, self.max_depth, self.kernels, self.expansions, **kwargs)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), inclusive, of each entry of the encoding."""
        row = [self.max_depth - 1] + [len(self.kernels) - 1] * self.max_depth \
            + [len(self.expansions) - 1] * self.max_depth
        upper = np.asarray(row * len(self.widths), dtype=np.int64)
        return np.zeros_like(upper), upper

    def draw(self, arch: Any, path: Any, *, title: str | None = None) -> Path:
        """The chain as boxes, one per block (height: expansion ratio; colour: kernel size), stages apart."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        arch, path = self.validate(arch), Path(path)
        path = path if path.suffix else path.with_suffix(".png")
        colours = dict(zip(self.kernels, plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(self.kernels)))))
        top = max(self.expansions)
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * sum(map(len, arch)) + 0.4 * len(arch), 2.6))
        x = 0.0
        for s, (stage, width) in enumerate(zip(arch, self.widths)):
            ax.text(x + 0.45 * len(stage) - 0.05, -0.35, f"stage {s + 1} ({width} ch)", ha="center", fontsize=8)
            for kernel, expansion in stage:
                height = expansion / top
                ax.add_patch(plt.Rectangle((x, 0), 0.8, height, color=colours[kernel]))
                ax.text(x + 0.4, height + 0.05, f"k{kernel}\ne{expansion}", ha="center", fontsize=8)
                x += 0.9
            x += 0.4
        ax.set_xlim(-0.2, x)
        ax.set_ylim(-0.5, 1.45)
        ax.axis("off")
        ax.set_title(title or self.key(arch), fontsize=9)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        return path


# ----------------------------------------------------------------------------- the run
def contract_suite(space: SearchSpace) -> list[str]:
    """evonas' contract checks over ``space`` and the operators it can use; returns what passed (an
    AssertionError names the first broken rule)."""
    from evonas.operators import vector
    from evonas.operators.variation import SpaceCrossover, SpaceMutation
    from evonas.testing import check_operator, check_space

    check_space(space)
    passed = ["check_space"]
    for operator in (SpaceMutation(), SpaceCrossover(), vector.PolynomialMutation(),
                     vector.SimulatedBinaryCrossover()):
        check_operator(operator, space)
        passed.append(f"check_operator({operator.name})")
    return passed


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller budgets and data (what the test runs)")
    parser.add_argument("--budget", type=int, default=None, help="evaluations per engine (default 24; quick 8)")
    parser.add_argument("--pop-size", type=int, default=None, help="population (default 8; quick 4)")
    parser.add_argument("--supernet-epochs", type=int, default=None, help="default 5; quick 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: networks this small run slower on more)")
    parser.add_argument("--run-dir", default="runs/custom_space",
                        help="where results go (its engine folders are replaced)")
    args = parser.parse_args(argv)
    budget = args.budget or (8 if args.quick else 24)
    pop_size = args.pop_size or (4 if args.quick else 8)
    epochs = args.supernet_epochs if args.supernet_epochs is not None else (1 if args.quick else 5)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    start, run_dir = time.perf_counter(), Path(args.run_dir)
    torch.set_num_threads(args.threads)

    # 1. Register the space (the CLI and config files can then name it) and create it by name.
    from evonas.registry import evaluators, spaces, strategies

    spaces.register(MobileChainSpace.name, MobileChainSpace)
    space = spaces.create("mobile-chain")

    # 2. The contract suite.
    passed = contract_suite(space)
    print(f"contract suite: {len(passed)} checks passed ({', '.join(passed)})")

    # 3. Evaluators: FLOPs from the cost evaluator; accuracy from a supernet trained once (the first search
    #    trains it and saves it to supernet.pt, the others load it).
    from evonas.core import Objective
    from evonas.evaluators.base import CompositeEvaluator, SelectObjectives

    def make_evaluator(objectives: Sequence[Objective]):
        supernet = evaluators.create(
            "supernet", dataset="cifar10-mini", split=(0.25, 0.25) if args.quick else (0.5, 0.5), epochs=epochs,
            batch_size=64, learning_rate=0.1, recalibration_images=64 if args.quick else 128,
            val_images=128 if args.quick else 384, device="cpu", progress=False, seed=args.seed,
            checkpoint=str(run_dir / "supernet.pt"))
        cost = evaluators.create("cost", metrics=("params", "flops"))
        return SelectObjectives(CompositeEvaluator([cost, supernet]), objectives)

    two = [Objective("accuracy", "max"), Objective("flops", "min")]
    engines = {  # name -> (strategy, objectives)
        "random": (strategies.create("random", batch_size=pop_size), two),
        "evolution": (strategies.create("evolution", pop_size=pop_size, sample_size=max(2, pop_size // 2),
                                        offspring=max(1, pop_size // 2)), two[:1]),
        "nsga2": (strategies.create("nsga2", pop_size=pop_size), two),
        "deap-nsga2": (strategies.create("deap-nsga2", pop_size=pop_size), two),
        # RelativeNAS trains the supernet while it searches (slow-fast pairs; the supernet names its candidate
        # modules for the weight merge): a short run of it
        "relative": (strategies.create("relative", pop_size=4, generations=2, member_steps=2), two[:1]),
    }
    summary: dict = {"contract": passed, "runs": {}}
    (run_dir / "supernet.pt").unlink(missing_ok=True)
    for name, (strategy, objectives) in engines.items():
        shutil.rmtree(run_dir / name, ignore_errors=True)
        began = time.perf_counter()
        result = evonas.search(space, strategy, make_evaluator(objectives), budget=budget, seed=args.seed,
                               run_dir=run_dir / name, progress=False)
        valid = sum(space.is_valid(ind.arch) for ind in result.individuals)
        best = result.best["accuracy"]
        summary["runs"][name] = {"evaluations": len(result.individuals), "valid": valid,
                                 "front": len(result.front), "best_accuracy": best.values["accuracy"],
                                 "best_key": best.key, "seconds": round(time.perf_counter() - began, 1)}
        print(f"{name:>11}: {len(result.individuals):3d} architectures ({valid} valid), front of "
              f"{len(result.front)}, best supernet accuracy {best.values['accuracy']:.1f}% ({best.key}), "
              f"{time.perf_counter() - began:.1f} s")

    # 4. Pictures and deployment: the best architecture drawn, the evolution run's front exported (ONNX checked
    #    against PyTorch in onnxruntime; export_run draws each architecture with the space's draw()).
    from evonas.deploy.export import export_run

    best_key = max(summary["runs"].values(), key=lambda run: run["best_accuracy"])["best_key"]
    space.draw(best_key, run_dir / "best.png", title=f"best supernet accuracy: {best_key}")
    rows = export_run(run_dir / "evolution", run_dir / "export", space=space, progress=False)  # raises if a check fails
    summary["export"] = [{k: row[k] for k in ("name", "key", "params", "onnx_check_passed", "folder")}
                         for row in rows]
    print(f"exported {len(rows)} architecture(s) to {run_dir / 'export'}: ONNX check passed")
    summary["seconds"] = round(time.perf_counter() - start, 1)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(f"done in {summary['seconds']:.0f} s; plots (progress.png, pareto.png), histories and fronts in "
          f"{run_dir}/<engine>/, best.png and summary.json in {run_dir}/")
    return summary


if __name__ == "__main__":
    main()
