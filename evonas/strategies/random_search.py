"""Random search: the baseline every strategy must beat at the same budget."""
from __future__ import annotations

from evonas.operators.base import unique_offspring
from evonas.registry import strategies
from evonas.strategies.base import Strategy


@strategies.register("random")
class RandomSearch(Strategy):
    """Sample ``batch_size`` new architectures per generation, uniformly from the space."""

    name = "random"

    def __init__(self, *, batch_size: int = 20, max_tries: int = 50) -> None:
        super().__init__(batch_size=batch_size, max_tries=max_tries)
        self.batch_size, self.max_tries = batch_size, max_tries
        self.seen: set[str] = set()

    def ask(self) -> list:
        sample = lambda *_: self.space.sample(self.rng)  # noqa: E731
        return unique_offspring(sample, self.batch_size, key=self.space.key, retry=sample, seen=self.seen,
                                max_tries=self.max_tries)

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        self.seen.update(self.space.key(a) for a in archs)


__all__ = ["RandomSearch"]
