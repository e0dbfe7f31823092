"""``evonas train`` / ``evaluate`` on the command line: happy path and one-line errors."""
from __future__ import annotations

import pytest

from evonas.cli import main

TINY = ["-C", "4", "--layers", "3", "--epochs", "1", "--batch-size", "16", "--max-batches", "1",
        "--workers", "0", "--test-fraction", "0.05", "--device", "cpu", "--quiet"]


def test_train_then_evaluate(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--genotype", "DARTS_V1", "--run-dir", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    assert "final test top-1" in out and "191 held-out images" in out
    assert main(["evaluate", "--checkpoint", str(run), "--device", "cpu", "--json"]) == 0
    assert '"top1"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "genotype, message",
    [
        ("NOT_A_GENOTYPE", "unknown genotype"),
        ("Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])", "node"),
        ("{\"normal\": [[\"sep_conv_3x3\", 0]", "JSON"),
        ("Genotype(normal=[('sep_conv_9x9', 0), ('sep_conv_3x3', 1)], reduce=[('sep_conv_3x3', 0), "
         "('sep_conv_3x3', 1)])", "sep_conv_9x9"),
    ],
)
def test_bad_genotypes_are_one_line_errors(capsys, tmp_path, genotype, message):
    code = main(["train", "--genotype", genotype, "--run-dir", str(tmp_path / "r"), *TINY])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_bad_checkpoint_is_one_line_error(capsys, tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["evaluate", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "truncated or not a checkpoint" in err and bad.read_bytes() == b"\x00" * 100


def test_resume_of_a_missing_run_is_one_line_error(capsys, tmp_path):
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "run directory" in capsys.readouterr().err


@pytest.mark.parametrize("flags, named", [(["--epochs", "5"], "--epochs"), (["--lr", "0.1", "--seed", "3"],
                                                                               "--lr, --seed")])
def test_resume_refuses_flags_it_cannot_honour(capsys, tmp_path, flags, named):
    """``--resume`` continues a run with its own settings: a flag it would drop is refused, naming it, and the
    run is left as it was (not silently trained to its old settings)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "marker").write_text("kept")
    assert main(["train", "--resume", str(run), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and "cannot change" in err
    assert sorted(p.name for p in run.iterdir()) == ["marker"]


def test_a_search_run_or_a_dataset_that_changed_is_named_as_such(capsys, tmp_path, image_folder):
    """Issue 27, item 9: messages that blamed the wrong thing: a search run given to ``train --resume`` (was:
    "unknown setting(s) for StandaloneConfig"), a dataset that gained a class since (was: "weights do not fit
    the network of its config")."""
    import shutil

    search = tmp_path / "search"
    assert main(["search", "--space", "nb201", "--evaluator", "nb201-table", "--budget", "4", "--pop-size", "4",
                 "--quiet", "--run-dir", str(search)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(search)]) == 2
    assert f"{search} is a search run, not a training run" in capsys.readouterr().err
    assert main(["export", str(search), "--trained", str(search), "--quiet"]) == 2
    assert "is a search run; --trained takes runs of 'evonas train'" in capsys.readouterr().err

    root = tmp_path / "images"
    shutil.copytree(image_folder[0], root)
    run = tmp_path / "run"
    assert main(["train", "--genotype", "DARTS_V2", "--dataset", str(root), "--run-dir", str(run), *TINY]) == 0
    shutil.copytree(root / "bird", root / "cat")  # a fourth class since
    (run / "final.json").unlink()
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run / "checkpoint.pt")]) == 2
    err = capsys.readouterr().err
    assert "was trained on 3 classes, but its dataset" in err and "now has 4" in err and err.count("\n") == 1
