"""Image datasets packed into LMDB (as RelativeNAS reads ImageNet).

Layout of an evonas LMDB (a directory holding ``data.mdb``):

* ``b"%08d" % i`` -> 12-byte header ``<qI`` (label, CRC-32 of label + image
  bytes) followed by the encoded image (PNG for array sources; the original
  file bytes for image folders, so JPEGs are not re-encoded);
* ``b"__labels__"`` -> all labels as little-endian ``int64`` (so splits need
  not touch the images);
* ``b"__meta__"`` -> JSON ``{"format": "evonas-lmdb", "version": 1, "count",
  "classes", "image_size", "channels", "encoding", "family", "source"}``,
  written last.

:func:`pack_lmdb` writes into a hidden ``.NAME.partial-PID`` folder and
renames it when complete, so a killed pack never leaves a database that
looks whole. Readers check the file is not shorter than the database claims
(a truncated LMDB would otherwise kill the reading process with SIGBUS) and
verify each record's checksum. :func:`verify_lmdb` scans every record in a
subprocess, so even a crash while reading is reported as an error.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Iterator

import lmdb
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from evonas.errors import CorruptDatasetError, DatasetNotFoundError, EvonasError

FORMAT = "evonas-lmdb"
VERSION = 1
META_KEY = b"__meta__"
LABELS_KEY = b"__labels__"
_HEADER = struct.Struct("<qI")
_COMMIT_EVERY = 1000  # records per write transaction


def record_key(index: int) -> bytes:
    """Key of the ``index``-th record."""
    return b"%08d" % index


def encode_record(label: int, image_bytes: bytes) -> bytes:
    """Header (label, checksum) + encoded image bytes."""
    label_bytes = struct.pack("<q", int(label))
    crc = zlib.crc32(image_bytes, zlib.crc32(label_bytes))
    return _HEADER.pack(int(label), crc) + image_bytes


def decode_record(value: bytes, *, where: str = "record") -> tuple[int, bytes]:
    """Split a stored value into ``(label, image_bytes)``, checking its checksum."""
    if len(value) < _HEADER.size:
        raise CorruptDatasetError(f"{where} is {len(value)} bytes, shorter than its header")
    label, crc = _HEADER.unpack_from(value)
    image_bytes = bytes(value[_HEADER.size:])
    if zlib.crc32(image_bytes, zlib.crc32(struct.pack("<q", label))) != crc:
        raise CorruptDatasetError(f"{where}: checksum mismatch (the stored bytes were altered)")
    return label, image_bytes


def _data_file(path: Path) -> tuple[Path, bool]:
    """Return (file holding the data, whether LMDB's subdir mode applies)."""
    if path.is_dir():
        data = path / "data.mdb"
        if not data.is_file():
            raise CorruptDatasetError(f"{path} is not an LMDB database (no data.mdb inside)")
        return data, True
    return path, False


def open_lmdb(path: str | os.PathLike) -> lmdb.Environment:
    """Open an evonas LMDB read-only without locking, after sanity checks.

    Raises :class:`~evonas.errors.DatasetNotFoundError` for a missing path and
    :class:`~evonas.errors.CorruptDatasetError` for a file that is not LMDB
    or is shorter than the database it describes.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"no such LMDB: {path}")
    data_file, subdir = _data_file(path)
    try:
        env = lmdb.open(str(path), subdir=subdir, readonly=True, lock=False, readahead=False,
                        meminit=False, max_readers=512)
    except lmdb.Error as exc:
        raise CorruptDatasetError(f"{path} is not a readable LMDB database ({exc})") from exc
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    actual = data_file.stat().st_size
    if actual < needed:
        env.close()
        raise CorruptDatasetError(
            f"{path} is truncated: {data_file.name} has {actual} bytes but the database needs {needed}"
        )
    return env


def read_header(env: lmdb.Environment, path: Path) -> tuple[dict, np.ndarray]:
    """Read and check the metadata record and the label array."""
    with env.begin() as txn:
        raw_meta = txn.get(META_KEY)
        raw_labels = txn.get(LABELS_KEY)
    if raw_meta is None:
        raise CorruptDatasetError(
            f"{path} has no evonas metadata record: it was not written by 'evonas data pack' or the pack did not finish"
        )
    try:
        meta = json.loads(bytes(raw_meta))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDatasetError(f"{path}: metadata record is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptDatasetError(f"{path}: metadata record is not in the {FORMAT} format")
    if meta.get("version", 0) > VERSION:
        raise CorruptDatasetError(f"{path}: written by a newer evonas ({FORMAT} v{meta['version']} > v{VERSION})")
    for key in ("count", "classes", "channels"):
        if key not in meta:
            raise CorruptDatasetError(f"{path}: metadata record lacks {key!r}")
    if raw_labels is None or len(raw_labels) != 8 * meta["count"]:
        raise CorruptDatasetError(f"{path}: label array missing or of the wrong length")
    labels = np.frombuffer(bytes(raw_labels), dtype="<i8").astype(np.int64)
    return meta, labels


class LMDBDataset(Dataset):
    """Read an evonas LMDB; safe with DataLoader workers.

    The environment is opened lazily in each process that reads (read-only,
    no lock file), so the dataset pickles cheaply into workers. Items are
    ``(uint8 tensor (C, H, W), int label)`` before ``transform``.
    """

    def __init__(self, path: str | os.PathLike, transform=None) -> None:
        from evonas.data.datasets import decode_image_bytes  # noqa: F401  (fail early if missing)

        self.path = Path(path)
        env = open_lmdb(self.path)
        try:
            self.meta, self.targets = read_header(env, self.path)
        finally:
            env.close()
        self.classes = tuple(self.meta["classes"])
        self.family = self.meta.get("family", "imagenet")
        self.transform = transform
        self._env: lmdb.Environment | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return int(self.meta["count"])

    def _environment(self) -> lmdb.Environment:
        if self._env is not None and self._pid != os.getpid():
            # A forked DataLoader worker inherits the parent's open environment. LMDB must not use it
            # after fork, and py-lmdb refuses to open the same file twice in one process ("already
            # open"), so close the inherited copy (this unmaps only the child's view) and reopen.
            self._env.close()
            self._env = None
        if self._env is None:
            self._env = open_lmdb(self.path)
            self._pid = os.getpid()
        return self._env

    def read_raw(self, index: int) -> tuple[int, bytes]:
        """The stored ``(label, encoded image bytes)`` of record ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} records")
        with self._environment().begin() as txn:
            value = txn.get(record_key(index))
        if value is None:
            raise CorruptDatasetError(f"{self.path}: record {index} is missing")
        return decode_record(value, where=f"{self.path} record {index}")

    def __getitem__(self, index: int):
        from evonas.data.datasets import decode_image_bytes

        label, image_bytes = self.read_raw(index)
        image = decode_image_bytes(image_bytes, channels=int(self.meta["channels"]),
                                   source=f"{self.path} record {index}")
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_env"], state["_pid"] = None, None
        return state

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


# --------------------------------------------------------------------------- packing


def _records_from_folder(dataset) -> Iterator[tuple[int, bytes, tuple[int, int]]]:
    from PIL import Image

    for path, label in dataset.samples:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                img.verify()
        except Exception as exc:  # PIL raises UnidentifiedImageError, SyntaxError, OSError... for bad files
            raise CorruptDatasetError(f"{path} is not a readable image ({type(exc).__name__}: {exc}); "
                                      "remove it or fix it, then pack again") from exc
        yield label, data, (height, width)


def _records_from_tensors(dataset) -> Iterator[tuple[int, bytes, tuple[int, int]]]:
    from evonas.data.datasets import encode_png

    for index in range(len(dataset)):
        image, label = dataset[index]
        if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or image.ndim != 3:
            raise EvonasError("pack_lmdb needs a dataset without transform (uint8 (C, H, W) images)")
        yield int(label), encode_png(image), tuple(image.shape[1:])


def pack_lmdb(source, out: str | os.PathLike, *, root: str | os.PathLike | None = None,
              overwrite: bool = False, progress: bool = True) -> dict:
    """Pack a dataset into an LMDB at ``out``; return its metadata.

    Args:
        source: a dataset name or path understood by
            :func:`~evonas.data.datasets.get_dataset`, or a dataset object
            yielding ``uint8 (C, H, W)`` images.
        out: the LMDB folder to create (conventionally ``NAME.lmdb``).
        root: the local folder for ``cifar10`` / ``cifar100`` / ``imagefolder``.
        overwrite: replace ``out`` if it is an existing evonas LMDB (anything
            else at ``out`` is never replaced). The old database is removed
            only after the new one is complete.
        progress: show a tqdm progress bar.
    """
    from evonas.data.datasets import ImageFolderDataset, get_dataset

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise EvonasError(f"{out} already exists; pass --overwrite to replace it")
        env = open_lmdb(out)  # refuses to replace anything that is not an evonas LMDB
        try:
            read_header(env, out)
        finally:
            env.close()
    dataset = get_dataset(source, root=root) if isinstance(source, (str, os.PathLike)) else source
    folder = isinstance(dataset, ImageFolderDataset)
    records = _records_from_folder(dataset) if folder else _records_from_tensors(dataset)
    channels = 3 if folder else int(dataset[0][0].shape[0])

    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_parts(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    env = lmdb.open(str(tmp), map_size=1 << 28, subdir=True, meminit=False)
    sizes: set[tuple[int, int]] = set()
    labels = np.empty(len(dataset), dtype="<i8")
    try:
        batch: list[tuple[bytes, bytes]] = []
        bar = tqdm(records, total=len(dataset), desc=f"pack {out.name}", unit="img", disable=not progress)
        for index, (label, data, size) in enumerate(bar):
            sizes.add(size)
            labels[index] = label
            batch.append((record_key(index), encode_record(label, data)))
            if len(batch) == _COMMIT_EVERY:
                _put_all(env, batch)
                batch = []
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "count": len(dataset),
            "classes": list(dataset.classes),
            "image_size": list(next(iter(sizes))) if len(sizes) == 1 else None,
            "channels": channels,
            "encoding": "file" if folder else "png",
            "family": getattr(dataset, "family", "imagenet"),
            "source": str(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__,
        }
        # The metadata goes in the last transaction: a database without it is incomplete.
        batch += [(LABELS_KEY, labels.tobytes()), (META_KEY, json.dumps(meta).encode())]
        _put_all(env, batch)
        env.sync(True)
    except BaseException:
        env.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    env.close()
    _replace_dir(tmp, out)
    return meta


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_abandoned_parts(out: str | os.PathLike) -> list[Path]:
    """Delete ``.NAME.partial-PID`` / ``.NAME.old-PID`` folders that killed packs of ``out`` left behind.

    Only folders whose process is no longer running on this machine are
    removed (a pack in progress keeps its folder). Returns what was removed.
    """
    out = Path(out)
    removed = []
    for candidate in out.parent.glob(f".{out.name}.*-*"):
        stage, _, pid = candidate.name[len(out.name) + 2:].rpartition("-")
        if stage in ("partial", "old") and pid.isdigit() and not _pid_alive(int(pid)) and candidate.is_dir():
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _put_all(env: lmdb.Environment, items: list[tuple[bytes, bytes]]) -> None:
    """Write ``items`` in one transaction, growing the map when it is full."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in items:
                    txn.put(key, value)
            return
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` is removed only afterwards."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- verification


def scan_lmdb(path: str | os.PathLike, *, decode: bool = False) -> int:
    """Read every record, checking checksums (and decoding if asked); return the count."""
    dataset = LMDBDataset(path)
    for index in range(len(dataset)):
        label, image_bytes = dataset.read_raw(index)
        if label != dataset.targets[index]:
            raise CorruptDatasetError(f"{path} record {index}: label {label} disagrees with the label array")
        if decode:
            dataset[index]
    dataset.close()
    return len(dataset)


def verify_lmdb(path: str | os.PathLike, *, decode: bool = False, timeout: float | None = None) -> int:
    """Scan an LMDB in a subprocess; return its record count or raise.

    A damaged memory-mapped file can kill the reading process with SIGBUS,
    which Python cannot catch; running the scan in a child turns that into a
    :class:`~evonas.errors.CorruptDatasetError`.
    """
    code = (
        "import sys\n"
        "from evonas.errors import EvonasError\n"
        "from evonas.data.lmdb import scan_lmdb\n"
        "try:\n"
        "    print(scan_lmdb(sys.argv[1], decode=sys.argv[2] == '1'))\n"
        "except EvonasError as exc:\n"
        "    print(exc, file=sys.stderr); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path), "1" if decode else "0"],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode == 0:
        return int(proc.stdout.strip().splitlines()[-1])
    if proc.returncode == 3:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown error"
        if "no such LMDB" in message:
            raise DatasetNotFoundError(message)
        raise CorruptDatasetError(message)
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise CorruptDatasetError(f"{path}: reading it crashed the reader with {name}: the file is damaged")
    tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
    raise CorruptDatasetError(f"{path}: verification failed ({tail})")


__all__ = ["FORMAT", "LABELS_KEY", "LMDBDataset", "META_KEY", "VERSION", "decode_record", "encode_record", "open_lmdb",
           "pack_lmdb", "read_header", "record_key", "remove_abandoned_parts", "scan_lmdb", "verify_lmdb"]
