"""Datasets: the embedded defaults, local torchvision folders, image folders, LMDB.

Every dataset here yields ``(image, label)`` with ``image`` a ``uint8``
tensor of shape ``(C, H, W)`` (before any transform) and ``label`` an ``int``,
and exposes ``targets`` (labels as an array) and ``classes`` (class names).
Nothing is ever downloaded: a missing folder raises
:class:`~evonas.errors.DatasetNotFoundError` naming the path and what it must
contain.

Names understood by :func:`get_dataset` and ``evonas data info``:

========================  ====================================================
``cifar10-mini``          3,805 real CIFAR-10 training images shipped inside
                          evonas (no test split: carve one with
                          :func:`~evonas.data.splits.split_indices`)
``mnist-test``            the 10,000 official MNIST test images, shipped
``cifar10`` / ``cifar100``  a local torchvision-format folder (``root=``)
``imagefolder``           ``root/<class>/<image>`` folders (ImageNet style)
a path                    an ``.npz`` (arrays ``x``, ``y``; see :func:`load_npz`
                          for the image layouts), an evonas LMDB,
                          or an image folder
========================  ====================================================
"""
from __future__ import annotations

import io
import logging
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from evonas.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    EmptyDatasetError,
    UnknownDatasetError,
)

log = logging.getLogger(__name__)

EMBEDDED_DIR = Path(__file__).with_name("_embedded")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MNIST_CLASSES = tuple(str(d) for d in range(10))

#: Built-in names: (file inside the package, class names, normalisation family).
EMBEDDED = {
    "cifar10-mini": ("cifar10-mini-train.npz", CIFAR10_CLASSES, "cifar10"),
    "mnist-test": ("mnist-test.npz", MNIST_CLASSES, "mnist"),
}
ROOT_DATASETS = ("cifar10", "cifar100", "imagefolder")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp", ".tif", ".tiff")


def dataset_names() -> list[str]:
    """All dataset names :func:`get_dataset` accepts (besides paths)."""
    return [*EMBEDDED, *ROOT_DATASETS]


@dataclass(frozen=True)
class DatasetInfo:
    """What ``evonas data info`` prints about a dataset."""

    name: str
    format: str
    count: int
    classes: tuple[str, ...]
    image_size: tuple[int, int] | None  # (H, W); None when images differ in size
    channels: int
    family: str  # normalisation family: cifar10, cifar100, mnist or imagenet
    path: str | None = None
    #: Smallest / largest (H, W), height and width taken separately; None when unknown.
    min_image_size: tuple[int, int] | None = None
    max_image_size: tuple[int, int] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class ArrayDataset(Dataset):
    """Images held in memory as one ``uint8`` array.

    Args:
        images: ``(N, H, W, C)`` or ``(N, H, W)`` uint8 array (HWC, as numpy
            image files store them).
        labels: ``(N,)`` integer class labels.
        classes: class names, indexed by label.
        transform: applied to the ``uint8 (C, H, W)`` tensor of each sample.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes: Sequence[str] | None = None,
                 transform=None, family: str = "cifar10") -> None:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.dtype != np.uint8:
            raise CorruptDatasetError(
                f"images must be a uint8 array of shape (N, H, W[, C]), got {images.dtype} {images.shape}"
            )
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) != len(images):
            raise CorruptDatasetError(f"{len(images)} images but {len(labels)} labels")
        # Stored channel-first once, so __getitem__ is a view, not a copy per sample.
        self._images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.targets = labels
        n_classes = int(labels.max()) + 1 if len(labels) else 0
        self.classes = tuple(classes) if classes is not None else tuple(str(i) for i in range(n_classes))
        self.transform = transform
        self.family = family

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        image = self._images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of every image."""
        return tuple(self._images.shape[1:])


def load_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read arrays ``x`` (uint8 images) and ``y`` (labels) from an ``.npz`` file.

    ``x`` is returned as ``(N, H, W, C)`` or ``(N, H, W)`` (greyscale). It
    may be stored that way (the documented layout, C = 1 or 3) or as
    ``(N, C, H, W)`` with C = 1 or 3 and a last dimension that is neither
    (then it is transposed, logged at INFO). Any other shape raises
    CorruptDatasetError naming the file and the shape.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"x", "y"} - set(archive.files)
            if missing:
                raise CorruptDatasetError(
                    f"{path} lacks array(s) {sorted(missing)}: an evonas .npz holds x (uint8 images) and y (labels)"
                )
            x, y = archive["x"], archive["y"]
    except CorruptDatasetError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as exc:
        raise CorruptDatasetError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    return _channels_last(x, path), y


def _channels_last(x: np.ndarray, path: Path) -> np.ndarray:
    """``x`` as ``(N, H, W, C)`` / ``(N, H, W)``, transposing ``(N, C, H, W)``; see :func:`load_npz`."""
    if x.ndim == 3 or (x.ndim == 4 and x.shape[3] in (1, 3)):
        return x
    if x.ndim == 4 and x.shape[1] in (1, 3):
        log.info("%s: images stored as (N, C, H, W) %s; transposed to (N, H, W, C)", path, x.shape)
        return x.transpose(0, 2, 3, 1)
    raise CorruptDatasetError(
        f"{path}: images x have shape {tuple(x.shape)}; expected (N, H, W, C) or (N, C, H, W) "
        f"with C = 1 or 3, or (N, H, W) greyscale"
    )


def _embedded(name: str, transform) -> ArrayDataset:
    filename, classes, family = EMBEDDED[name]
    x, y = load_npz(EMBEDDED_DIR / filename)
    return ArrayDataset(x, y, classes, transform=transform, family=family)


def _torchvision_cifar(name: str, root: Path, train: bool, transform) -> ArrayDataset:
    from torchvision import datasets as tvd

    cls, folder, family = {
        "cifar10": (tvd.CIFAR10, "cifar-10-batches-py", "cifar10"),
        "cifar100": (tvd.CIFAR100, "cifar-100-python", "cifar100"),
    }[name]
    if not root.is_dir():
        raise DatasetNotFoundError(f"{name}: folder {root} does not exist; pass the folder that holds {folder}/")
    try:
        data = cls(str(root), train=train, download=False)
    except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted"
        raise DatasetNotFoundError(
            f"{name}: {root} does not hold a complete {folder}/ folder in torchvision's format "
            f"(evonas never downloads; fetch it yourself and pass its parent folder with --root)"
        ) from exc
    return ArrayDataset(np.asarray(data.data), np.asarray(data.targets), data.classes,
                        transform=transform, family=family)


class ImageFolderDataset(Dataset):
    """``root/<class name>/<image file>`` folders, classes sorted by name.

    Images are decoded to ``uint8 (C, H, W)`` RGB tensors with Pillow.
    """

    def __init__(self, root: str | os.PathLike, transform=None, family: str = "imagenet") -> None:
        root = Path(root)
        if not root.is_dir():
            raise DatasetNotFoundError(f"image folder {root} does not exist")
        class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not class_dirs:
            raise EmptyDatasetError(f"image folder {root} has no class sub-folders (expected {root}/<class>/<image>)")
        samples: list[tuple[str, int]] = []
        for label, class_dir in enumerate(class_dirs):
            for dirpath, _, files in sorted(os.walk(class_dir, followlinks=True)):
                for name in sorted(files):
                    if name.lower().endswith(IMAGE_EXTENSIONS):
                        samples.append((os.path.join(dirpath, name), label))
        if not samples:
            raise EmptyDatasetError(
                f"image folder {root} holds no images with extensions {', '.join(IMAGE_EXTENSIONS)}"
            )
        self.root = root
        self.classes = tuple(p.name for p in class_dirs)
        self.samples = samples
        self.targets = np.asarray([label for _, label in samples], dtype=np.int64)
        self.transform = transform
        self.family = family

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = decode_image_file(path)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


def decode_image_bytes(data: bytes, *, channels: int = 3, source: str = "image") -> torch.Tensor:
    """Decode PNG / JPEG / ... bytes to a ``uint8 (channels, H, W)`` tensor (with Pillow)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            array = np.asarray(img.convert("L" if channels == 1 else "RGB"))
    except UnidentifiedImageError as exc:
        raise CorruptDatasetError(f"cannot decode {source}: not an image format Pillow recognises") from exc
    except (OSError, ValueError) as exc:
        raise CorruptDatasetError(f"cannot decode {source}: {exc}") from exc
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def encode_png(image: torch.Tensor) -> bytes:
    """Encode a ``uint8 (C, H, W)`` tensor (C = 1 or 3) as lossless PNG bytes."""
    from PIL import Image

    array = image.numpy().transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def decode_image_file(path: str | os.PathLike, *, channels: int = 3) -> torch.Tensor:
    """Read and decode one image file to ``uint8 (channels, H, W)``."""
    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"image file {path} is gone")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CorruptDatasetError(f"cannot read image file {path}: {exc.strerror or exc}") from exc
    return decode_image_bytes(data, channels=channels, source=str(path))


def _looks_like_lmdb(path: Path) -> bool:
    return path.suffix == ".lmdb" or (path.is_dir() and (path / "data.mdb").exists())


def get_dataset(name_or_path: str | os.PathLike, *, root: str | os.PathLike | None = None,
                train: bool = True, transform=None) -> Dataset:
    """Open a dataset by name or path (see the module docstring for names).

    Args:
        name_or_path: a built-in name or a path to an ``.npz``, LMDB or image folder.
        root: the local folder for ``cifar10`` / ``cifar100`` / ``imagefolder``.
        train: for ``cifar10`` / ``cifar100``, the training (True) or test split.
        transform: applied to each ``uint8 (C, H, W)`` image.
    """
    name = str(name_or_path)
    if name in EMBEDDED:
        return _embedded(name, transform)
    if name in ("cifar10", "cifar100"):
        if root is None:
            raise DatasetNotFoundError(f"{name} needs --root: the local folder that holds its torchvision files")
        return _torchvision_cifar(name, Path(root), train, transform)
    if name == "imagefolder":
        if root is None:
            raise DatasetNotFoundError("imagefolder needs --root: a folder of <class>/<image> sub-folders")
        return ImageFolderDataset(root, transform=transform)
    path = Path(name)
    if path.suffix == ".npz":
        x, y = load_npz(path)
        return ArrayDataset(x, y, transform=transform)
    if _looks_like_lmdb(path):
        from evonas.data.lmdb import LMDBDataset

        return LMDBDataset(path, transform=transform)
    if path.is_dir():
        return ImageFolderDataset(path, transform=transform)
    if path.exists():
        raise CorruptDatasetError(
            f"{path} is not a dataset evonas can read (expected an .npz, an LMDB made by 'evonas data pack', "
            f"or an image folder)"
        )
    looks_like_path = os.sep in name or name.startswith(".") or "." in Path(name).name
    if looks_like_path:
        raise DatasetNotFoundError(f"no such file or folder: {path}")
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; known names: {', '.join(dataset_names())}, or a path"
    )


def dataset_family(dataset: Dataset) -> str:
    """Normalisation family of a dataset (``cifar10`` when unknown)."""
    return getattr(dataset, "family", "cifar10")


def dataset_info(name_or_path: str | os.PathLike, *, root: str | os.PathLike | None = None) -> DatasetInfo:
    """Count, classes and image size of a dataset, as ``evonas data info`` prints.

    For an image folder every file's header is read (not its pixels):
    ``image_size`` is None when the sizes differ, and files with an image
    extension that are not images raise CorruptDatasetError naming them.
    """
    dataset = get_dataset(name_or_path, root=root)
    name = str(name_or_path)
    if isinstance(dataset, ArrayDataset):
        channels, height, width = dataset.image_shape
        fmt = "embedded npz" if name in EMBEDDED else ("torchvision" if name in ROOT_DATASETS else "npz")
        return DatasetInfo(name, fmt, len(dataset), dataset.classes, (height, width), channels,
                           dataset.family, str(root) if root else None, (height, width), (height, width))
    if isinstance(dataset, ImageFolderDataset):
        sizes = _image_folder_sizes(dataset)
        smallest = (int(sizes[:, 0].min()), int(sizes[:, 1].min()))
        largest = (int(sizes[:, 0].max()), int(sizes[:, 1].max()))
        # Images are decoded to RGB whatever their mode, so 3 channels.
        return DatasetInfo(name, "image folder", len(dataset), dataset.classes,
                           smallest if smallest == largest else None, 3, dataset.family, str(dataset.root),
                           smallest, largest)
    from evonas.data.lmdb import LMDBDataset

    assert isinstance(dataset, LMDBDataset)
    meta = dataset.meta
    size = tuple(meta["image_size"]) if meta.get("image_size") else None
    return DatasetInfo(name, "lmdb", len(dataset), tuple(meta["classes"]), size, int(meta["channels"]),
                       meta.get("family", "imagenet"), str(dataset.path), size, size)


def _image_folder_sizes(dataset: ImageFolderDataset) -> np.ndarray:
    """``(N, 2)`` (H, W) of every image, from the file headers; CorruptDatasetError for non-images."""
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    sizes, bad = [], []
    paths = (path for path, _ in dataset.samples)
    for path in tqdm(paths, total=len(dataset), desc=f"reading {dataset.root.name} headers", unit="img",
                     leave=False, disable=len(dataset) < 1000):
        try:
            with Image.open(path) as img:
                width, height = img.size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            bad.append(os.path.relpath(path, dataset.root))
            continue
        sizes.append((height, width))
    if bad:
        shown = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
        raise CorruptDatasetError(
            f"{len(bad)} of {len(dataset)} files in image folder {dataset.root} are not readable images: {shown}"
        )
    return np.asarray(sizes, dtype=np.int64).reshape(-1, 2)


__all__ = ["ArrayDataset", "CIFAR10_CLASSES", "DatasetInfo", "EMBEDDED", "EMBEDDED_DIR", "IMAGE_EXTENSIONS",
           "ImageFolderDataset", "MNIST_CLASSES", "ROOT_DATASETS", "dataset_family", "dataset_info", "dataset_names",
           "decode_image_bytes", "decode_image_file", "encode_png", "get_dataset", "load_npz"]
