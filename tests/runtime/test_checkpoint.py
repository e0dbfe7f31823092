from __future__ import annotations

import pytest
import torch

from evonas.errors import CheckpointError
from evonas.runtime.atomic import atomic_write_bytes
from evonas.runtime.checkpoint import (
    load_checkpoint,
    load_latest_checkpoint,
    previous_path,
    save_checkpoint,
)


def test_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(2)}, kind="demo")
    save_checkpoint(path, {"step": 2, "w": torch.zeros(2)}, kind="demo")
    assert load_checkpoint(path, kind="demo")["step"] == 2
    assert load_checkpoint(previous_path(path), kind="demo")["step"] == 1
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_kind_and_expectations_are_checked(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"genotype_key": "a"}, kind="demo")
    with pytest.raises(CheckpointError, match="'demo' checkpoint, not a 'search'"):
        load_checkpoint(path, kind="search")
    with pytest.raises(CheckpointError, match="genotype_key is 'a', expected 'b'"):
        load_checkpoint(path, expect={"genotype_key": "b"})


@pytest.mark.parametrize("content", [b"", b"junk", b"PK\x03\x04broken zip"])
def test_damaged_files_are_clear_errors(tmp_path, content):
    path = tmp_path / "ck.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="truncated or not a checkpoint"):
        load_checkpoint(path)


def test_foreign_pickles_are_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, path)
    with pytest.raises(CheckpointError, match="not an evonas checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_latest_falls_back_to_previous_only_when_unreadable(tmp_path, caplog):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 1, "genotype_key": "a"}, kind="demo")
    save_checkpoint(path, {"step": 2, "genotype_key": "a"}, kind="demo")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with caplog.at_level("WARNING"):
        assert load_latest_checkpoint(path, kind="demo")["step"] == 1
    assert "falling back" in caplog.text
    save_checkpoint(path, {"step": 3, "genotype_key": "x"}, kind="demo")
    with pytest.raises(CheckpointError, match="another run"):
        load_latest_checkpoint(path, kind="demo", expect={"genotype_key": "a"})


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")


    from evonas.runtime.atomic import atomic_write

    def failing(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, failing)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
