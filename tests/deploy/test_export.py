"""Deployment: ONNX export checked in onnxruntime, ``evonas export`` of search and training runs, and the
cost evaluator's onnxruntime latency."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from evonas.cli import main
from evonas.deploy.onnx import check_onnx, onnx_latency, onnx_session, to_onnx
from evonas.errors import ConfigError


def _nets():
    from evonas.spaces.darts import DartsSpace
    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.scarlet import ScarletSpace

    yield "darts", DartsSpace().build("DARTS_V2", C=4, layers=5, auxiliary=True)  # returns (logits, aux)
    space = NB201Space()
    yield "nb201", space.build(space.sample(np.random.default_rng(0)), C=4, N=1)
    space = ScarletSpace()
    yield "scarlet", space.build(space.sample(np.random.default_rng(0)), width_mult=0.25)


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_onnx_models_agree_with_pytorch_at_any_batch(exporter):
    torch.manual_seed(0)
    for name, net in _nets():
        for module in net.modules():  # non-trivial BN statistics, so that eval-mode BN is really checked
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        net.train()  # the export must use eval mode and leave the training flag as it was
        session = onnx_session(to_onnx(net, (1, 3, 32, 32), exporter=exporter))
        assert net.training
        for batch in (1, 3):
            images = torch.randn(batch, 3, 32, 32)
            assert check_onnx(session, net, images) < 1e-4, name
        assert onnx_latency(session, (2, 3, 32, 32), repeats=2, warmup=1) > 0


def test_a_broken_onnx_model_is_caught():
    _, net = next(_nets())
    session = onnx_session(to_onnx(net, exporter="torchscript"))
    with torch.no_grad():
        net.classifier.bias.add_(1.0)  # the PyTorch module moved on: the check must see it
    assert check_onnx(session, net, torch.randn(2, 3, 32, 32)) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ConfigError, match="exporter"):
        to_onnx(net, exporter="tracing")


SEARCH = ["search", "--space", "darts", "--evaluator", "cost", "--strategy", "nsga2", "--pop-size", "4",
          "--budget", "8", "--evaluator-opt", 'net_kwargs={"C": 4, "layers": 5}', "--quiet"]
TRAIN = ["-C", "4", "--layers", "3", "--epochs", "1", "--batch-size", "16", "--max-batches", "1",
         "--workers", "0", "--test-fraction", "0.05", "--device", "cpu", "--quiet"]


def test_export_of_a_search_run_with_one_trained_architecture(tmp_path, capsys):
    search_dir, train_dir, out = tmp_path / "search", tmp_path / "train", tmp_path / "export"
    assert main([*SEARCH, "--run-dir", str(search_dir)]) == 0
    front = json.loads((search_dir / "front.json").read_text())["front"]
    first = json.dumps(front[0]["arch"])
    assert main(["train", "--genotype", first, "--run-dir", str(train_dir), *TRAIN]) == 0
    capsys.readouterr()
    assert main(["export", str(search_dir), "--out", str(out), "--trained", str(train_dir), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "front-00" in printed and "trained:" in printed

    index = json.loads((out / "index.json").read_text())
    assert [row["name"] for row in index] == [f"front-{i:02d}" for i in range(len(front))]
    assert all(row["onnx_check_passed"] for row in index)
    assert index[0]["weights"].startswith("trained:") and index[0]["params"] > 0
    assert (out / "index.csv").read_text().count("\n") == len(front) + 1
    for row, entry in zip(index, front):
        folder = out / row["name"]
        for name in ("genotype.json", "meta.json", "model.pt", "model.pt2", "model.onnx", "cell.png"):
            assert (folder / name).is_file(), (row["name"], name)
        assert json.loads((folder / "genotype.json").read_text()) == entry["arch"]
        assert json.loads((folder / "meta.json").read_text())["values"] == entry["values"]
    # untrained: the network the search's cost evaluator measured
    assert main(["export", str(search_dir), "--out", str(tmp_path / "untrained"), "--exporter", "torchscript",
                 "--quiet"]) == 0
    untrained = json.loads((tmp_path / "untrained" / "index.json").read_text())
    assert [row["params"] for row in untrained] == [entry["values"]["params"] for entry in front]
    assert all(row["weights"].startswith("untrained") for row in untrained)

    # model.pt rebuilds with evonas from what it holds (the trained DARTS network has an auxiliary head)
    from evonas.registry import spaces

    saved = torch.load(out / "front-00" / "model.pt", weights_only=False)
    assert saved["net_options"]["auxiliary"] is True
    rebuilt = spaces.create(saved["space"], **saved["space_options"]).build(saved["arch"], **saved["net_options"])
    rebuilt.load_state_dict(saved["state_dict"])
    # and genotype.json is what evonas train takes
    assert main(["train", "--genotype", str(out / "front-00" / "genotype.json"), "--run-dir",
                 str(tmp_path / "again"), *TRAIN]) == 0

    # the trained weights are the checkpoint's: the exported state dict equals it
    from evonas.runtime.checkpoint import load_checkpoint

    trained = load_checkpoint(train_dir / "checkpoint.pt")["model"]
    exported = torch.load(out / "front-00" / "model.pt", weights_only=False)["state_dict"]
    assert exported.keys() == trained.keys()
    assert all(torch.equal(exported[k], trained[k]) for k in trained)

    # the .pt2 program runs with plain PyTorch, evonas unimportable, and gives the ONNX model's logits
    images = torch.randn(2, 3, 32, 32)
    np.save(tmp_path / "images.npy", images.numpy())
    code = ("import sys; sys.modules['evonas'] = None\n"
            "import numpy as np, torch\n"
            f"program = torch.export.load({str(out / 'front-00' / 'model.pt2')!r}).module()\n"
            f"x = torch.from_numpy(np.load({str(tmp_path / 'images.npy')!r}))\n"
            f"np.save({str(tmp_path / 'logits.npy')!r}, program(x).detach().numpy())\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    session = onnx_session(out / "front-00" / "model.onnx")
    logits = session.run(["logits"], {"images": images.numpy()})[0]
    assert np.abs(np.load(tmp_path / "logits.npy") - logits).max() < 1e-4


def test_export_of_a_search_run_started_from_python(tmp_path):
    import evonas
    from evonas.deploy.export import export_run
    from evonas.evaluators.cost import CostEvaluator
    from evonas.registry import strategies
    from evonas.spaces.nb201 import NB201Space

    run = tmp_path / "run"
    evonas.search(NB201Space(), strategies.create("nsga2", pop_size=4), CostEvaluator(net_kwargs={"C": 4, "N": 1}),
                  budget=8, seed=0, run_dir=run, progress=False, plots=False)
    rows = export_run(run, exporter="torchscript", net_options={"C": 4, "N": 1}, progress=False)
    assert rows and all(row["onnx_check_passed"] and row["weights"].startswith("untrained") for row in rows)
    from evonas.spaces.scarlet import ScarletSpace

    evonas.search(ScarletSpace(width_mult=0.25), strategies.create("nsga2", pop_size=4), CostEvaluator(),
                  budget=4, seed=0, run_dir=tmp_path / "opts", progress=False, plots=False)
    # search() wrote search.json: the space's options are known without naming it
    rows = export_run(tmp_path / "opts", exporter="torchscript", progress=False)
    assert rows and all(row["onnx_check_passed"] for row in rows)
    meta = json.loads((tmp_path / "opts" / "export" / "front-00" / "meta.json").read_text())
    assert (meta["space"], meta["space_options"]) == ("scarlet", {"width_mult": 0.25})
    # a run an older evonas started from Python has no search.json: a space with options is not guessed
    (tmp_path / "opts" / "search.json").unlink()
    with pytest.raises(ConfigError, match="name its space"):
        export_run(tmp_path / "opts", progress=False)
    rows = export_run(tmp_path / "opts", space=ScarletSpace(width_mult=0.25), exporter="torchscript", progress=False)
    assert rows and all(row["onnx_check_passed"] for row in rows)


def test_export_of_a_training_run_and_bad_run_dirs(tmp_path, capsys):
    train_dir = tmp_path / "train"
    assert main(["train", "--genotype", "DARTS_V1", "--run-dir", str(train_dir), *TRAIN]) == 0
    assert main(["export", str(train_dir), "--exporter", "torchscript", "--quiet"]) == 0
    index = json.loads((train_dir / "export" / "index.json").read_text())
    assert [row["name"] for row in index] == ["trained"] and index[0]["weights"].startswith("trained:")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert f"{tmp_path / 'nothing'} does not exist" in capsys.readouterr().err  # not blamed on its contents
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--quiet"]) == 2
    assert "neither a search run" in capsys.readouterr().err


def test_cost_evaluator_measures_onnxruntime_latency():
    from evonas.evaluators.cost import CostEvaluator
    from evonas.spaces.darts import DartsSpace

    space = DartsSpace()
    evaluator = CostEvaluator(metrics=("params", "latency", "onnx_latency"), net_kwargs={"C": 4, "layers": 3},
                              latency_repeats=3, latency_warmup=1)
    evaluator.setup(space)
    (row,) = evaluator.evaluate([space.sample(np.random.default_rng(0))])
    assert row["onnx_latency"] > 0 and np.isfinite(row["onnx_latency"]) and row["latency"] > 0
    with pytest.raises(ConfigError, match="onnx_exporter"):
        CostEvaluator(metrics=("onnx_latency",), onnx_exporter="tracing")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():  # the CPU build: refused at set-up
        with pytest.raises(ConfigError, match="no CUDA provider"):
            CostEvaluator(metrics=("onnx_latency",), onnx_device="cuda").setup(space)


@pytest.mark.parametrize("front, search, message", [
    ([], None, "is not a front evonas wrote"),
    ({"front": [{"values": {}}]}, None, "is not a front evonas wrote"),
    ({"front": []}, {"strategy": "nsga2"}, "lacks the run's space or evaluator"),
])
def test_hand_edited_run_files_are_one_line_errors(tmp_path, capsys, front, search, message):
    """A front.json or search.json edited by hand (issue 27, item 7) is named in one line, never a traceback."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "front.json").write_text(json.dumps(front))
    (run / "config.json").write_text(json.dumps({"settings": {"space": {"type": "NB201Space"}}}))
    if search is not None:
        (run / "search.json").write_text(json.dumps(search))
    assert main(["export", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (run / "export").exists()


def test_export_refuses_unused_weights_and_foreign_net_options_and_keeps_no_unchecked_model(
        tmp_path, capsys, monkeypatch):
    """Issue 27, items 3 and 10: weights of an architecture not exported, and a network option the space's
    networks do not take, are one-line errors with nothing written; a model failing the ONNX check is not
    kept and an earlier export of it stays as it was."""
    search_dir, train_dir, out = tmp_path / "search", tmp_path / "train", tmp_path / "export"
    assert main([*SEARCH, "--run-dir", str(search_dir)]) == 0
    assert main(["train", "--genotype", "DARTS_V1", "--run-dir", str(train_dir), *TRAIN]) == 0
    capsys.readouterr()
    assert main(["export", str(search_dir), "--out", str(out), "--trained", str(train_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(train_dir) in err and str(search_dir) in err and "not in its front" in err
    assert err.count("\n") == 1 and not out.exists()
    assert main(["export", str(search_dir), "--out", str(out), "--net-opt", "foo=1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "foo" in err and "--net-opt" in err and err.count("\n") == 1 and not out.exists()

    assert main(["export", str(search_dir), "--out", str(out), "--exporter", "torchscript", "--quiet"]) == 0
    before = (out / "front-00" / "model.onnx").read_bytes()
    import evonas.deploy.export as export

    monkeypatch.setattr(export, "check_onnx", lambda *args, **kwargs: 1e3)  # every ONNX model now disagrees
    with pytest.raises(ConfigError, match="not kept"):
        export.export_run(search_dir, out, exporter="torchscript", seed=1, progress=False)
    index = json.loads((out / "index.json").read_text())
    assert index and not any(row["onnx_check_passed"] or row["folder"] for row in index)
    assert (out / "front-00" / "model.onnx").read_bytes() == before  # the earlier, checked export is intact
    assert not list(out.glob(".*.partial"))
