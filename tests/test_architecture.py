"""The import rules of docs/architecture.md hold: the layer table is read from the page and every import of the
package (module level and inside functions) is checked against it; no module outside evonas/spaces imports a
concrete space or tests a space's name or type."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evonas"
PAGE = ROOT / "docs" / "architecture.md"
#: modules outside evonas/spaces that may import a concrete space (none)
CONCRETE_SPACE_EXCEPTIONS: set[str] = set()
#: what a space's name or type test looks like in source
NAME_TESTS = [
    re.compile(r"\bspace(?:_name)?\s*[!=]=\s*['\"]"),  # space == "darts", space_name != "nb201"
    re.compile(r"\.space\s*[!=]=\s*['\"]"),  # config.space == "darts"
    re.compile(r"space\.name\s*[!=]="),  # space.name == ...
    re.compile(r"getattr\(\s*\w*space\w*\s*,\s*['\"]name['\"][^)]*\)\s*[!=]="),  # getattr(space, "name") == ...
    re.compile(r"isinstance\([^)]*,\s*\(?\s*(?:Darts|Scarlet|NB201)Space\b"),  # isinstance(x, DartsSpace)
]


def layer_table() -> dict[str, set[str]]:
    """``{row module: allowed modules}`` from the page's table (row = first column, rules = last column)."""
    rows: dict[str, set[str]] = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`evonas"):
            continue
        for name in re.findall(r"`([\w.]+)`", cells[0]):
            rows[name] = {"evonas." + n for n in re.findall(r"`([\w.]+)`", cells[2])}
    return rows


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def row_of(module: str, rows: dict[str, set[str]]) -> str | None:
    matches = [r for r in rows if module == r or module.startswith(r + ".")]
    return max(matches, key=len) if matches else None


def evonas_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute ``evonas`` import in ``path``, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "evonas"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "evonas":
            # ``from evonas.spaces import darts`` imports the submodule evonas.spaces.darts
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return out


def allowed(target: str, own_row: str, rules: set[str], rows: dict[str, set[str]]) -> bool:
    target_row = row_of(target, rows) or target
    if target_row == own_row or target == "evonas" and own_row == "evonas":
        return True
    return any(target_row == r or target_row.startswith(r + ".") for r in rules)


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_page_has_a_layer_table_covering_every_module():
    rows = layer_table()
    assert len(rows) >= 20 and "evonas.spaces" in rows and "evonas.loop" in rows
    unplaced = [module_name(p) for p in MODULES if row_of(module_name(p), rows) is None]
    assert not unplaced, f"modules in no row of docs/architecture.md's layer table: {unplaced}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layer_table(path):
    rows = layer_table()
    module = module_name(path)
    own = row_of(module, rows)
    bad = [f"line {line}: {target}" for line, target in evonas_imports(path)
           if not allowed(target, own, rows[own], rows)]
    assert not bad, f"{module} ({own}) may import only {sorted(rows[own])}, but imports {bad}"


def test_nothing_outside_the_spaces_imports_a_concrete_space():
    bad = []
    for path in MODULES:
        module = module_name(path)
        if module.startswith("evonas.spaces") or module in CONCRETE_SPACE_EXCEPTIONS:
            continue
        for line, target in evonas_imports(path):
            parts = target.split(".")
            if parts[:2] == ["evonas", "spaces"] and len(parts) > 2 and parts[2] not in ("base", "SearchSpace",
                                                                                       "check_rng"):
                bad.append(f"{module} line {line}: {target}")
    assert not bad, f"concrete spaces imported outside evonas/spaces: {bad}"


def test_nothing_outside_the_spaces_tests_a_space_name_or_type():
    bad = []
    for path in MODULES:
        if module_name(path).startswith("evonas.spaces"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(pattern.search(line) for pattern in NAME_TESTS):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bad, "tests of a space's name or type outside evonas/spaces:\n" + "\n".join(bad)


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The rules are not vacuous: an upward import, a concrete space and a name branch are each found."""
    rows = layer_table()
    assert not allowed("evonas.loop", "evonas.spaces", rows["evonas.spaces"], rows)
    assert allowed("evonas.spaces.base", "evonas.training", rows["evonas.training"], rows)
    assert allowed("evonas.deploy.onnx", "evonas.evaluators", rows["evonas.evaluators"], rows)
    assert not allowed("evonas.deploy.export", "evonas.evaluators", rows["evonas.evaluators"], rows)
    source = tmp_path / "m.py"
    source.write_text("def f(config):\n    from evonas.spaces.darts import DartsSpace\n"
                      "    return config.space == 'darts'\n")
    assert evonas_imports(source) == [(2, "evonas.spaces.darts.DartsSpace")]
    assert any(p.search("    return config.space == 'darts'") for p in NAME_TESTS)
    assert any(p.search("if isinstance(self.space, DartsSpace):") for p in NAME_TESTS)


def test_every_module_declares_its_public_names():
    """``__all__`` everywhere: each module of the package says what it exports, and every name it lists exists."""
    import importlib

    lacking, broken = [], []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared = [node for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", None) == "__all__" for t in node.targets)]
        module = module_name(path)
        if module.endswith("__main__"):  # ``python -m`` entry: runs, exports nothing
            continue
        if not declared:
            lacking.append(str(path.relative_to(ROOT)))
            continue
        try:
            loaded = importlib.import_module(module)
        except ImportError:  # an optional back-end (ray) is not installed
            continue
        broken += [f"{module}.{name}" for name in loaded.__all__ if not hasattr(loaded, name)]
    assert not lacking, f"modules without __all__: {lacking}"
    assert not broken, f"names in __all__ that do not exist: {broken}"
