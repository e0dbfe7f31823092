"""Train a stand-alone network from scratch, the DARTS way (any space that builds networks).

Recipe (Liu et al., 2019, ``train.py``): SGD with momentum 0.9 and weight
decay 3e-4, cosine learning rate from 0.025 to 0 over the epochs, batch 96,
Cutout 16, auxiliary head at 2/3 depth with loss weight 0.4, drop path
scaled linearly from 0 to ``drop_path_prob`` over the epochs, gradient norm
clipped at 5. The defaults below are that recipe at C=36, 20 cells, 600
epochs; the CLI makes small runs (e.g. C=16, 8 cells, a few epochs) easy.

Runs are resumable exactly: every epoch re-seeds torch (drop path,
main-process augmentation) and the DataLoader's shuffling / worker seeds
from ``(seed, epoch)``, and a checkpoint holding model, optimiser and
scheduler is written atomically after each epoch.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from evonas.data import Subset, dataset_family, default_transforms, get_dataset, split_indices
from evonas.data.splits import SeededSamples
from evonas.errors import CheckpointError, ConfigError
from evonas.runtime.checkpoint import has_checkpoint, load_checkpoint, load_latest_checkpoint, save_checkpoint
from evonas.runtime.device import resolve_device
from evonas.runtime.run_dir import RunDir
from evonas.training.config import check_setting, config_from_dict
from evonas.training.loops import evaluate, train_one_epoch

log = logging.getLogger(__name__)
CHECKPOINT_KIND = "standalone"


@dataclass
class StandaloneConfig:
    """Settings of one stand-alone training run (units in the field comments)."""

    arch: Any  # space.to_json(arch): a genotype dict for DARTS, a list of choices for SCARLET
    space: str = "darts"
    space_options: dict = field(default_factory=dict)
    net_options: dict = field(default_factory=dict)  # extra keyword arguments of space.build
    dataset: str = "cifar10-mini"
    root: str | None = None  # local folder for cifar10 / cifar100 / imagefolder
    test_fraction: float = 0.2  # held-out share, for datasets without an official test split
    init_channels: int = 36  # width (DARTS: C), for spaces whose standalone_options read it
    layers: int = 20  # depth (DARTS: cells)
    auxiliary: bool = True  # auxiliary head (DARTS)
    auxiliary_weight: float = 0.4
    drop_path_prob: float = 0.2  # reached in the last epoch
    epochs: int = 600
    batch_size: int = 96
    learning_rate: float = 0.025
    min_learning_rate: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0  # global L2 norm; 0 disables
    cutout: int = 16  # pixels; 0 disables
    seed: int = 0
    workers: int = 2  # DataLoader worker processes
    device: str = "auto"
    channels_last: bool | None = None  # None: on for the CPU (1.6x faster there), off elsewhere
    max_batches: int | None = None  # cap on training batches per epoch (smoke runs)

    def validate(self) -> None:
        check_setting(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check_setting(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        build_space(self).standalone_options(self.network_settings(), num_classes=2, family="cifar")  # its checks
        check_setting(0 < self.test_fraction < 1, f"test_fraction must be in (0, 1), got {self.test_fraction}")
        check_setting(0 <= self.drop_path_prob < 1, f"drop_path_prob must be in [0, 1), got {self.drop_path_prob}")
        check_setting(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        check_setting(self.workers >= 0, f"workers must be >= 0, got {self.workers}")
        if self.net_options:
            self._check_net_options()

    def _check_net_options(self) -> None:
        """Build the network once on the meta device (no memory, no weights) so that an option its class does not
        take is refused before anything is written."""
        space, arch = resolve_arch(self)
        try:
            with torch.device("meta"):
                space.build(arch, **build_kwargs(self, 2, "cifar"))
        except TypeError as exc:
            raise ConfigError(f"network option(s) {', '.join(sorted(self.net_options))} do not fit the "
                              f"{self.space} space's networks ({exc}); check --net-opt") from None
        except Exception:  # anything else: the real build names it
            pass

    def network_settings(self) -> dict[str, Any]:
        """The generic network settings a space maps to its network (:meth:`SearchSpace.standalone_options`)."""
        return {"init_channels": self.init_channels, "layers": self.layers, "auxiliary": self.auxiliary,
                "batch_size": self.batch_size}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "StandaloneConfig":
        config = config_from_dict(cls, values)
        config.validate()
        return config


def build_space(config: StandaloneConfig):
    """The search space a config names (from the registry)."""
    from evonas.registry import spaces

    factory = spaces.get(config.space)
    defaults = getattr(factory, "standalone_space_options", {})  # e.g. published cells that repeat an input
    return spaces.create(config.space, **{**defaults, **config.space_options})


def resolve_arch(config: StandaloneConfig):
    """``(space, architecture)`` of a config; the architecture is validated by its space."""
    space = build_space(config)
    return space, space.from_json(config.arch)


def build_data(config: StandaloneConfig):
    """Return ``(train_set, test_set, classes, family)`` for a config.

    ``cifar10`` / ``cifar100`` use their official test split; every other
    dataset holds out a stratified ``test_fraction`` chosen by ``seed``.
    """
    base = get_dataset(config.dataset, root=config.root, train=True)
    family = dataset_family(base)
    train_tf, eval_tf = default_transforms(family, cutout=config.cutout or None)
    channels = int(base[0][0].shape[0])
    if channels == 1:  # grey images: repeat to the 3 channels the stem expects
        train_tf, eval_tf = _ThenRGB(train_tf), _ThenRGB(eval_tf)
    if config.dataset in ("cifar10", "cifar100"):
        test_base = get_dataset(config.dataset, root=config.root, train=False)
        train = Subset(base, range(len(base)), train_tf)
        test = Subset(test_base, range(len(test_base)), eval_tf)
    else:
        train_idx, test_idx = split_indices(base.targets, (1 - config.test_fraction, config.test_fraction),
                                            seed=config.seed)
        train, test = Subset(base, train_idx, train_tf), Subset(base, test_idx, eval_tf)
    return train, test, tuple(base.classes), family


class _ThenRGB:
    """Apply ``transform``, then repeat a 1-channel image to 3 channels."""

    def __init__(self, transform) -> None:
        self.transform = transform

    def __call__(self, image):
        image = self.transform(image)
        return image.expand(3, *image.shape[1:])


def build_kwargs(config: StandaloneConfig, num_classes: int, family: str) -> dict[str, Any]:
    """The keyword arguments of ``space.build(arch, ...)`` for a config's network (see :func:`build_model`)."""
    kwargs = build_space(config).standalone_options(config.network_settings(), num_classes=num_classes,
                                                    family=family)
    kwargs.update(config.net_options)
    return kwargs


def build_model(config: StandaloneConfig, num_classes: int, family: str) -> torch.nn.Module:
    """The stand-alone network a config describes.

    ``space.build(arch, **options)`` with the options the space maps the run's settings to
    (:meth:`~evonas.spaces.base.SearchSpace.standalone_options`; DARTS: ``NetworkCIFAR`` or
    ``NetworkImageNet`` with ``init_channels``, ``layers`` and ``auxiliary``), then ``net_options``.
    """
    space, arch = resolve_arch(config)
    return space.build(arch, **build_kwargs(config, num_classes, family))


def restore_model(config: StandaloneConfig, state: dict, num_classes: int, family: str,
                  source: Any) -> torch.nn.Module:
    """The config's network (:func:`build_model`) holding a checkpoint's weights (``state["model"]``).

    Raises:
        CheckpointError: the weights do not fit that network (``source`` names where they came from).
    """
    check_classes(state, num_classes, config, source)
    model = build_model(config, num_classes, family)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: weights do not fit the network of its config ({exc})") from exc
    return model


def check_classes(state: dict, num_classes: int, config: StandaloneConfig, source: Any) -> None:
    """Raise :class:`ConfigError` when the checkpoint ``state`` was trained on another number of classes than
    the config's dataset has now (the data changed since; the weights themselves are fine)."""
    saved = state.get("classes")
    if saved is not None and len(saved) != num_classes:
        raise ConfigError(f"{source} was trained on {len(saved)} classes, but its dataset {config.dataset!r} "
                          f"now has {num_classes}: the data changed since it was trained")


def _loader(dataset, config: StandaloneConfig, *, shuffle: bool, epoch: int = 0) -> DataLoader:
    """Batches of ``dataset``; shuffled ones (training) never end in a batch of one image.

    BatchNorm cannot normalise a single value per channel in training mode,
    so when ``len(dataset) % batch_size == 1`` the training loader drops that
    last image (a different one each epoch, as the order is shuffled).
    """
    from evonas.data.splits import seed_worker

    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    lone_last = shuffle and len(dataset) % config.batch_size == 1
    return DataLoader(dataset, batch_size=config.batch_size, shuffle=shuffle, num_workers=config.workers,
                      generator=generator, worker_init_fn=seed_worker, drop_last=lone_last,
                      pin_memory=torch.cuda.is_available())


class _Capped:
    """Iterate at most ``limit`` batches of a loader."""

    def __init__(self, loader, limit: int | None) -> None:
        self.loader, self.limit = loader, limit

    def __len__(self) -> int:
        return len(self.loader) if self.limit is None else min(len(self.loader), self.limit)

    def __iter__(self):
        for index, batch in enumerate(self.loader):
            if self.limit is not None and index >= self.limit:
                break
            yield batch


def train_standalone(config: StandaloneConfig | None, run_dir: str | Path, *, resume: bool = False,
                     progress: bool = True) -> dict:
    """Train (or, with ``resume``, continue training) in ``run_dir``; return the final results.

    A new run refuses a ``run_dir`` that holds a run with a checkpoint (a
    run that died before its first checkpoint is replaced). ``resume`` reads
    the config from ``run_dir`` (``config`` may be None) and continues from
    the latest readable checkpoint, or starts at epoch 0 when there is none
    yet; a checkpoint of another run or another architecture is refused.
    The run directory is locked while training (a second process is
    refused). Results: ``final.json`` (test loss / top-1 / top-5 of the last
    epoch, parameter count), ``metrics.csv`` (one row per epoch),
    ``checkpoint.pt``.
    """
    run = RunDir(run_dir)
    if resume and (run.path / "search.json").is_file():
        raise ConfigError(f"{run.path} is a search run, not a training run; continue it with "
                          f"'evonas search --resume {run.path}'")
    if resume and not run.exists():
        raise CheckpointError(f"{run.config_path} does not exist: is {run.path} a run directory?")
    with run.locked():
        return _train_locked(config, run, resume=resume, progress=progress)


def _train_locked(config: StandaloneConfig | None, run: RunDir, *, resume: bool, progress: bool) -> dict:
    from evonas.counting import count_params

    state = None
    if resume:
        config = StandaloneConfig.from_dict(run.read_config())
        space, arch = resolve_arch(config)
        arch_key = space.key(arch)
        run_id = run.run_id(CHECKPOINT_KIND)
        if has_checkpoint(run.checkpoint_path):
            state = load_latest_checkpoint(run.checkpoint_path, kind=CHECKPOINT_KIND,
                                           expect={"run_id": run_id, "arch_key": arch_key})
        else:
            log.warning("%s has no checkpoint yet (the run stopped during its first epoch): starting at epoch 0",
                        run.path)
    else:
        if config is None:
            raise ConfigError("a new run needs a config")
        config.validate()
        if run.exists() and has_checkpoint(run.checkpoint_path):
            raise ConfigError(f"{run.path} already holds a run; continue it with --resume or pick another run dir")
        if run.exists():
            log.warning("%s holds a run that stopped before its first checkpoint: replacing it", run.path)
        space, arch = resolve_arch(config)
        arch_key = space.key(arch)
        run_id = run.create_identity(CHECKPOINT_KIND)
        run.write_config(asdict(config))

    device = resolve_device(config.device)
    channels_last = device.type == "cpu" if config.channels_last is None else config.channels_last
    train_set, test_set, classes, family = build_data(config)
    if len(train_set) < 2:
        raise ConfigError(f"{config.dataset} leaves {len(train_set)} training image(s); training needs at least 2 "
                          "(BatchNorm needs two values per channel)")
    torch.manual_seed(config.seed)
    model = build_model(config, len(classes), family).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs, eta_min=config.min_learning_rate)
    metrics: list[dict] = []
    start_epoch = 0
    if state is not None:
        check_classes(state, len(classes), config, run.checkpoint_path)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"checkpoint in {run.path} does not fit the configured network ({exc})") from exc
        metrics, start_epoch = list(state["metrics"]), int(state["epoch"])
        log.info("resuming %s at epoch %d/%d", run.path, start_epoch, config.epochs)
    handler = run.attach_log()
    params = count_params(model)
    log.info("training %s: %d parameters (without auxiliary head) on %s", arch_key[:60], params, device)
    try:
        for epoch in range(start_epoch, config.epochs):
            torch.manual_seed(config.seed * 1_000_003 + epoch)
            if hasattr(model, "drop_path_prob"):
                model.drop_path_prob = config.drop_path_prob * epoch / config.epochs
            lr = optimizer.param_groups[0]["lr"]
            began = time.perf_counter()
            train_stats = train_one_epoch(
                model, _Capped(_loader(SeededSamples(train_set, config.seed, epoch), config, shuffle=True,
                                       epoch=epoch), config.max_batches),
                optimizer, device=device, aux_weight=config.auxiliary_weight if config.auxiliary else 0.0,
                grad_clip=config.grad_clip or None, channels_last=channels_last, progress=progress,
                description=f"epoch {epoch + 1}/{config.epochs}")
            test_stats = evaluate(model, _loader(test_set, config, shuffle=False), device=device,
                                  channels_last=channels_last)
            scheduler.step()
            row = {"epoch": epoch + 1, "lr": lr, **train_stats.as_dict("train"), **test_stats.as_dict("test"),
                   "seconds": round(time.perf_counter() - began, 3)}
            metrics.append(row)
            run.write_csv("metrics.csv", metrics)
            save_checkpoint(run.checkpoint_path, {
                "epoch": epoch + 1, "arch_key": arch_key, "config": asdict(config), "classes": list(classes),
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "metrics": metrics,
            }, kind=CHECKPOINT_KIND, run_id=run_id)
            log.info("epoch %d/%d: train loss %.4f top1 %.2f | test loss %.4f top1 %.2f (%.1fs)", epoch + 1,
                     config.epochs, train_stats.loss, train_stats.top1, test_stats.loss, test_stats.top1,
                     row["seconds"])
    finally:
        logging.getLogger("evonas").removeHandler(handler)
        handler.close()
    last = metrics[-1]
    result = {"space": config.space, "arch": config.arch, "arch_key": arch_key, "parameters": params,
              "epochs": config.epochs, "test_loss": last["test_loss"], "test_top1": last["test_top1"],
              "test_top5": last["test_top5"], "test_images": len(test_set), "dataset": config.dataset}
    run.write_json("final.json", result)
    _write_plots(run, metrics, config)
    return result


def _write_plots(run: RunDir, metrics: list[dict], config: StandaloneConfig) -> None:
    """``curves.png`` (loss / accuracy / learning rate per epoch) and, when the space can draw it,
    ``genotype.png``."""
    from evonas.spaces.base import HasDrawing
    from evonas.viz.curves import plot_training_curves

    plot_training_curves(metrics, run.path / "curves.png")
    space, arch = resolve_arch(config)
    if isinstance(space, HasDrawing):
        space.draw(arch, run.path / "genotype.png")


def evaluate_checkpoint(path: str | Path, *, dataset: str | None = None, root: str | None = None,
                        arch=None, batch_size: int | None = None, device: str = "auto",
                        workers: int = 0) -> dict:
    """Test accuracy of a stand-alone checkpoint (or of a run directory's latest one).

    By default the held-out split the run was trained against is used; pass
    ``dataset`` (and ``root``) to evaluate on another dataset with the same
    classes. ``arch``, when given (any form the run's space accepts, e.g. a
    genotype name), must be the checkpoint's architecture.
    """
    path = Path(path)
    if path.is_dir():
        path = RunDir(path).checkpoint_path
    try:
        state = load_checkpoint(path, kind=CHECKPOINT_KIND)
    except CheckpointError as exc:
        if "'search' checkpoint" in str(exc):
            raise CheckpointError(f"{path} is the checkpoint of a search, not of a trained network: evaluate takes "
                                  "the checkpoint.pt or run directory of 'evonas train'") from exc
        raise
    values = dict(state["config"])
    if arch is not None:
        space = build_space(StandaloneConfig.from_dict(values))
        expected = space.key(space.validate(arch))
        if expected != state.get("arch_key"):
            raise CheckpointError(f"{path} belongs to another run: its arch_key is {state.get('arch_key')!r}, "
                                  f"expected {expected!r}")
    if dataset is not None:
        values.update(dataset=dataset, root=root)
    values.update(workers=workers, device=device, batch_size=batch_size or values["batch_size"])
    config = StandaloneConfig.from_dict(values)
    _, test_set, classes, family = build_data(config)
    model = restore_model(config, state, len(classes), family, path)
    target = resolve_device(device)
    stats = evaluate(model.to(target), _loader(test_set, config, shuffle=False), device=target)
    return {"checkpoint": str(path), "epoch": int(state["epoch"]), "dataset": config.dataset,
            "images": stats.samples, "loss": stats.loss, "top1": stats.top1, "top5": stats.top5}


__all__ = ["StandaloneConfig", "build_data", "build_kwargs", "build_model", "check_classes", "evaluate_checkpoint",
           "restore_model", "train_standalone"]
