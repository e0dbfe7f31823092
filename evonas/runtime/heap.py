"""Keep Python's cyclic garbage collector off the objects that were alive before a search started.

A process that has imported torch (and matplotlib, a dataset, a table) holds
some 400,000 objects the collector tracks. CPython runs a full collection
whenever the objects that survived younger collections grow by a quarter of
that, and each full collection walks all of them: about 0.17 s on a 2-core
machine, a sixth of a 10,000-evaluation table search that draws its PNGs.
:func:`frozen_heap` moves the objects alive on entry to the collector's
permanent generation (:func:`gc.freeze`) and back on exit
(:func:`gc.unfreeze`), so that collections during the search walk only what
the search made.

What it costs: a reference cycle that holds an object from before the
search and becomes garbage during it is not freed until the search ends
(with the objects only it holds); cycles made of the search's own objects,
and everything freed by reference counting (most objects, tensors
included), are freed as before. The collector's state is the process's:
the freeze is undone on exit even for objects that code inside the block
froze, and of two searches running at once in two threads the first to end
unfreezes for both (the other runs on, its collections slower).
"""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def frozen_heap() -> Iterator[bool]:
    """Freeze the tracked objects for the duration of the block; yields whether it did.

    Leaves the collector alone when objects are frozen already on entry (an enclosing ``frozen_heap``, an
    application that froze its heap before forking): a freeze made before the block is never undone by it.
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
