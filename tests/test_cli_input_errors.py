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
