"""Run directories, crash-safe writes, checkpoints, devices, torchrun process groups and executors."""
from evonas.imports import lazy_exports

_EXPORTS = {
    "RunDir": "run_dir",
    "RunLock": "lock",
    "atomic_write_text": "atomic",
    "atomic_write_bytes": "atomic",
    "atomic_write_csv": "atomic",
    "atomic_torch_save": "atomic",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "resolve_device": "device",
    "Executor": "executors",
    "LocalExecutor": "executors",
    "ProcessExecutor": "executors",
    "RayExecutor": "ray_executor",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
