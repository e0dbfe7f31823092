"""Joining a Ray cluster that is not there stops at once with one line (issue 27, items 6 and 7): Ray itself
retries a wrong address for minutes, and a ray:// address without the Ray client fails with a ValueError."""
from __future__ import annotations

import socket

import pytest
import ray

from evonas.cli import main
from evonas.errors import ConfigError
from evonas.runtime.ray_executor import RayExecutor
from evonas.testing import ToySpace, ZDTEvaluator

SEARCH = ["search", "--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "4",
          "--budget", "8", "--quiet", "--executor", "ray"]


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"),
    ("no-such-host.invalid:1234", "no Ray cluster answers at no-such-host.invalid:1234"),
    ("ray://127.0.0.1:1", "no Ray cluster answers at ray://127.0.0.1:1"),
    ("justahost", "must look like host:port"),
])
def test_an_address_without_a_cluster_is_one_line_at_once(capsys, tmp_path, address, message):
    assert not ray.is_initialized()
    assert main([*SEARCH, "--address", address, "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not ray.is_initialized()


def test_a_ray_client_address_without_the_client_names_the_extra(monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))  # something answers, as a Ray client server would
    port = listener.getsockname()[1]

    def no_client(*args, **kwargs):  # what ray.init raises where ray[client] is not installed
        raise ValueError("Module: ray.util.client is not available; install ray[client]")

    monkeypatch.setattr(ray, "init", no_client)
    try:
        with pytest.raises(ConfigError, match=r'needs the Ray client: pip install "ray\[client\]"'):
            RayExecutor(address=f"ray://127.0.0.1:{port}").start(ToySpace(length=4, choices=2), ZDTEvaluator())
    finally:
        listener.close()
    with pytest.raises(ConfigError, match="connect_timeout"):
        RayExecutor(connect_timeout=0)
