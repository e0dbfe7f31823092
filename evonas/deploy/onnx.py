"""Networks as ONNX: export with ``torch.onnx``, run and time with onnxruntime.

* :func:`to_onnx` exports a network's eval-mode forward pass (logits only:
  a DARTS network's auxiliary output is dropped) with a dynamic batch size,
  and returns the ONNX file's bytes.
* :func:`onnx_session` opens those bytes (or a file) in onnxruntime.
* :func:`check_onnx` runs the ONNX model and the PyTorch module on the same
  images and returns the largest absolute difference of their logits.
* :func:`onnx_latency` is the median milliseconds of one onnxruntime run at
  a given input shape: the ``onnx_latency`` objective of the cost evaluator,
  so a hardware-aware search can target the runtime a model is deployed
  with.

The ``onnx``, ``onnxscript`` and ``onnxruntime`` packages are optional
(``pip install "evonas[onnx]"``); they are imported on first use.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from evonas.errors import ConfigError
from evonas.imports import optional_import

#: exporters of :func:`to_onnx`: torch.export-based (torch's default) and the older TorchScript tracer
EXPORTERS = ("dynamo", "torchscript")


class Logits(nn.Module):
    """``module(x)``'s logits: the first element when it returns a tuple (DARTS' ``(logits, aux)``)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.module(images)
        return out[0] if isinstance(out, (tuple, list)) else out


@contextlib.contextmanager
def _quiet_exporters():
    """The exporters' INFO logs (hundreds of lines per network) and deprecation warnings silenced."""
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx", "torch.export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _example(input_shape: Sequence[int]) -> torch.Tensor:
    """Zeros of ``input_shape`` with a batch of at least 2 (torch.export fixes a batch of 1 as a constant)."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ConfigError(f"input_shape must be (N, C, H, W) with positive sizes, got {tuple(input_shape)}")
    return torch.zeros((max(shape[0], 2),) + shape[1:])


def to_onnx(model: nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32), *, exporter: str = "dynamo",
            opset: int | None = None) -> bytes:
    """The ONNX file (bytes) of ``model``'s eval-mode forward pass at ``input_shape`` (N, C, H, W).

    The input is named ``images`` and the output ``logits`` (N, classes); the
    batch size is dynamic, the image size fixed. ``exporter``: ``"dynamo"``
    (``torch.export``, torch's default) or ``"torchscript"`` (the older
    tracer: 3-24x quicker to export, deprecated by torch). The model's
    training flags are restored afterwards; it is exported on the CPU.
    """
    if exporter not in EXPORTERS:
        raise ConfigError(f"exporter must be one of {', '.join(EXPORTERS)}, got {exporter!r}")
    optional_import("onnx", extra="onnx", purpose="ONNX export and onnxruntime timing")
    wrapped = Logits(model)
    modes = [(m, m.training) for m in wrapped.modules()]
    wrapped.eval()
    example = _example(input_shape)
    try:
        with tempfile.TemporaryDirectory() as folder, _quiet_exporters():
            path = os.path.join(folder, "model.onnx")
            if exporter == "dynamo":
                optional_import("onnxscript", extra="onnx", purpose="ONNX export and onnxruntime timing")
                batch = torch.export.Dim("batch", min=1, max=4096)
                program = torch.onnx.export(wrapped, (example,), input_names=["images"], output_names=["logits"],
                                            dynamic_shapes={"images": {0: batch}}, dynamo=True, opset_version=opset,
                                            verbose=False)
                program.save(path)
            else:
                torch.onnx.export(wrapped, (example,), path, input_names=["images"], output_names=["logits"],
                                  dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
                                  opset_version=opset)
            return Path(path).read_bytes()
    finally:
        for module, training in modes:
            module.training = training


def check_onnx_runtime(device: str = "cpu") -> None:
    """ConfigError unless onnx, onnxscript and onnxruntime are installed and onnxruntime runs on ``device``."""
    for package in ("onnx", "onnxruntime"):
        optional_import(package, extra="onnx", purpose="ONNX export and onnxruntime timing")
    if device.startswith("cuda"):
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError("this onnxruntime has no CUDA provider: pip install onnxruntime-gpu, or use onnx "
                              "device 'cpu'")
    elif device != "cpu":
        raise ConfigError(f"onnxruntime runs on 'cpu' or 'cuda', got {device!r}")


def onnx_session(model: bytes | str | os.PathLike, *, threads: int | None = None, device: str = "cpu"):
    """An onnxruntime ``InferenceSession`` of an ONNX model (bytes or a file).

    ``threads``: intra-op threads (None: torch's thread count, so both
    runtimes are timed alike). ``device="cuda"`` uses onnxruntime's CUDA
    provider when it has one (else ConfigError).
    """
    check_onnx_runtime(device)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.log_severity_level = 3
    providers = ["CUDAExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, sess_options=options, providers=providers)
    if session.get_providers()[0] != providers[0]:  # no silent fall-back to another device
        raise ConfigError(f"onnxruntime could not start {providers[0]} (it offers {session.get_providers()})")
    return session


def check_onnx(session, model: nn.Module, images: torch.Tensor) -> float:
    """Largest absolute difference between the ONNX model's logits and ``model``'s (eval mode) on ``images``."""
    wrapped = Logits(model)
    modes = [(m, m.training) for m in wrapped.modules()]
    wrapped.eval()
    try:
        with torch.no_grad():
            expected = wrapped(images).float().cpu().numpy()
    finally:
        for module, training in modes:
            module.training = training
    got = session.run(["logits"], {"images": images.cpu().numpy().astype(np.float32)})[0]
    if got.shape != expected.shape:
        raise ConfigError(f"the ONNX model gives logits of shape {got.shape}, PyTorch {expected.shape}")
    return float(np.abs(got - expected).max())


def onnx_latency(session, input_shape: Sequence[int] = (1, 3, 32, 32), *, repeats: int = 20,
                 warmup: int = 5) -> float:
    """Median wall-clock milliseconds of one onnxruntime run at ``input_shape`` (batch included)."""
    if repeats < 1 or warmup < 0:
        raise ConfigError(f"latency needs repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    feed = {"images": np.zeros(tuple(int(s) for s in input_shape), dtype=np.float32)}
    for _ in range(warmup):
        session.run(["logits"], feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(["logits"], feed)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def save_program(model: nn.Module, input_shape: Sequence[int]) -> bytes:
    """``model``'s eval-mode forward pass as a ``torch.export`` program (``.pt2`` bytes; dynamic batch).

    ``torch.export.load(path).module()(images)`` runs it without evonas installed.
    """
    wrapped = Logits(model)
    modes = [(m, m.training) for m in wrapped.modules()]
    wrapped.eval()
    try:
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(wrapped, (_example(input_shape),),
                                      dynamic_shapes={"images": {0: batch}})
    finally:
        for module, training in modes:
            module.training = training
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


__all__ = ["EXPORTERS", "Logits", "check_onnx", "check_onnx_runtime", "onnx_latency", "onnx_session", "save_program",
           "to_onnx"]
