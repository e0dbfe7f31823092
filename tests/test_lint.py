"""The repository passes its linter (ruff, configured in ruff.toml) with zero findings."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    if shutil.which("ruff"):
        return ["ruff"]
    try:
        import ruff  # noqa: F401  (the wheel ships the binary)
    except ImportError:
        pytest.skip('ruff is not installed (pip install -e ".[dev]")')
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_reads_the_repository_configuration(tmp_path):
    """A finding the configuration selects is reported: the check above is not vacuous."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--config", str(ROOT / "ruff.toml"), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "F401" in proc.stdout


def test_the_project_stands_alone():
    """What users get (the package, docs, examples, benchmarks, README) never points at the developers' own
    notes beside the repository (``../shared``, its algorithm digest): facts are stated and papers cited here."""
    shipped = [ROOT / "README.md", *[path for folder in ("evonas", "docs", "examples", "benchmarks")
                                     for path in (ROOT / folder).rglob("*")
                                     if path.suffix in (".py", ".md", ".toml", ".yaml", ".yml", ".html", ".js")]]
    found = [f"{path.relative_to(ROOT)}:{n}" for path in shipped
             for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if "ALGORITHMS.md" in line or "/shared/" in line or "../shared" in line]
    assert not found, f"references to files users do not have: {found}"
