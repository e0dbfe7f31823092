"""Deployment: export a search's front or a trained network (genotype JSON, state dict, ``.pt2``, ONNX)."""
from evonas.imports import lazy_exports

_EXPORTS = {
    "export_run": "export",
    "to_onnx": "onnx",
    "onnx_session": "onnx",
    "onnx_latency": "onnx",
    "check_onnx": "onnx",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
