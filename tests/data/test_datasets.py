from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.data import dataset_info, get_dataset
from evonas.data.datasets import ArrayDataset
from evonas.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    EmptyDatasetError,
    UnknownDatasetError,
)


def test_cifar_mini_shapes_dtypes_and_labels(cifar_mini):
    assert len(cifar_mini) == 3805
    image, label = cifar_mini[0]
    assert image.dtype == torch.uint8 and image.shape == (3, 32, 32)
    assert isinstance(label, int)
    assert set(np.unique(cifar_mini.targets)) == set(range(10))
    assert cifar_mini.classes[0] == "airplane" and len(cifar_mini.classes) == 10


def test_cifar_mini_matches_shared_file(cifar_mini, shared_data):
    path = shared_data / "cifar10-mini-train.npz"
    with np.load(path) as raw:
        assert np.array_equal(raw["x"][7].transpose(2, 0, 1), cifar_mini[7][0].numpy())
        assert np.array_equal(raw["y"], cifar_mini.targets)


def test_mnist_is_single_channel():
    data = get_dataset("mnist-test")
    image, label = data[3]
    assert image.shape == (1, 28, 28) and 0 <= label <= 9 and len(data) == 10000


def test_transform_is_applied(cifar_mini):
    from evonas.data import default_transforms

    train_tf, eval_tf = default_transforms("cifar10")
    data = get_dataset("cifar10-mini", transform=eval_tf)
    image, _ = data[0]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert -3 < float(image.mean()) < 3


def test_info_of_builtin_and_folder(image_folder):
    info = dataset_info("cifar10-mini")
    assert (info.count, info.image_size, info.channels) == (3805, (32, 32), 3)
    root, images, labels = image_folder
    info = dataset_info(root)
    assert info.format == "image folder" and info.count == 12
    assert info.classes == ("airplane", "automobile", "bird") and info.image_size == (32, 32)


def test_image_folder_returns_identical_pixels(image_folder):
    root, images, labels = image_folder
    data = get_dataset(root)
    for i in range(len(data)):
        assert torch.equal(data[i][0], images[i]) and data[i][1] == labels[i]
    assert np.array_equal(data.targets, labels)
    assert get_dataset("imagefolder", root=root).classes == data.classes


def test_npz_path(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, (5, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(5))
    data = get_dataset(tmp_path / "d.npz")
    assert len(data) == 5 and torch.equal(data[2][0], torch.from_numpy(x[2]).permute(2, 0, 1))


@pytest.mark.parametrize(
    "name, error",
    [("no-such-dataset", UnknownDatasetError), ("./missing/folder", DatasetNotFoundError),
     ("missing.npz", DatasetNotFoundError)],
)
def test_bad_names_and_paths(name, error):
    with pytest.raises(error):
        get_dataset(name)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(UnknownDatasetError, match="cifar10-mini"):
        get_dataset("cifar11")


def test_cifar10_without_root_or_with_wrong_root(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="--root"):
        get_dataset("cifar10")
    with pytest.raises(DatasetNotFoundError, match="cifar-10-batches-py"):
        get_dataset("cifar10", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        get_dataset("cifar100", root=tmp_path / "nope")


def test_cifar10_never_downloads(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tvu

    def fail(*args, **kwargs):  # pragma: no cover - reached only if evonas tried to download
        raise AssertionError("evonas attempted a download")

    monkeypatch.setattr(tvu, "download_url", fail)
    monkeypatch.setattr(tvu, "download_and_extract_archive", fail)
    with pytest.raises(DatasetNotFoundError):
        get_dataset("cifar10", root=tmp_path)


def test_cifar10_from_torchvision_folder(tmp_path, monkeypatch):
    """A minimal folder in torchvision's pickled-batch format loads with the right pixels."""
    import pickle

    import torchvision.datasets.cifar as tv_cifar

    import torchvision.datasets as tvd

    folder = tmp_path / tvd.CIFAR10.base_folder
    folder.mkdir()
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (2, 3 * 32 * 32), dtype=np.uint8)
    for name, _ in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list:
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": pixels, "labels": [3, 7]}, handle)
    with open(folder / tvd.CIFAR10.meta["filename"], "wb") as handle:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, handle)
    # torchvision checks md5 sums of the official files; accept this synthetic copy.
    monkeypatch.setattr(tvd.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *args, **kwargs: True)
    data = get_dataset("cifar10", root=tmp_path, train=True)
    assert len(data) == 10 and data.targets[:2].tolist() == [3, 7]
    assert data.classes[7] == "c7"
    assert torch.equal(data[0][0], torch.from_numpy(pixels[0].reshape(3, 32, 32)))


def test_empty_image_folders(tmp_path):
    with pytest.raises(EmptyDatasetError, match="no class sub-folders"):
        get_dataset(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(EmptyDatasetError, match="no images"):
        get_dataset(tmp_path)


def test_truncated_and_wrong_npz(tmp_path):
    x = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "good.npz", x=x, y=np.zeros(4))
    blob = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CorruptDatasetError, match="cut.npz"):
        get_dataset(tmp_path / "cut.npz")
    np.savez(tmp_path / "nolabels.npz", x=x)
    with pytest.raises(CorruptDatasetError, match=r"\['y'\]"):
        get_dataset(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "mismatch.npz", x=x, y=np.zeros(3))
    with pytest.raises(CorruptDatasetError, match="4 images but 3 labels"):
        get_dataset(tmp_path / "mismatch.npz")


def test_array_dataset_rejects_float_images():
    with pytest.raises(CorruptDatasetError, match="uint8"):
        ArrayDataset(np.zeros((2, 4, 4, 3), dtype=np.float32), np.zeros(2))


def test_corrupt_image_file_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    data = get_dataset(tmp_path)
    with pytest.raises(CorruptDatasetError, match="broken.png"):
        data[0]
