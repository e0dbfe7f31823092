"""Datasets, splits, augmentation and LMDB packing."""
from evonas.data.datasets import (
    ArrayDataset,
    DatasetInfo,
    ImageFolderDataset,
    dataset_family,
    dataset_info,
    dataset_names,
    get_dataset,
    load_npz,
)
from evonas.data.lmdb import LMDBDataset, pack_lmdb, verify_lmdb
from evonas.data.splits import Subset, labels_of, split_indices
from evonas.data.transforms import Cutout, default_transforms

__all__ = [
    "ArrayDataset",
    "Cutout",
    "DatasetInfo",
    "ImageFolderDataset",
    "LMDBDataset",
    "Subset",
    "dataset_family",
    "dataset_info",
    "dataset_names",
    "default_transforms",
    "get_dataset",
    "labels_of",
    "load_npz",
    "pack_lmdb",
    "split_indices",
    "verify_lmdb",
]
