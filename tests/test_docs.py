"""The README's code runs: every Python snippet (with tiny budgets) and every ``evonas`` command line parses."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# What makes a snippet quick enough for the test suite; each text must be in the README (else the test fails,
# so a changed snippet gets a new entry here rather than running at full size).
TINY = {
    "epochs=4)": "epochs=1, split=(0.1, 0.1), recalibration_images=64, val_images=128)",
    "budget=60": "budget=8",
    "pop_size=12": "pop_size=4",
    'supernet_kwargs={"C": 8, "layers": 5}, val_images=256)':
        'supernet_kwargs={"C": 4, "layers": 3}, val_images=32, recalibration_images=32, progress=False)',
    "pop_size=8, generations=4, member_steps=20": "pop_size=2, generations=1, member_steps=1",
    "budget=32": "budget=2",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def command_lines() -> list[str]:
    lines = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("evonas "):
                lines.append(line.strip())
    return lines


def test_readme_has_snippets_and_commands():
    assert len(blocks("python")) >= 3 and len(command_lines()) >= 10


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_snippet_runs(index, tmp_path):
    code = blocks("python")[index]
    for original, tiny in TINY.items():
        code = code.replace(original, tiny)
    # a fresh interpreter, as a reader pastes it, with nothing of evonas imported beforehand
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"README snippet {index} failed:\n{code}\n{proc.stderr[-3000:]}"


def test_tiny_replacements_still_match_the_readme():
    text = "\n".join(blocks("python"))
    missing = [original for original in TINY if original not in text]
    assert not missing, f"README snippets changed; update TINY in this test: {missing}"


@pytest.mark.parametrize("line", command_lines())
def test_command_line_parses(line):
    from evonas.cli import build_parser

    argv = shlex.split(line, comments=True)[1:]
    build_parser().parse_args(argv)  # argparse exits (SystemExit) on an unknown flag or a missing argument


def test_evonas_search_stays_the_function_whatever_is_imported():
    """No module may shadow the package's ``search`` function (it once did: 'module' object is not callable)."""
    code = textwrap.dedent(
        """
        import pkgutil, importlib, evonas
        first = evonas.search
        for module in pkgutil.walk_packages(evonas.__path__, "evonas."):
            importlib.import_module(module.name)
        assert callable(evonas.search) and evonas.search is first, evonas.search
        assert first.__module__ == "evonas.loop"
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
