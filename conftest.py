"""Notebooks that tests/test_browser.py runs in a real browser are not run a second time under nbmake.

The browser test executes each of them top to bottom in a fresh kernel (JupyterLab's Run All) and fails on any
error output, as nbmake would, and then drives its widgets. Where Chromium is missing the browser test is
skipped, and these notebooks run under nbmake like the others.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path


def browser_notebooks() -> tuple[str, ...]:
    """``BROWSER_NOTEBOOKS`` of tests/test_browser.py, read without importing it (it is a test module)."""
    tree = ast.parse((Path(__file__).parent / "tests" / "test_browser.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "BROWSER_NOTEBOOKS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def pytest_collection_modifyitems(config, items):
    browser_collected = any(item.nodeid.startswith("tests/test_browser.py") for item in items)
    if not browser_collected or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return
    BROWSER_NOTEBOOKS = browser_notebooks()

    in_browser = [item for item in items if item.nodeid.startswith("notebooks/") and item.nodeid.split("::")[0].split("/")[-1] in BROWSER_NOTEBOOKS]
    if in_browser:
        config.hook.pytest_deselected(items=in_browser)
        items[:] = [item for item in items if item not in in_browser]
