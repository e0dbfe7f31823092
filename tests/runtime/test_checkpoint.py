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


# ----------------------------------------------------------------------------- checksums, identity, storage


def _flip_middle_byte(path):
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("flavour", ["torch", "object"])
def test_a_flipped_byte_is_detected_and_the_previous_checkpoint_used(tmp_path, caplog, flavour):
    from evonas.runtime.checkpoint import save_object_checkpoint

    save = save_checkpoint if flavour == "torch" else save_object_checkpoint
    path = tmp_path / "ck.bin"
    save(path, {"step": 1, "w": torch.arange(4096.0), "note": "x" * 5000}, kind="demo", run_id="r1")
    save(path, {"step": 2, "w": torch.arange(4096.0) + 1, "note": "y" * 5000}, kind="demo", run_id="r1")
    _flip_middle_byte(path)
    with pytest.raises(CheckpointError, match="damaged: the checksum"):
        load_checkpoint(path, kind="demo")
    with caplog.at_level("WARNING"):
        state = load_latest_checkpoint(path, kind="demo", expect={"run_id": "r1"})
    assert state["step"] == 1 and torch.equal(state["w"], torch.arange(4096.0))
    assert "falling back" in caplog.text


def test_torch_checkpoints_still_load_with_torch_load(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", {"w": torch.ones(3)}, kind="demo", run_id="r1")
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))


@pytest.mark.parametrize("flavour", ["torch", "object"])
def test_a_checkpoint_of_another_run_is_refused_without_fallback(tmp_path, flavour):
    from evonas.runtime.checkpoint import save_object_checkpoint

    save = save_checkpoint if flavour == "torch" else save_object_checkpoint
    path = tmp_path / "ck.bin"
    save(path, {"step": 1}, kind="demo", run_id="mine")
    save(path, {"step": 2}, kind="demo", run_id="theirs")
    with pytest.raises(CheckpointError, match="belongs to another run: its run_id is 'theirs', expected 'mine'"):
        load_latest_checkpoint(path, kind="demo", expect={"run_id": "mine"})


def test_object_checkpoint_kind_is_checked_before_unpickling(tmp_path, monkeypatch):
    import dill

    from evonas.runtime.checkpoint import save_object_checkpoint

    path = save_object_checkpoint(tmp_path / "ck.pkl", {"anything": {1, 2}}, kind="search")
    monkeypatch.setattr(dill, "loads", lambda *a, **k: pytest.fail("unpickled a checkpoint of the wrong kind"))
    with pytest.raises(CheckpointError, match="'search' checkpoint, not a 'standalone' one"):
        load_checkpoint(path, kind="standalone")


def test_a_failed_write_keeps_the_current_and_previous_checkpoint(tmp_path, monkeypatch):
    import errno
    import os

    from evonas.errors import StorageError
    from evonas.runtime import atomic

    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 1}, kind="demo")
    save_checkpoint(path, {"step": 2}, kind="demo")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(StorageError, match=r"cannot write .*ck.pt: No space left on device; the existing ck.pt"):
        save_checkpoint(path, {"step": 3}, kind="demo")
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 2 and load_checkpoint(previous_path(path))["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.prev.pt", "ck.pt"]


def test_unwritable_folder_is_a_storage_error(tmp_path):
    from evonas.errors import StorageError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot write .*file/sub/x.bin"):
        atomic_write_bytes(blocker / "sub" / "x.bin", b"data")


def test_stale_temporaries_are_removed_but_nothing_else(tmp_path):
    from evonas.runtime.atomic import remove_stale_temporaries

    (tmp_path / ".checkpoint.pkl.ab12_xyz.tmp").write_bytes(b"half")
    for keep in ("checkpoint.pkl", ".hidden.tmp", "notes.tmp"):
        (tmp_path / keep).write_bytes(b"keep")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".checkpoint.pkl.ab12_xyz.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden.tmp", "checkpoint.pkl", "notes.tmp"]


def test_a_checkpoint_of_an_older_evonas_is_refused_clearly(tmp_path):
    import pickle

    path = tmp_path / "checkpoint.pkl"
    path.write_bytes(pickle.dumps({"format": "evonas-search-checkpoint", "generation": 3, "pad": "x" * 100},
                                  protocol=5))
    with pytest.raises(CheckpointError, match="written by an evonas older than 0.2.*start a new run"):
        load_checkpoint(path)
