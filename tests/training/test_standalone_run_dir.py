"""Stand-alone training runs: identity, restart before the first checkpoint, lone last batch, bad inputs."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from evonas.cli import main
from evonas.errors import CheckpointError
from evonas.training import standalone
from evonas.training.standalone import build_data, train_standalone
from tests.training.test_standalone import tiny_config


def test_resume_refuses_a_checkpoint_copied_from_another_run(tmp_path):
    train_standalone(tiny_config(epochs=2), tmp_path / "a", progress=False)
    train_standalone(tiny_config(epochs=2, seed=6), tmp_path / "b", progress=False)
    # same architecture, so only the run identity can tell the checkpoints apart
    shutil.copy(tmp_path / "b" / "checkpoint.pt", tmp_path / "a" / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="belongs to another run: its run_id"):
        train_standalone(None, tmp_path / "a", resume=True, progress=False)


class _Killed(Exception):
    pass


def test_a_run_killed_in_its_first_epoch_can_be_resumed_or_replaced(tmp_path, monkeypatch):
    def die(*args, **kwargs):
        raise _Killed()

    monkeypatch.setattr(standalone, "train_one_epoch", die)
    for _ in range(2):
        with pytest.raises(_Killed):
            train_standalone(tiny_config(epochs=1), tmp_path / "run", progress=False)  # a new run may replace it
    monkeypatch.undo()
    assert (tmp_path / "run" / "config.json").is_file() and not (tmp_path / "run" / "checkpoint.pt").exists()
    resumed = train_standalone(None, tmp_path / "run", resume=True, progress=False)
    reference = train_standalone(tiny_config(epochs=1), tmp_path / "reference", progress=False)
    assert resumed["test_top1"] == reference["test_top1"] and resumed["test_loss"] == reference["test_loss"]


def test_a_last_training_batch_of_one_image_is_dropped(tmp_path):
    config = tiny_config(epochs=1, max_batches=None, test_fraction=0.5)
    train_set = build_data(config)[0]
    batch_size = len(train_set) // 2  # two full batches and one lone image
    if len(train_set) % batch_size != 1:
        batch_size = (len(train_set) - 1) // 2
    assert len(train_set) % batch_size == 1
    result = train_standalone(tiny_config(epochs=1, max_batches=None, test_fraction=0.5, batch_size=batch_size),
                              tmp_path / "run", progress=False)
    assert np.isfinite(result["test_loss"])


def test_evaluate_on_a_search_checkpoint_says_what_it_is(capsys, tmp_path):
    argv = ["search", "--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "10",
            "--budget", "10", "--run-dir", str(tmp_path / "s"), "--quiet"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "s" / "checkpoint.pkl")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint of a search, not of a trained network" in err and err.count("\n") == 1


def test_training_on_a_damaged_lmdb_names_the_record_in_one_line(capsys, tmp_path, cifar_mini):
    import lmdb

    from evonas.data import pack_lmdb
    from evonas.data.lmdb import record_key

    path = tmp_path / "mini.lmdb"
    pack_lmdb(cifar_mini, path, progress=False)
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        value = bytes(txn.get(record_key(7)))
    env.close()
    blob = bytearray((path / "data.mdb").read_bytes())
    offset = blob.find(value[20:60])
    blob[offset + 5] ^= 0xFF
    (path / "data.mdb").write_bytes(bytes(blob))
    argv = ["train", "--genotype", "DARTS_V2", "-C", "4", "--layers", "3", "--epochs", "1", "--batch-size", "64",
            "--dataset", str(path), "--run-dir", str(tmp_path / "run"), "--device", "cpu", "--quiet"]
    assert main(argv) == 2  # with the default 2 DataLoader workers
    err = capsys.readouterr().err
    assert "record 7: checksum mismatch" in err and err.count("\n") == 1


@pytest.mark.parametrize("packed", [False, True], ids=["image-folder", "lmdb"])
def test_training_on_image_files_with_the_defaults(tmp_path, image_folder, packed):
    """ImageNet-style data trains NetworkImageNet at 224x224 in channels-last with 2 workers (once a native crash)."""
    import subprocess
    import sys

    from evonas.data import pack_lmdb

    root = image_folder[0]
    dataset = str(root)
    if packed:
        dataset = str(tmp_path / "folder.lmdb")
        pack_lmdb(root, dataset, progress=False)
    argv = [sys.executable, "-m", "evonas.cli", "train", "--genotype", "DARTS_V2", "-C", "8", "--layers", "5",
            "--epochs", "1", "--batch-size", "8", "--dataset", dataset, "--run-dir", str(tmp_path / "run"),
            "--device", "cpu", "--quiet"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "final test top-1" in proc.stdout
    config = (tmp_path / "run" / "config.json").read_text()
    assert '"channels_last": null' in config and '"workers": 2' in config  # the defaults: NHWC on the CPU


def test_a_busy_run_dir_refuses_a_second_training(capsys, tmp_path):
    import signal
    import subprocess
    import sys

    from tests.test_run_dir_integrity import HOLD

    train_standalone(tiny_config(epochs=1), tmp_path / "run", progress=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"in use by pid {holder.pid}" in err and err.count("\n") == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_a_read_only_run_dir_is_a_one_line_error_and_keeps_the_checkpoint(capsys, tmp_path, monkeypatch):
    import errno
    import os

    from evonas.runtime import atomic

    run = tmp_path / "run"
    train_standalone(tiny_config(epochs=1), run, progress=False)
    before = (run / "checkpoint.pt").read_bytes()
    config = run / "config.json"
    config.write_text(config.read_text().replace('"epochs": 1', '"epochs": 2'))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and "is unchanged" in err and err.count("\n") == 1
    assert (run / "checkpoint.pt").read_bytes() == before


def test_training_on_a_truncated_lmdb_says_so(capsys, tmp_path, cifar_mini):
    from evonas.data import pack_lmdb

    path = tmp_path / "mini.lmdb"
    pack_lmdb(cifar_mini, path, progress=False)
    data = path / "data.mdb"
    with open(data, "r+b") as handle:
        handle.truncate(data.stat().st_size // 2)
    argv = ["train", "--genotype", "DARTS_V2", "-C", "4", "--layers", "3", "--epochs", "1",
            "--dataset", str(path), "--run-dir", str(tmp_path / "run"), "--device", "cpu", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is truncated" in err and err.count("\n") == 1


def test_the_same_seed_gives_the_same_losses_with_and_without_dataloader_workers(tmp_path):
    """Augmentations are drawn per image and epoch (SeededSamples), not per process (issue 27)."""
    from evonas.cli import main

    tiny = ["--genotype", "DARTS_V2", "-C", "4", "--layers", "3", "--epochs", "2", "--batch-size", "16",
            "--max-batches", "2", "--test-fraction", "0.05", "--device", "cpu", "--quiet"]
    losses = {}
    for workers in (0, 2):
        assert main(["train", *tiny, "--workers", str(workers), "--run-dir", str(tmp_path / f"w{workers}")]) == 0
        rows = (tmp_path / f"w{workers}" / "metrics.csv").read_text().splitlines()
        header = rows[0].split(",")
        losses[workers] = [row.split(",")[header.index("train_loss")] for row in rows[1:]]
    assert len(losses[0]) == 2 and losses[0] == losses[2]
