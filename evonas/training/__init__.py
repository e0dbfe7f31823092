"""Training: shared supernets, single-path one-shot steps, stand-alone networks, BN recalibration."""
from evonas.imports import lazy_exports

_EXPORTS = {
    "SharedSupernet": "shared_supernet",
    "StandaloneConfig": "standalone",
    "train_standalone": "standalone",
    "evaluate_checkpoint": "standalone",
    "train_supernet": "supernet_job",
    "recalibrate_bn": "bn",
    "train_one_epoch": "loops",
    "evaluate": "loops",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
