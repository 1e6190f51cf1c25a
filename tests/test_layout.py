"""The package's shape: every module is listed where a newcomer looks (the package docstring and README's
layout), the helpers import each other in one direction only (no cycle), and none grows past a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import helpers

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "helpers").glob("*.py") if p.stem != "__init__")


def test_every_module_is_listed_in_the_package_docstring_and_the_readme():
    documented = set(re.findall(r"``(\w+)``", helpers.__doc__))
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :].split("```")[1]
    for name in MODULES:
        assert name in documented, f"helpers/{name}.py is missing from the package docstring"
        assert re.search(rf"\b{name}\b", layout), f"helpers/{name}.py is missing from README's layout"


def imports_of(name: str) -> set[str]:
    """The helpers modules that ``helpers/<name>.py`` imports, at the top or inside functions."""
    tree = ast.parse((ROOT / "helpers" / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers."):
            found.add(node.module.split(".")[1])
    return found & set(MODULES)


def test_no_import_cycle_among_the_helpers():
    graph = {name: imports_of(name) for name in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for following in sorted(graph[node]):
            assert state.get(following) != 1, "import cycle: " + " -> ".join(path + [node, following])
            if following not in state:
                visit(following, path + [node])
        state[node] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [])


def test_no_module_grows_past_a_readable_size():
    """One job per module: a module over ~300 lines is a sign it does two (split it along its jobs)."""
    sizes = {name: len((ROOT / "helpers" / f"{name}.py").read_text().splitlines()) for name in MODULES}
    assert max(sizes.values()) <= 320, {name: n for name, n in sizes.items() if n > 320}
