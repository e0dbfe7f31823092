"""The documentation runs: every fenced block of README.md and docs/**/*.md is run or checked, and the site builds.

How a block is treated depends on its language:

* ``python``: run in a fresh interpreter, as a reader pastes it, with its budgets cut by :data:`TINY`;
* ``bash``: every ``evonas ...`` line (also after ``torchrun ... --no-python``) is parsed by the command's own
  parser, the lines in :data:`RUN` really run (cut the same way), and every ``examples/*.py`` or
  ``benchmarks/*.py`` it names exists and defines the ``--options`` the line gives it;
* ``toml``: search settings, loaded as ``evonas search --config`` loads them;
* no language: output or a diagram, not run.

Any other language fails :func:`test_every_block_has_a_known_language`, so a new kind of block gets a rule here.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]

# What makes a snippet quick enough for the test suite; each text must be in some python block (else the test
# fails, so a changed snippet gets a new entry here rather than running at full size).
TINY = {
    "epochs=4)": "epochs=1, split=(0.1, 0.1), recalibration_images=64, val_images=128)",
    "budget=60": "budget=8",
    "pop_size=12": "pop_size=4",
    'supernet_kwargs={"C": 8, "layers": 5}, val_images=256)':
        'supernet_kwargs={"C": 4, "layers": 3}, val_images=32, recalibration_images=32, progress=False)',
    "pop_size=8, generations=4, member_steps=20": "pop_size=2, generations=1, member_steps=1",
    "budget=32": "budget=2",
}

# Command lines of bash blocks that run for real (in a temporary folder), each with its replacements; each must
# begin some line of a bash block (that line, comment dropped, is what runs). The others are parsed only: they
# train for minutes or need files a reader brings.
RUN = {
    "evonas data info cifar10-mini": {},
    "evonas search --space nb201 --strategy nsga2 --evaluator nb201-table --budget 200":
        {"--budget 200": "--budget 40"},
}

SHELL = ("bash", "sh", "shell", "console")
KNOWN = ("python", "toml", "", "text") + SHELL


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def read_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page (fences may be indented, as inside a list item)."""
    found, lines = [], page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(`{3,})\s*([\w+-]*)", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, language = opening.groups()
        end = i + 1
        while end < len(lines) and not re.match(rf"^\s*{fence}\s*$", lines[end]):
            end += 1
        assert end < len(lines), f"{page.relative_to(ROOT)}:{i + 1}: a code block is never closed"
        body = [line.removeprefix(indent) for line in lines[i + 1:end]]
        found.append(Block(page, i + 1, language.lower(), "\n".join(body) + "\n"))
        i = end + 1
    return found


BLOCKS = [block for page in PAGES for block in read_blocks(page)]


def blocks(*languages: str) -> list[Block]:
    return [block for block in BLOCKS if block.language in languages]


def shell_lines(block: Block) -> list[str]:
    return [line.strip() for line in block.code.replace("\\\n", " ").splitlines() if line.strip()]


def evonas_argv(line: str) -> list[str] | None:
    """The arguments after ``evonas`` on a shell line (``evonas ...`` or ``torchrun ... --no-python evonas ...``)."""
    words = shlex.split(line, comments=True)
    if words[:1] == ["evonas"]:
        return words[1:]
    if words[:1] == ["torchrun"] and "evonas" in words:
        return words[words.index("evonas") + 1:]
    return None


COMMANDS = [(block, line) for block in blocks(*SHELL) for line in shell_lines(block) if evonas_argv(line)]
SCRIPTS = [(block, line) for block in blocks(*SHELL) for line in shell_lines(block)
           if re.search(r"\b(examples|benchmarks)/\w+\.py\b", line)]


def test_the_docs_have_blocks_of_every_kind():
    readme = [block for block in BLOCKS if block.page == README]
    assert any(block.language == "python" for block in readme)
    assert sum(1 for block, _ in COMMANDS if block.page == README) >= 10
    assert len(blocks("python")) >= 6 and len(COMMANDS) >= 40 and len(SCRIPTS) >= 20 and blocks("toml")


def test_every_block_has_a_known_language():
    unknown = [f"{block.id} ({block.language})" for block in BLOCKS if block.language not in KNOWN]
    assert not unknown, f"blocks of a language test_docs.py has no rule for: {unknown}"


@pytest.mark.parametrize("block", blocks("python"), ids=lambda block: block.id)
def test_python_block_runs(block, tmp_path):
    code = block.code
    for original, tiny in TINY.items():
        code = code.replace(original, tiny)
    # a fresh interpreter, as a reader pastes it, with nothing of evonas imported beforehand
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{block.id} failed:\n{code}\n{proc.stderr[-3000:]}"


def test_tiny_replacements_still_match_the_docs():
    text = "\n".join(block.code for block in blocks("python"))
    missing = [original for original in TINY if original not in text]
    assert not missing, f"python blocks changed; update TINY in this test: {missing}"


def test_run_lines_still_match_the_docs():
    missing = [start for start in RUN if not run_line(start)]
    assert not missing, f"bash blocks changed; update RUN in this test: {missing}"
    for line, replacements in RUN.items():
        assert all(original in line for original in replacements), line


@pytest.mark.parametrize("block,line", COMMANDS, ids=[f"{block.id} {line[:60]}" for block, line in COMMANDS])
def test_command_line_parses(block, line):
    from evonas.cli import build_parser

    build_parser().parse_args(evonas_argv(line))  # argparse exits (SystemExit) on an unknown flag or a missing argument


def run_line(start: str) -> str | None:
    return next((line for _, line in COMMANDS if line.startswith(start)), None)


@pytest.mark.parametrize("start", list(RUN))
def test_command_line_runs(start, tmp_path):
    line = run_line(start)
    for original, tiny in RUN[start].items():
        line = line.replace(original, tiny)
    runner = "import sys; from evonas.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", runner, *evonas_argv(line)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{line} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("block,line", SCRIPTS, ids=[f"{block.id} {line[:60]}" for block, line in SCRIPTS])
def test_script_line_names_a_script_and_its_options(block, line):
    words = shlex.split(line, comments=True)
    script = next(word for word in words if re.fullmatch(r"(examples|benchmarks)/\w+\.py", word))
    path = ROOT / script
    assert path.is_file(), f"{block.id}: {script} does not exist"
    source = path.read_text(encoding="utf-8")
    options = [word.split("=")[0] for word in words[words.index(script) + 1:] if word.startswith("--")]
    unknown = [option for option in options if f'"{option}"' not in source]
    assert not unknown, f"{block.id}: {script} defines no option {unknown}"


@pytest.mark.parametrize("block", blocks("toml"), ids=lambda block: block.id)
def test_toml_block_is_valid_search_settings(block, tmp_path):
    from evonas.search_config import build_components, load_config_file, make_config

    path = tmp_path / "search.toml"
    path.write_text(block.code, encoding="utf-8")
    build_components(make_config(load_config_file(path)))  # an unknown key or option raises ConfigError


def test_every_subcommand_is_in_the_readme_and_the_cli_page():
    from evonas.cli import build_parser

    subparsers = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    commands = subparsers.choices
    for page in (README, ROOT / "docs" / "cli.md"):
        shown = {evonas_argv(line)[0] for block, line in COMMANDS if block.page == page}
        missing = sorted(set(commands) - shown)
        assert not missing, f"{page.relative_to(ROOT)} shows no example of: {missing}"


def slug(heading: str) -> str:
    """The anchor MkDocs' table of contents gives a heading."""
    text = re.sub(r"[`*_\[\]()]", "", heading.strip().lower())
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", text)).strip("-")


def test_readme_links_resolve():
    """MkDocs checks the links inside docs/; the README is outside it, so its links are checked here."""
    text = re.sub(r"```.*?```", "", README.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://|mailto:", target):
            continue
        file, _, anchor = target.partition("#")
        path = ROOT / file if file else README
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md":
            headings = re.findall(r"^#+\s+(.*)$", path.read_text(encoding="utf-8"), flags=re.M)
            if anchor not in {slug(heading) for heading in headings}:
                broken.append(target)
    assert not broken, f"README links to nothing: {broken}"


def test_readme_stays_an_overview():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines; move detail into docs/ (at most about 300)"


def test_ci_runs_the_readme_test_command_verbatim():
    command = 'pip install -e ".[dev]" && python -m pytest'
    assert command in README.read_text(encoding="utf-8")
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_site_builds_strictly(tmp_path):
    """``mkdocs build --strict``: a broken link or anchor, a page missing from the nav or a bad docstring fails."""
    missing = [name for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
               if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed (pip install -e '.[docs]'): missing {missing}")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8").count("SearchSpace") > 0


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
