"""The package's shape: every module is listed where a newcomer looks (the package docstrings, README's layout,
docs/architecture.md), the layers import one way only and without a cycle, nothing installed imports the repository's
tools, no module grows past a readable size, notebooks import few modules, and the wheel holds every sub-package."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import helpers

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "helpers"


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {dotted(p): p for p in FILES}  # "helpers", "helpers.models", "helpers.models.sd15", ...
SUBPACKAGES = sorted(dotted(p) for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)
# Bottom to top: a module imports only from its own layer or those below (the façade, helpers/__init__.py, from any).
LAYERS = ("files", "models", "hub", "core", "tiny", "ui")


def layer(module: str) -> int:
    parts = module.split(".")
    if module in ("helpers.files", "helpers.i18n", "helpers.data"):
        return LAYERS.index("files")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return LAYERS.index("core")


def imports_of(module: str) -> set[str]:
    """The helpers modules that ``module`` imports, at the top or inside functions (``from helpers.x import y``: the
    module ``helpers.x.y`` where that is one, else ``helpers.x``)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            assert node.level == 0, f"{module}: relative import (this package imports by absolute names)"
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in MODULES or name == "helpers.data" else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "helpers"}
    return found - {module}


def test_every_module_is_listed_in_its_package_docstring_the_readme_and_the_architecture_page():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :].split("```")[1]
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for module, path in MODULES.items():
        name = module.rsplit(".", 1)[-1]
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path}: no docstring saying what it is for"
        assert re.search(rf"\b{name}\b", layout), f"{path} is missing from README's layout"
        assert re.search(rf"\b{name}\b", architecture), f"{path} is missing from docs/architecture.md"
        if module.count(".") == 1 and module not in SUBPACKAGES:  # the learner's surface, at the top level
            assert f"``{name}``" in helpers.__doc__ or f"``{module}``" in helpers.__doc__, f"{path} is missing from the package docstring"


def test_sub_packages_each_say_their_purpose_and_the_wheel_holds_them_and_no_tooling(tmp_path):
    for package in SUBPACKAGES:
        assert importlib.import_module(package).__doc__, f"{package}/__init__.py needs a one-line purpose"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    shipped = {n[: -len(".py")].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")} - {"helpers.data"}
    assert shipped == set(MODULES), {"missing": set(MODULES) - shipped, "extra": shipped - set(MODULES)}
    assert "helpers/data/shapes-demo.png" in names and any(n.startswith("helpers/data/models/shapes-controlnet/") for n in names)
    assert not [n for n in names if n.startswith("tools/") or n.startswith("tests/")]


def test_layers_point_one_way():
    for module in MODULES:
        if module == "helpers":
            continue  # the façade re-exports from every layer
        for target in imports_of(module):
            assert layer(target) <= layer(module), f"{module} ({LAYERS[layer(module)]}) imports {target} ({LAYERS[layer(target)]}) above it"


def test_nothing_installed_imports_the_repositorys_tools():
    tools = {p.stem for p in (ROOT / "tools").glob("*.py")}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & (tools | {"tools"}), f"{module} imports repository tooling: {names}"


def test_no_import_cycle_among_the_helpers():
    graph = {module: imports_of(module) & set(MODULES) for module in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for following in sorted(graph[node]):
            assert state.get(following) != 1, "import cycle: " + " -> ".join(path + [node, following])
            if following not in state:
                visit(following, path + [node])
        state[node] = 2

    for module in MODULES:
        if module not in state and module != "helpers":
            visit(module, [])


def test_no_module_grows_past_a_readable_size():
    """One job per module: a module over ~300 lines is a sign it does two (split it along its jobs)."""
    sizes = {module: len(path.read_text().splitlines()) for module, path in MODULES.items()}
    assert max(sizes.values()) <= 320, {module: n for module, n in sizes.items() if n > 320}


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name[:2])
def test_each_notebook_imports_at_most_five_helpers_modules_by_names_that_mean_one_thing(path):
    """A notebook reaches the façade (``import helpers``) and a few modules, not deep into the package; an alias is a
    word (``from helpers import concepts``), never a letter that means concepts here and circles there."""
    modules, aliases = set(), []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = re.sub(r"^(\s*)[!%].*$", r"\1pass", cell.source, flags=re.M)  # shell and magic lines
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
                aliases += [a.asname for a in node.names if a.asname and a.name.startswith("helpers")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "helpers":
                modules |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names}
                aliases += [a.asname for a in node.names if a.asname]
    assert len(modules) <= 5, sorted(modules)
    assert all(len(alias) > 1 for alias in aliases), aliases


def test_importing_the_package_changes_nothing_in_the_process():
    """No import-time side effects: no environment variable set (transformers' verbosity is the launcher's business:
    ``make lab``, binder/start), nothing downloaded, diffusers not imported until a model is needed."""
    # OpenCV's own loader puts its library folder on LD_LIBRARY_PATH when cv2 is imported: not this package's doing.
    code = ("import os, sys; env = lambda: {k: v for k, v in os.environ.items() if k != 'LD_LIBRARY_PATH'}; before = env(); "
            "import helpers, helpers.tiny, helpers.ui.widgets, helpers.recipes, helpers.check; print(env() == before, 'diffusers' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "TRANSFORMERS_VERBOSITY"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT.parent)
    assert run.stdout.split() == ["True", "False"], run.stderr
