"""Keep Python's cyclic garbage collector off the objects that were alive before a search started.

A process that has imported torch (and matplotlib, a dataset, a table) holds
some 400,000 objects the collector tracks. CPython runs a full collection
whenever the objects that survived younger collections grow by a quarter of
that, and each full collection walks all of them: about 0.17 s on a 2-core
machine, a third of a 10,000-evaluation table search. :func:`frozen_heap`
moves the objects alive on entry to the collector's permanent generation
(:func:`gc.freeze`) and back on exit (:func:`gc.unfreeze`), so that
collections during the search walk only what the search made. Nothing is
freed later than it would be, except a reference cycle among objects that
existed before the search and became garbage during it: it is freed at the
first collection after the search.
"""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def frozen_heap() -> Iterator[bool]:
    """Freeze the tracked objects for the duration of the block; yields whether it did.

    Leaves the collector alone when something else has frozen objects already (an enclosing
    ``frozen_heap``, an application that froze its heap before forking): only a freeze made here is
    undone here.
    """
    if gc.get_freeze_count():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()


__all__ = ["frozen_heap"]
