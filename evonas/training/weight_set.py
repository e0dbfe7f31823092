"""RelativeNAS' weight set: members inherit from a shared supernet, train, and write back by a merge rule.

In RelativeNAS (Tan et al., "RelativeNAS: Relative Neural Architecture
Search via Slow-Fast Learning", IEEE TNNLS 2021) the weight set is one
state dict of the search network holding every candidate op. A pair of
members each loads all of it, trains one pass with a fresh optimiser and is
measured on validation data; then the set is written back tensor by tensor
(:func:`merge_weight_set`):

* a tensor of a candidate op that the fast learner uses: the fast learner's;
* of an op that only the slow learner uses: the slow learner's;
* of an op neither uses: unchanged;
* every other tensor (stem, preprocessing, BN statistics, classifier): the fast learner's.

Here the weight set is a :class:`~evonas.training.shared_supernet.SharedSupernet`:
its module holds the set between pairs; :func:`train_member` trains one
member from a snapshot and returns the trained state. Supernet modules name
their candidate op modules (``candidate_modules()``) and the ones a path
runs (``path_modules(arch)``); the DARTS and NAS-Bench-201 supernets do.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch

from evonas.errors import ConfigError
from evonas.spaces.base import NamesCandidateModules

#: a module's state as plain tensors (what ``state_dict`` returns), detached copies
State = dict[str, torch.Tensor]


def snapshot(module: torch.nn.Module) -> State:
    """Detached copies of ``module``'s state-dict tensors (parameters and buffers, BN statistics included)."""
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def op_owners(module: torch.nn.Module) -> dict[str, str]:
    """For each state key of a candidate op, the name of that op's module (other keys are absent).

    ``module`` must have ``candidate_modules()``; a key belongs to module ``m`` when it starts with ``m + "."``.
    """
    if not isinstance(module, NamesCandidateModules):
        raise ConfigError(f"{type(module).__name__} does not name its candidate op modules (candidate_modules / "
                          "path_modules), which a RelativeNAS weight set needs; the DARTS and NAS-Bench-201 "
                          "supernets do")
    candidates = set(module.candidate_modules())
    owners = {}
    for key in module.state_dict():
        parts = key.split(".")
        for n in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in candidates:
                owners[key] = prefix
                break
    return owners


def merge_weight_set(base: Mapping[str, torch.Tensor], fast: Mapping[str, torch.Tensor],
                     slow: Mapping[str, torch.Tensor], *, fast_modules: Iterable[str], slow_modules: Iterable[str],
                     owners: Mapping[str, str]) -> State:
    """The weight set after a pair (the rule in the module docstring).

    Args:
        base: the set both members started from.
        fast, slow: the members' states after training (same keys as ``base``).
        fast_modules, slow_modules: the candidate op modules each member's path ran.
        owners: state key -> candidate op module (:func:`op_owners`); keys not in it are shared tensors.
    """
    fast_modules, slow_modules = set(fast_modules), set(slow_modules)
    merged = {}
    for key, value in base.items():
        owner = owners.get(key)
        if owner is None or owner in fast_modules:
            merged[key] = fast[key]
        elif owner in slow_modules:
            merged[key] = slow[key]
        else:
            merged[key] = value
    return merged


@dataclass
class MemberResult:
    """One member's training from the weight set: its trained state and measurements.

    ``train_loss`` (nats) and ``train_top1`` (%) average the training steps; ``val_loss`` / ``accuracy`` are
    measured after training, in eval mode, on the supernet's validation part.
    """

    state: State
    train_loss: float
    train_top1: float
    val_loss: float
    accuracy: float


def train_member(shared: Any, arch, base: State, *, steps: int, learning_rate: float, drop_path_prob: float = 0.0,
                 augmented_validation: bool = False, description: str = "member", timer=None) -> MemberResult:
    """Load ``base`` into ``shared``'s module, train ``arch``'s path ``steps`` steps with a fresh SGD at
    ``learning_rate`` (drop path ``drop_path_prob`` on non-identity ops, where the supernet has it), measure it
    (:meth:`~evonas.training.shared_supernet.SharedSupernet.validate`) and return its state. The module is left
    holding the trained member; the caller loads what the set should become. ``timer``: ``timer(kind, count)`` ->
    a context manager around the ``"train"`` steps and the ``"validate"`` batches (a smoke run's
    :class:`~evonas.runtime.phases.PhaseMeter`)."""
    timer = timer or (lambda kind, count: contextlib.nullcontext())
    module = shared.module
    module.load_state_dict(base)
    has_drop_path = hasattr(module, "drop_path_prob")
    if has_drop_path:
        previous, module.drop_path_prob = module.drop_path_prob, drop_path_prob
    try:
        with timer("train", steps):
            stats = shared.train(steps=steps, paths=[arch], optimizer=shared.new_optimizer(learning_rate),
                                 description=description)
    finally:
        if has_drop_path:
            module.drop_path_prob = previous
    with timer("validate", len(shared.validation_batches)):
        measured = shared.validate(arch, augmented=augmented_validation)
    return MemberResult(snapshot(module), stats.loss, stats.top1, measured["val_loss"], measured["accuracy"])


__all__ = ["MemberResult", "merge_weight_set", "op_owners", "snapshot", "train_member"]
