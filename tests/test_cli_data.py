"""The ``evonas data`` subcommands, and one-line errors for bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evonas.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_builtin(capsys):
    code, out, err = run(capsys, "data", "info", "cifar10-mini")
    assert code == 0
    assert "3805" in out and "32x32" in out and "airplane" in out


def test_info_json(capsys):
    code, out, _ = run(capsys, "data", "info", "mnist-test", "--json")
    info = json.loads(out)
    assert code == 0 and info["count"] == 10000 and info["channels"] == 1


def test_pack_info_verify_on_image_folder(capsys, tmp_path, image_folder):
    root, _, _ = image_folder
    out_path = tmp_path / "f.lmdb"
    code, out, _ = run(capsys, "data", "pack", str(root), str(out_path), "--quiet")
    assert code == 0 and "12 images" in out
    code, out, _ = run(capsys, "data", "info", str(out_path))
    assert code == 0 and "lmdb" in out and "12" in out
    code, out, _ = run(capsys, "data", "verify", str(out_path), "--decode")
    assert code == 0 and "12 records" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "info", "cifar11"], "unknown dataset 'cifar11'"),
        (["data", "info", "/no/such/dir"], "no such file or folder"),
        (["data", "info", "cifar10"], "needs --root"),
        (["data", "verify", "/no/such.lmdb"], "no such LMDB"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_pack_refuses_to_overwrite(capsys, tmp_path):
    target = tmp_path / "x.lmdb"
    target.mkdir()
    code, _, err = run(capsys, "data", "pack", "cifar10-mini", str(target), "--quiet")
    assert code == 2 and "already exists" in err


def test_console_script_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = subprocess.run([sys.executable, "-m", "evonas.cli", "data", "info", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("evonas: error:") and "Traceback" not in proc.stderr
