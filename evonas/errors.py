"""Exception types evonas raises on bad input.

Every error caused by what a user passed in (a path, a name, a genotype, a
config value, a checkpoint) derives from :class:`EvonasError`. The CLI prints
such errors as one line and exits non-zero; library users can catch the
specific subclass. Each subclass also derives from the closest builtin
(``ValueError``, ``FileNotFoundError``) so generic handlers keep working.
"""
from __future__ import annotations


class EvonasError(Exception):
    """Base class of every user-facing evonas error."""


class ConfigError(EvonasError, ValueError):
    """A configuration value or option is invalid (unknown key, bad range)."""


class DatasetError(EvonasError):
    """Base class of dataset errors."""


class UnknownDatasetError(DatasetError, ValueError):
    """A dataset name is neither a built-in name nor an existing path."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset path does not exist or lacks the files it must contain."""


class EmptyDatasetError(DatasetError, ValueError):
    """A dataset folder exists but holds no usable images."""


class CorruptDatasetError(DatasetError, ValueError):
    """A dataset file exists but cannot be read (truncated, wrong format, bad checksum)."""


class GenotypeError(EvonasError, ValueError):
    """An architecture description is malformed or violates the space's rules."""


class CheckpointError(EvonasError):
    """A checkpoint is missing, truncated, or belongs to another run / model."""


class StorageError(EvonasError, OSError):
    """A file could not be written (full disk, read-only folder, no permission); what was there is kept."""


class RunDirBusyError(EvonasError):
    """Another process holds the run directory's lock (two runs must not write one folder)."""


__all__ = ["CheckpointError", "ConfigError", "CorruptDatasetError", "DatasetError", "DatasetNotFoundError",
           "EmptyDatasetError", "EvonasError", "GenotypeError", "RunDirBusyError", "StorageError",
           "UnknownDatasetError"]
