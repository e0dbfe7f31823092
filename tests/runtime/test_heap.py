"""The search keeps the collector off the objects alive before it started, and gives them back after."""
from __future__ import annotations

import gc
import weakref

from evonas.loop import search
from evonas.registry import strategies
from evonas.runtime.heap import frozen_heap
from evonas.testing import ToySpace, ZDTEvaluator


class Before:
    """An object made before the search, in a reference cycle that becomes garbage during it."""

    def __init__(self) -> None:
        self.me = self


def test_objects_alive_before_the_block_are_frozen_in_it_and_collectable_after():
    gc.collect()
    before = Before()
    old = weakref.ref(before)
    with frozen_heap() as froze:
        assert froze
        assert gc.get_freeze_count() >= len(gc.get_objects()) // 2  # the heap is in the permanent generation
        assert not any(obj is before for obj in gc.get_objects())  # frozen objects are not tracked by any generation
        made = Before()
        new = weakref.ref(made)
        assert any(obj is made for obj in gc.get_objects())  # what the block makes is tracked as usual ...
        del made, before
        gc.collect()
        assert new() is None  # ... and a cycle of its own that became garbage is freed in it
        assert old() is not None  # a frozen one waits for the end of the block
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None


def test_a_freeze_made_elsewhere_is_left_as_it_is():
    kept = Before()
    gc.freeze()
    try:
        with frozen_heap() as froze:
            assert not froze
        # not undone by the block: an object of that freeze is still out of the collector's generations (the
        # count itself may drop as frozen objects are freed)
        assert gc.get_freeze_count() > 0
        assert not any(obj is kept for obj in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_search_runs_with_the_heap_frozen_and_unfreezes_it(tmp_path):
    seen = []
    search(ToySpace(length=4, choices=3), strategies.create("nsga2", pop_size=6), ZDTEvaluator(), budget=12,
           seed=0, run_dir=tmp_path / "run", progress=False, plots=False,
           callbacks=[lambda generation, state: seen.append(gc.get_freeze_count())])
    assert seen and all(count > 0 for count in seen)
    assert gc.get_freeze_count() == 0
