"""Random search: the baseline every strategy must beat at the same budget."""
from __future__ import annotations

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
        batch, keys = [], set()
        for _ in range(self.batch_size):
            for _ in range(self.max_tries):
                arch = self.space.sample(self.rng)
                key = self.space.key(arch)
                if key not in self.seen and key not in keys:
                    break
            keys.add(key)
            batch.append(arch)
        return batch

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        self.seen.update(self.space.key(a) for a in archs)
