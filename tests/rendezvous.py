"""Where the processes of a torch.distributed test meet: a TCP store the test process itself hosts, as torchrun's
agent does (``TORCHELASTIC_USE_AGENT_STORE``).

A port probed free and closed again, then bound by rank 0 seconds later (once it imported torch), can be taken in
between by any other process; the store here is bound before a rank starts, on a port the kernel picked.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def agent_store(world_size: int) -> Iterator[dict[str, str]]:
    """Host the store of ``world_size`` ranks for the ``with`` block; yields the environment variables each rank
    adds to ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` so that ``init_process_group`` (``env://``) joins it."""
    from torch.distributed import TCPStore

    store = TCPStore("127.0.0.1", 0, world_size, is_master=True, wait_for_workers=False)
    try:
        yield {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(store.port), "TORCHELASTIC_USE_AGENT_STORE": "True",
               "TORCHELASTIC_RESTART_COUNT": "0"}
    finally:
        del store
