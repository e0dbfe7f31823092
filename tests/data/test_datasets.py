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

    import torchvision.datasets as tvd
    import torchvision.datasets.cifar as tv_cifar

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


def test_npz_channel_first_images_are_transposed(tmp_path, caplog):
    import logging

    x = np.random.default_rng(0).integers(0, 255, (6, 3, 8, 10), dtype=np.uint8)  # (N, C, H, W)
    np.savez(tmp_path / "chw.npz", x=x, y=np.arange(6))
    with caplog.at_level(logging.INFO, logger="evonas.data.datasets"):
        data = get_dataset(tmp_path / "chw.npz")
    assert data.image_shape == (3, 8, 10)
    assert torch.equal(data[4][0], torch.from_numpy(x[4]))
    assert "chw.npz" in caplog.text and "transposed" in caplog.text
    info = dataset_info(tmp_path / "chw.npz")
    assert (info.image_size, info.channels) == ((8, 10), 3)
    grey = np.zeros((2, 1, 5, 7), dtype=np.uint8)
    np.savez(tmp_path / "grey.npz", x=grey, y=np.zeros(2))
    assert get_dataset(tmp_path / "grey.npz").image_shape == (1, 5, 7)


def test_npz_channel_last_and_greyscale_layouts_are_kept(tmp_path):
    x = np.random.default_rng(1).integers(0, 255, (4, 3, 32, 3), dtype=np.uint8)  # HWC wins when C is last
    np.savez(tmp_path / "hwc.npz", x=x, y=np.arange(4))
    assert get_dataset(tmp_path / "hwc.npz").image_shape == (3, 3, 32)
    grey = np.random.default_rng(2).integers(0, 255, (4, 9, 7), dtype=np.uint8)  # (N, H, W)
    np.savez(tmp_path / "nhw.npz", x=grey, y=np.arange(4))
    data = get_dataset(tmp_path / "nhw.npz")
    assert data.image_shape == (1, 9, 7) and torch.equal(data[1][0][0], torch.from_numpy(grey[1]))


@pytest.mark.parametrize("shape", [(4, 32, 32, 4), (4, 5, 32, 32), (4, 32), (4, 2, 8, 8, 3)])
def test_npz_with_unknown_image_layout_names_file_and_shape(tmp_path, shape):
    np.savez(tmp_path / "odd.npz", x=np.zeros(shape, dtype=np.uint8), y=np.zeros(4))
    with pytest.raises(CorruptDatasetError) as info:
        get_dataset(tmp_path / "odd.npz")
    message = str(info.value)
    assert "odd.npz" in message and str(shape) in message
    assert "(N, H, W, C)" in message and "(N, C, H, W)" in message and "\n" not in message


def _write_png(path, height, width, channels=3):
    from evonas.data.datasets import encode_png

    path.parent.mkdir(parents=True, exist_ok=True)
    image = torch.randint(0, 255, (channels, height, width), dtype=torch.uint8)
    path.write_bytes(encode_png(image))


def test_info_of_image_folder_with_mixed_sizes_reads_every_header(tmp_path, monkeypatch, capsys):
    import evonas.data.datasets as datasets
    from evonas.cli import main

    _write_png(tmp_path / "a" / "big.png", 32, 32)
    _write_png(tmp_path / "a" / "wide.png", 16, 40)
    _write_png(tmp_path / "b" / "grey.png", 20, 24, channels=1)

    def no_decoding(*args, **kwargs):  # pragma: no cover - reached only if info decoded pixels
        raise AssertionError("dataset_info decoded an image instead of reading its header")

    monkeypatch.setattr(datasets, "decode_image_file", no_decoding)
    info = dataset_info(tmp_path)
    assert info.format == "image folder" and info.count == 3 and info.channels == 3
    assert info.image_size is None
    assert (info.min_image_size, info.max_image_size) == ((16, 24), (32, 40))
    assert main(["data", "info", str(tmp_path)]) == 0
    assert "varies" in capsys.readouterr().out


def test_info_of_image_folder_of_one_size_reports_it(image_folder):
    info = dataset_info(image_folder[0])
    assert info.image_size == info.min_image_size == info.max_image_size == (32, 32)
    assert dataset_info("cifar10-mini").max_image_size == (32, 32)


def test_info_names_files_with_image_extensions_that_are_not_images(tmp_path):
    _write_png(tmp_path / "cat" / "ok.png", 8, 8)
    (tmp_path / "cat" / "x.png").write_text("just some text")
    (tmp_path / "dog" / "sub").mkdir(parents=True)
    (tmp_path / "dog" / "sub" / "y.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    _write_png(tmp_path / "dog" / "z.png", 8, 8)
    with pytest.raises(CorruptDatasetError) as info:
        dataset_info(tmp_path)
    message = str(info.value)
    assert "2 of 4" in message and "x.png" in message and "y.jpg" in message and "\n" not in message


def test_reading_a_text_file_named_png_names_it(tmp_path):
    from evonas.data.datasets import decode_image_bytes

    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "x.png").write_text("just some text")
    with pytest.raises(CorruptDatasetError, match=r"x\.png") as info:
        get_dataset(tmp_path)[0]
    assert "not an image" in str(info.value) and "BytesIO" not in str(info.value)
    with pytest.raises(CorruptDatasetError, match="record 7"):
        decode_image_bytes(b"just some text", source="record 7")


def test_unreadable_image_file_is_named(tmp_path, monkeypatch):
    import evonas.data.datasets as datasets

    _write_png(tmp_path / "cat" / "locked.png", 8, 8)
    data = get_dataset(tmp_path)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(datasets, "open", denied, raising=False)  # shadows the builtin in that module
    with pytest.raises(CorruptDatasetError, match=r"locked\.png.*Permission denied"):
        data[0]
