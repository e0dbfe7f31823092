"""``evonas export RUN_DIR``: a run's architectures as files a deployment can use.

For a search run (``search.json`` + ``front.json``) every architecture of
the front is exported, and the strategy's ``chosen.json`` when there is
one; for a training run of ``evonas train`` (``config.json`` +
``checkpoint.pt``) its network with the trained weights. Each architecture
gets a folder ``OUT/NAME/`` with:

* ``genotype.json``: the architecture as the space writes it (what
  ``evonas train --genotype FILE`` takes);
* ``meta.json``: the space, its options, the architecture, its key, the
  network options (``space.build(arch, **net_options)`` builds it again),
  the image size, where the weights come from and the search's values;
* ``model.pt``: the state dict with everything ``meta.json`` holds;
* ``model.pt2``: a ``torch.export`` program: ``torch.export.load(path)
  .module()(images)`` runs it with plain PyTorch (no evonas);
* ``model.onnx``: ``torch.onnx`` export (input ``images`` (N, 3, H, W),
  output ``logits``, dynamic batch), run in onnxruntime against the
  PyTorch module on random images before it is kept;
* ``cell.png`` for DARTS cells.

Each folder is written aside (``OUT/.NAME.partial``) and moved into place
only once its ONNX model and ``.pt2`` program agree with PyTorch: an
architecture that fails the check leaves no folder (and an earlier export
of it stays as it was); ``index.json`` records its differences.

Weights: the trained ones when a training run of the same architecture is
given (``trained=``, ``--trained RUN``); otherwise the network is
initialised from ``seed`` and ``index.json`` says ``"untrained"``.
``OUT/index.json`` and ``OUT/index.csv`` list every exported architecture
with its values, parameters, weights and the ONNX check.
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import torch

from evonas.deploy.onnx import check_onnx, onnx_session, save_program, to_onnx
from evonas.errors import ConfigError
from evonas.runtime.atomic import atomic_torch_save, atomic_write_bytes, atomic_write_csv, atomic_write_text
from evonas.spaces.base import HasDrawing

log = logging.getLogger(__name__)

#: largest |ONNX - PyTorch| logit difference accepted, relative to the largest |logit|
TOLERANCE = 1e-4


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _trained_runs(paths: Sequence[str | Path]) -> dict[tuple[str, str], dict]:
    """``(space, arch key) -> {config, state, path}`` for each training run of ``evonas train``."""
    from evonas.runtime.checkpoint import load_latest_checkpoint
    from evonas.training.standalone import CHECKPOINT_KIND, StandaloneConfig

    found = {}
    for path in paths:
        path = Path(path)
        if (path / "search.json").is_file():
            raise ConfigError(f"{path} is a search run; --trained takes runs of 'evonas train'")
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a training run of 'evonas train' (no config.json)")
        config = StandaloneConfig.from_dict(_read_json(path / "config.json"))
        state = load_latest_checkpoint(path / "checkpoint.pt", kind=CHECKPOINT_KIND)
        found[(config.space, state["arch_key"])] = {"config": config, "state": state, "path": str(path)}
    return found


def _space_of_run(run: Path, search: dict | None, space) -> tuple[Any, str, dict]:
    """``(space, registry name, options)`` of a search run: the given ``space``, or from ``search.json``
    (every search writes it), or for a run an older evonas started from Python, the space in its ``config.json``
    when that took no options."""
    from evonas.params import registry_options
    from evonas.registry import spaces
    from evonas.runtime.legacy_settings import legacy_differences

    if space is not None:
        name, options = registry_options(space, spaces)
        return space, name, options
    if search is not None:
        options = search.get("space_options", {})
        return spaces.create(search["space"], **options), search["space"], options
    saved = _read_json(run / "config.json").get("settings", {}).get("space", {})
    for name in spaces.names():
        candidate = spaces.create(name)
        if not legacy_differences({"space": saved}, {"space": candidate}, {}):
            return candidate, name, {}
    raise ConfigError(f"{run} was searched from Python with a {saved.get('type', 'unknown')} space: name its space "
                      "(export_run(space=...), or --space NAME --space-opt KEY=VALUE)")


def _search_items(run: Path, search: dict | None, space, net_options: dict | None):
    """The space, its name and options, the front's (and chosen) architectures, the network options and the
    image size of a search run."""
    from evonas.search_config import evaluator_tables

    space, space_name, space_options = _space_of_run(run, search, space)
    front = _read_json(run / "front.json")
    rows = front.get("front") if isinstance(front, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) and "arch" in row for row in rows):
        raise ConfigError(f"{run / 'front.json'} is not a front evonas wrote (an object whose 'front' lists rows "
                          "with 'arch' and 'values'); was it edited by hand?")
    items = [{"name": f"front-{i:02d}", "arch": space.from_json(row["arch"]), "values": row.get("values", {})}
             for i, row in enumerate(rows)]
    if (run / "chosen.json").is_file():
        items.append({"name": "chosen", "arch": space.from_json(_read_json(run / "chosen.json")), "values": {}})
    cost = {}
    if search is not None and "cost" in ([search["evaluator"]] if isinstance(search["evaluator"], str)
                                         else search["evaluator"]):
        cost = evaluator_tables(search["evaluator"], search.get("evaluator_options", {}))["cost"]
    net = {**cost.get("net_kwargs", {}), **(net_options or {})}
    shape = cost.get("input_shape")
    return space, space_name, space_options, items, net, int(shape[-1]) if shape else None


def export_run(run_dir: str | Path, out: str | Path | None = None, *, trained: Sequence[str | Path] = (),
               net_options: dict | None = None, image_size: int | None = None, exporter: str = "dynamo",
               check_images: int = 4, seed: int = 0, space=None, progress: bool = True) -> list[dict]:
    """Export a run's architectures (see the module docstring); returns the rows of ``index.json``.

    Args:
        run_dir: a search run or a training run.
        out: the folder to write (default ``RUN_DIR/export``).
        trained: training runs whose weights are used for the architecture they trained.
        net_options: ``space.build`` options for untrained networks (default: the cost evaluator's
            ``net_kwargs`` of the search, else the space's defaults).
        image_size: H = W of the exported input (default: the search's cost ``input_shape``, the training
            data's images, else 32).
        exporter: ``"dynamo"`` or ``"torchscript"`` (see :func:`evonas.deploy.onnx.to_onnx`).
        check_images: random images the ONNX model is checked on against PyTorch.
        seed: initialises untrained networks and draws the check images.
        space: the search space of a search run started from Python whose space took options (``evonas
            search`` runs name theirs in ``search.json``).

    Raises:
        ConfigError: ``run_dir`` is neither kind of run, a training run's architecture is not among those
            exported, a network option does not fit, or an ONNX model disagrees with PyTorch (its folder is not
            kept, and the index says which).
    """
    from tqdm.auto import tqdm

    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ConfigError(f"image_size must be a positive number of pixels, got {image_size!r}")
    run = Path(run_dir)
    out = Path(out) if out is not None else run / "export"
    for path in (run, *map(Path, trained)):
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
    weights = _trained_runs(trained)
    if (run / "front.json").is_file():
        search = _read_json(run / "search.json") if (run / "search.json").is_file() else None
        if search is not None and (not isinstance(search, dict) or not {"space", "evaluator"} <= set(search)):
            if space is None:
                raise ConfigError(f"{run / 'search.json'} lacks the run's space or evaluator; was it edited by "
                                  "hand? (name the space, --space NAME, to export without it)")
            log.warning("%s lacks the run's space or evaluator: exporting with the space given", run)
            search = None
        space, space_name, space_options, items, net, size = _search_items(run, search, space, net_options)
    elif (run / "config.json").is_file() and (run / "checkpoint.pt").is_file():
        weights.update(_trained_runs([run]))
        (key, entry), = [(k, v) for k, v in weights.items() if v["path"] == str(run)]
        from evonas.training.standalone import resolve_arch

        space, arch = resolve_arch(entry["config"])
        space_name, space_options, net, size = key[0], entry["config"].space_options, {}, None
        items = [{"name": "trained", "arch": arch, "values": {}}]
    else:
        raise ConfigError(f"{run} is neither a search run (front.json) nor a training run "
                          "(config.json, checkpoint.pt)")
    if not items:
        raise ConfigError(f"{run} has no architecture to export (its front is empty)")
    exported = {(space_name, space.key(item["arch"])) for item in items}
    for (trained_space, key), entry in weights.items():
        if (trained_space, key) not in exported:
            raise ConfigError(f"{entry['path']} trained an architecture ({trained_space} {key}) that {run} does "
                              "not export (not in its front or chosen); its weights would go unused")
    rows = []
    for item in tqdm(items, desc="export", disable=not progress, unit="arch"):
        rows.append(_export_one(space, space_name, space_options, item, weights, net, image_size, size,
                                out / item["name"], exporter, check_images, seed))
    atomic_write_text(out / "index.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_csv(out / "index.csv", [{k: v for k, v in row.items() if not isinstance(v, (dict, list))}
                                         for row in rows])
    failed = [row["name"] for row in rows if not row["onnx_check_passed"]]
    if failed:
        raise ConfigError(f"the ONNX model or .pt2 program of {', '.join(failed)} disagrees with PyTorch beyond "
                          f"{TOLERANCE:g} (relative), so it was not kept; see {out / 'index.json'}")
    return rows


def _build(space, item: dict, weights: dict, space_name: str, net: dict, seed: int):
    """``(model, net options, weights note, image size or None)`` of one architecture."""
    key = space.key(item["arch"])
    entry = weights.get((space_name, key))
    if entry is None:
        torch.manual_seed(seed)
        try:
            model = space.build(item["arch"], **net)
        except TypeError as exc:
            raise ConfigError(f"network option(s) {sorted(net)} do not fit the {space_name} space's networks "
                              f"({exc}); check --net-opt") from None
        return model, net, "untrained (initialised from the seed)", None
    from evonas.training.standalone import build_data, build_kwargs, restore_model

    config, state = entry["config"], entry["state"]
    train_set, _, classes, family = build_data(config)
    model = restore_model(config, state, len(classes), family, entry["path"])
    options = build_kwargs(config, len(classes), family)
    return model, options, f"trained: {entry['path']} ({state['epoch']} epochs)", int(train_set[0][0].shape[-1])


def _export_one(space, space_name: str, space_options: dict, item: dict, weights: dict, net: dict,
                image_size: int | None, search_size: int | None, folder: Path, exporter: str, check_images: int,
                seed: int) -> dict:
    from evonas.counting import count_params

    model, options, note, data_size = _build(space, item, weights, space_name, net, seed)
    model = model.eval()
    size = image_size or data_size or search_size or 32  # a trained network: the size of its training images
    shape = (1, 3, size, size)
    arch_json = space.to_json(item["arch"])
    described = {"space": space_name, "space_options": space_options, "arch": arch_json,
                 "key": space.key(item["arch"]), "net_options": options, "values": item["values"],
                 "input_shape": list(shape), "weights": note}
    staging = folder.parent / f".{folder.name}.partial"  # moved into place once the checks pass
    shutil.rmtree(staging, ignore_errors=True)
    atomic_write_text(staging / "genotype.json", json.dumps(arch_json, indent=1) + "\n")  # what --genotype takes
    atomic_write_text(staging / "meta.json", json.dumps(described, indent=1) + "\n")
    atomic_torch_save({"state_dict": model.state_dict(), **described}, staging / "model.pt")
    atomic_write_bytes(staging / "model.pt2", save_program(model, shape))
    onnx_bytes = to_onnx(model, shape, exporter=exporter)
    atomic_write_bytes(staging / "model.onnx", onnx_bytes)
    images = torch.randn((check_images, 3, size, size), generator=torch.Generator().manual_seed(seed))
    difference = check_onnx(onnx_session(onnx_bytes), model, images)
    program = torch.export.load(io.BytesIO((staging / "model.pt2").read_bytes())).module()
    with torch.no_grad():
        reference = model(images)
        reference = reference[0] if isinstance(reference, tuple) else reference
        pt2_difference = float((program(images) - reference).abs().max())
    scale = float(reference.abs().max())  # relative: untrained networks can have logits of 1e-7
    passed = max(difference, pt2_difference) <= TOLERANCE * scale + 1e-12
    if passed:
        if isinstance(space, HasDrawing):
            space.draw(item["arch"], staging / "cell.png")
        _replace_folder(staging, folder)
        log.info("exported %s to %s (ONNX max |difference| %.2e)", item["name"], folder, difference)
    else:
        shutil.rmtree(staging, ignore_errors=True)
        log.warning("%s: the ONNX model or .pt2 program disagrees with PyTorch; not kept", item["name"])
    return {"name": item["name"], "key": described["key"], "weights": note, "params": count_params(model),
            "image_size": size, "onnx_max_abs_difference": difference,
            "pt2_max_abs_difference": pt2_difference, "onnx_check_passed": passed,
            "folder": str(folder) if passed else None, "values": item["values"]}


def _replace_folder(staging: Path, folder: Path) -> None:
    """Move the checked ``staging`` folder to ``folder``, replacing an earlier export there."""
    if folder.exists():
        old = folder.parent / f".{folder.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, folder)

__all__ = ["TOLERANCE", "export_run"]
