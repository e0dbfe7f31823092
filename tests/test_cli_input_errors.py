"""One-line errors for bad command-line input: SCARLET architectures as JSON lists, misspelt options."""
import json

import pytest

from evonas.cli import main
from evonas.spaces.scarlet import SKIP, resolve_arch


def _train_error(capsys, tmp_path, arch):
    code = main(["train", "--space", "scarlet", "--arch", arch, "--run-dir", str(tmp_path / "run"),
                 "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "run").exists()
    assert err.startswith("evonas: error: ") and err.count("\n") == 1
    return err


@pytest.mark.parametrize("names", [False, True])
def test_json_list_of_wrong_length_says_so(capsys, tmp_path, names):
    arch = ["mb3_k3"] * 18 if names else list(range(12)) + [0] * 6
    err = _train_error(capsys, tmp_path, json.dumps(arch))
    assert "has 19 layers, got 18" in err and "unknown SCARLET architecture name" not in err


def test_json_list_with_illegal_skip_names_the_layer(capsys, tmp_path):
    arch = list(resolve_arch("SCARLET_B"))
    arch[0] = SKIP
    err = _train_error(capsys, tmp_path, json.dumps(arch))
    assert "layer 1 (stride 2, 16 -> 32 channels): skip is not allowed" in err


def test_misspelt_space_option_of_train_gets_a_suggestion(capsys, tmp_path):
    from evonas.cli import main

    argv = ["train", "--genotype", "DARTS_V2", "--space-opt", "allow_duplicate_input=true", "--epochs", "1",
            "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "did you mean 'allow_duplicate_inputs'?" in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, message", [
    (["search", "--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--budget", "10",
      "--executor", "processes", "--workers", "0"], "argument --workers: must be >= 1, got 0"),
    (["rank", "--archs", "16000"], "archs must be a number of cells from 3 to the table's 15625, got 16000"),
    (["rank", "--archs", "2"], "archs must be a number of cells from 3"),
    (["op-clusters", "--max-k", "1"], "max_k must be >= 2"),
    (["op-clusters", "--ops", "skip_connect,none"], "at least 3 ops"),
])
def test_values_out_of_range_are_one_line_errors_before_any_work(capsys, tmp_path, monkeypatch, argv, message):
    """Values that used to hang, mean something else or find nothing are refused at once (issue 27)."""
    monkeypatch.chdir(tmp_path)
    out = ["--out", str(tmp_path / "out")] if argv[0] in ("rank", "op-clusters") else ["--run-dir", str(tmp_path / "r")]
    assert main([*argv, *out]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "r").exists()


def test_train_supernet_refuses_a_directory_as_its_checkpoint(capsys, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept")
    assert main(["train-supernet", "--space", "nb201", "--checkpoint", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["runs"] and (folder / "kept.txt").read_text() == "kept"


def test_export_refuses_a_zero_image_size(capsys, tmp_path):
    assert main(["export", str(tmp_path), "--image-size", "0"]) == 2
    assert "argument --image-size: must be >= 1, got 0" in capsys.readouterr().err
    from evonas.deploy.export import export_run
    from evonas.errors import ConfigError

    with pytest.raises(ConfigError, match="image_size must be a positive number of pixels, got 0"):
        export_run(tmp_path, image_size=0)


def _table_lines(n):
    """The header and the first ``n`` rows of the shipped NAS-Bench-201 table."""
    import gzip

    from evonas.evaluators.tabular import TABLE

    return gzip.decompress(TABLE.read_bytes()).decode().splitlines()[:n + 1]


def _edited(lines, row, column, value):
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    return [*lines[:row], ",".join(cells), *lines[row + 1:]]


@pytest.mark.parametrize("edit, message", [
    (lambda lines: _edited(lines, 2, "cifar10_test", ""), "line 3: column 'cifar10_test' holds '', not a number"),
    (lambda lines: _edited(lines, 1, "cifar10_valid_val", "n/a"), "line 2: column 'cifar10_valid_val' holds 'n/a'"),
    (lambda lines: lines[:1], "without rows (only its header)"),
    (lambda lines: [*lines[:3], lines[3] + ",1.0", *lines[4:]], "line 4: 9 fields, the header names 8"),
    (lambda lines: _edited(lines, 4, "arch_str", "|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
     "'|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|' is not a NAS-Bench-201 cell"),
    (lambda lines: lines[:6], "archs must be a number of cells from 3 to the table's 5, got 8"),
])
def test_rank_with_a_broken_table_is_a_one_line_error(capsys, tmp_path, edit, message):
    """A hand-made or damaged --table (issue 27, item 7) is named in one line before any scoring."""
    table = tmp_path / "table.csv"
    table.write_text("\n".join(edit(_table_lines(30))) + "\n")
    assert main(["rank", "--table", str(table), "--archs", "8", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_rank_draws_its_cells_from_a_partial_table(capsys, tmp_path):
    table = tmp_path / "table.csv"
    lines = _table_lines(12)
    table.write_text("\n".join(lines) + "\n")
    argv = ["rank", "--table", str(table), "--archs", "6", "--scorer", "synflow", "--evaluator-opt",
            'net_kwargs={"C": 4, "N": 1}', "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 0
    ranked = (tmp_path / "out" / "ranking.csv").read_text().splitlines()[1:]
    in_table = {line.split(",")[1] for line in lines[1:]}
    assert len(ranked) == 6 and {row.split(",")[0] for row in ranked} <= in_table


@pytest.mark.parametrize("argv, message", [
    (["score", "{file}", "--nb301", "{dir}"], "is not text"),
    (["train", "--genotype", "{file}", "--epochs", "1"], "is not text"),
    (["train", "--genotype", "{file}.json", "--epochs", "1"], "is not text"),
    (["train", "--genotype", "{dir}", "--epochs", "1"], "is a directory"),
    (["train", "--space", "scarlet", "--arch", "{file}", "--epochs", "1"], "cannot read SCARLET architecture file"),
    (["train", "--space", "scarlet", "--arch", "{dir}", "--epochs", "1"], "is a directory"),
])
def test_a_binary_file_or_a_directory_as_genotype_is_a_one_line_error(capsys, tmp_path, argv, message):
    """Issue 27, items 7 and 9: a binary file given as a genotype (was: UnicodeDecodeError) and a directory
    (was: 'not an existing file') are named for what they are."""
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    (tmp_path / "weights.bin.json").write_bytes(bytes(range(256)) * 4)
    folder = tmp_path / "folder"
    folder.mkdir()
    argv = [a.format(file=binary, dir=folder) for a in argv]
    if argv[0] == "train":
        argv += ["--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "run").exists()
