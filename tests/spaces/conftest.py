"""Shared fixtures for the search-space tests: tiny, single-threaded, seeded."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _small_torch():
    """One intra-op thread (tiny convs are far slower with 2 contended threads) and a fixed seed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
