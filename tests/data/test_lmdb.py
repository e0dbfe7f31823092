from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import lmdb
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from evonas.data import LMDBDataset, get_dataset, pack_lmdb, verify_lmdb
from evonas.data.datasets import ArrayDataset
from evonas.errors import CorruptDatasetError, DatasetNotFoundError, EvonasError


@pytest.fixture(scope="module")
def small_arrays():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (30, 12, 10, 3), dtype=np.uint8), rng.integers(0, 4, 30)


@pytest.fixture()
def packed(tmp_path, small_arrays):
    x, y = small_arrays
    out = tmp_path / "small.lmdb"
    pack_lmdb(ArrayDataset(x, y, classes=list("abcd")), out, progress=False)
    return out


def test_pack_then_read_is_identical(packed, small_arrays):
    x, y = small_arrays
    data = LMDBDataset(packed)
    assert len(data) == 30 and data.classes == tuple("abcd")
    assert data.meta["image_size"] == [12, 10] and data.meta["channels"] == 3
    for i in range(len(data)):
        image, label = data[i]
        assert image.dtype == torch.uint8
        assert np.array_equal(image.numpy().transpose(1, 2, 0), x[i]) and label == y[i]
    assert np.array_equal(data.targets, y)


def test_get_dataset_opens_lmdb_paths(packed):
    assert isinstance(get_dataset(packed), LMDBDataset)


def test_pack_image_folder_keeps_file_bytes(tmp_path, image_folder):
    root, images, labels = image_folder
    out = tmp_path / "folder.lmdb"
    meta = pack_lmdb(root, out, progress=False)
    assert meta["encoding"] == "file" and meta["classes"] == ["airplane", "automobile", "bird"]
    data = LMDBDataset(out)
    folder = get_dataset(root)
    for i in range(len(data)):
        assert torch.equal(data[i][0], images[i]) and data[i][1] == labels[i]
        with open(folder.samples[i][0], "rb") as handle:
            assert data.read_raw(i)[1] == handle.read()


def test_dataloader_with_two_workers_reads_everything(packed, small_arrays):
    x, y = small_arrays
    loader = DataLoader(LMDBDataset(packed), batch_size=8, num_workers=2, shuffle=False)
    images, labels = zip(*loader)
    images = torch.cat(images).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(images, x) and np.array_equal(torch.cat(labels).numpy(), y)


def test_existing_output_is_not_replaced_without_overwrite(packed, small_arrays):
    before = sorted(os.listdir(packed))
    with pytest.raises(EvonasError, match="--overwrite"):
        pack_lmdb(ArrayDataset(*small_arrays), packed, progress=False)
    assert sorted(os.listdir(packed)) == before and len(LMDBDataset(packed)) == 30


def test_overwrite_replaces_an_evonas_lmdb_only(tmp_path, packed, small_arrays):
    x, y = small_arrays
    pack_lmdb(ArrayDataset(x[:5], y[:5]), packed, overwrite=True, progress=False)
    assert len(LMDBDataset(packed)) == 5
    other = tmp_path / "precious.lmdb"
    other.mkdir()
    (other / "data.mdb").write_bytes(b"user data, not an LMDB")
    with pytest.raises(CorruptDatasetError):
        pack_lmdb(ArrayDataset(x, y), other, overwrite=True, progress=False)
    assert (other / "data.mdb").read_bytes() == b"user data, not an LMDB"
    assert not [p for p in os.listdir(tmp_path) if "partial" in p]


def test_killed_pack_leaves_no_database_that_looks_whole(tmp_path):
    out = tmp_path / "killed.lmdb"
    script = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np
        from evonas.data import pack_lmdb
        from evonas.data.datasets import ArrayDataset

        class Dies(ArrayDataset):
            def __getitem__(self, i):
                if i == 1500:  # after the first committed transaction
                    os.kill(os.getpid(), signal.SIGKILL)
                return super().__getitem__(i)

        x = np.zeros((2000, 4, 4, 3), dtype=np.uint8)
        pack_lmdb(Dies(x, np.zeros(2000)), {str(out)!r}, progress=False)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    assert not out.exists()
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".killed.lmdb.partial")]
    assert len(partial) == 1
    with pytest.raises(CorruptDatasetError, match="metadata"):
        LMDBDataset(partial[0])
    pack_lmdb(ArrayDataset(np.zeros((3, 4, 4, 3), dtype=np.uint8), np.zeros(3)), out, progress=False)
    assert len(LMDBDataset(out)) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".killed.lmdb.")]  # the dead pack's part is gone


def test_a_part_of_a_running_pack_is_kept(tmp_path):
    from evonas.data.lmdb import remove_abandoned_parts

    alive = tmp_path / f".out.lmdb.partial-{os.getpid()}"
    dead = tmp_path / ".out.lmdb.partial-999999999"
    other = tmp_path / ".other.lmdb.partial-999999999"
    for folder in (alive, dead, other):
        folder.mkdir()
    assert remove_abandoned_parts(tmp_path / "out.lmdb") == [dead]
    assert alive.is_dir() and other.is_dir() and not dead.exists()


def test_workers_forked_after_the_parent_read_a_record(packed, small_arrays):
    """A forked worker inherits the parent's open environment; it must reopen, not fail with 'already open'."""
    x, y = small_arrays
    dataset = LMDBDataset(packed)
    assert dataset[0][1] == y[0]  # the parent now holds an open environment
    loader = DataLoader(dataset, batch_size=8, num_workers=2, shuffle=False,
                        multiprocessing_context="fork")
    labels = torch.cat([batch[1] for batch in loader]).numpy()
    assert np.array_equal(labels, y) and dataset[1][1] == y[1]  # and the parent still reads


def test_packing_a_file_that_is_not_an_image_names_it(tmp_path, image_folder):
    import shutil

    root = tmp_path / "folder"
    shutil.copytree(image_folder[0], root)
    (root / "bird" / "notes.png").write_text("this is text, not a PNG")
    with pytest.raises(CorruptDatasetError, match=r"notes.png is not a readable image"):
        pack_lmdb(root, tmp_path / "out.lmdb", progress=False)
    assert not (tmp_path / "out.lmdb").exists() and not list(tmp_path.glob(".out.lmdb*"))


def test_not_an_lmdb(tmp_path):
    (tmp_path / "fake.lmdb").write_bytes(b"\x00" * 10000)
    with pytest.raises(CorruptDatasetError, match="not a readable LMDB"):
        get_dataset(tmp_path / "fake.lmdb")
    (tmp_path / "dir.lmdb").mkdir()
    with pytest.raises(CorruptDatasetError, match="no data.mdb"):
        get_dataset(tmp_path / "dir.lmdb")
    with pytest.raises(DatasetNotFoundError):
        LMDBDataset(tmp_path / "absent.lmdb")


def test_lmdb_without_metadata(tmp_path):
    path = tmp_path / "plain.lmdb"
    env = lmdb.open(str(path), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"00000000", b"whatever")
    env.close()
    with pytest.raises(CorruptDatasetError, match="metadata"):
        LMDBDataset(path)


def test_truncated_lmdb_is_refused_before_reading(packed):
    data_file = packed / "data.mdb"
    os.truncate(data_file, data_file.stat().st_size // 2)
    with pytest.raises(CorruptDatasetError, match="truncated"):
        LMDBDataset(packed)
    with pytest.raises(CorruptDatasetError, match="truncated"):
        verify_lmdb(packed)


def _flip_byte_in_record(path, index):
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        value = bytearray(txn.get(b"%08d" % index))
        value[-5] ^= 0xFF
        txn.put(b"%08d" % index, bytes(value))
    env.close()


def test_flipped_byte_fails_the_checksum(packed):
    assert verify_lmdb(packed) == 30
    _flip_byte_in_record(packed, 7)
    data = LMDBDataset(packed)
    data[6]
    with pytest.raises(CorruptDatasetError, match="record 7: checksum"):
        data[7]
    with pytest.raises(CorruptDatasetError, match="record 7"):
        verify_lmdb(packed)


def test_map_grows_when_full(tmp_path, monkeypatch):
    """A source larger than the initial map still packs (the map is doubled and the batch redone)."""
    import evonas.data.lmdb as lmdb_module

    real_open = lmdb_module.lmdb.open

    def small_open(path, **kwargs):
        if "readonly" not in kwargs:
            kwargs["map_size"] = 64 * 1024
        return real_open(path, **kwargs)

    monkeypatch.setattr(lmdb_module.lmdb, "open", small_open)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (300, 16, 16, 3), dtype=np.uint8)
    out = tmp_path / "grown.lmdb"
    pack_lmdb(ArrayDataset(x, np.arange(300) % 3), out, progress=False)
    monkeypatch.undo()
    data = LMDBDataset(out)
    assert len(data) == 300 and np.array_equal(data[299][0].numpy().transpose(1, 2, 0), x[299])
