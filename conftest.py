"""Notebooks that the browser tests (tests/test_browser*.py) run in a real browser are not run a second time under nbmake,
nor are the Chinese edition's (tests/test_translations.py runs a stated subset and says why).

A browser test executes each notebook of its module's ``NOTEBOOKS`` top to bottom in a fresh kernel (JupyterLab's
Run All) and fails on any error output, as nbmake would, and then drives its widgets. Where Chromium is missing
the browser tests are skipped, and these notebooks run under nbmake like the others; so do the notebooks of a
browser module that is not part of the run.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path


def module_notebooks(path: Path) -> tuple[str, ...]:
    """``NOTEBOOKS`` of a browser test module, read without importing it (it is a test module)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NOTEBOOKS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def pytest_collection_modifyitems(config, items):
    # The Chinese edition's notebooks: tests/test_translations.py runs a subset (RUN_IN_MAKE_TEST says why) and checks its Chinese.
    chinese = [item for item in items if item.nodeid.startswith("notebooks/zh/")]
    if chinese:
        config.hook.pytest_deselected(items=chinese)
        items[:] = [item for item in items if item not in chinese]
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return
    browser_modules = {Path(str(item.path)) for item in items if item.path.name.startswith("test_browser")}
    in_a_browser = {name for module in browser_modules for name in module_notebooks(module)}
    twice = [item for item in items if item.nodeid.split("::")[0] in {f"notebooks/{name}" for name in in_a_browser}]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if item not in twice]
