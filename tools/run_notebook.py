"""The one way this repository executes a notebook: papermill reads it and injects parameters after the cell tagged
``parameters`` (as a teacher would, never by editing the notebook), nbclient runs it in a fresh kernel from a chosen
working folder. Used by the benchmark (``tools/bench.py``), the rehearsal (``tools/rehearse.py``, cell by cell
through ``client``) and the tests that run a notebook whole.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def parameter_names(nb) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``. Read with ``ast``, not ``papermill.inspect_notebook``:
    papermill's line parser misses tuple assignments (``LOW, HIGH = 100, 200`` in 01 and 04) and a line whose comment
    holds an ``=`` (02's ``LATENT_SIZE``), and would leave those names out of the injection."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            targets = [t for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Assign) for t in node.targets]
            return {name.id for t in targets for name in ast.walk(t) if isinstance(name, ast.Name)}
    return set()


def prepared(path: Path, parameters: dict[str, Any] | None = None, skip_solutions: bool = False) -> tuple[Any, dict[str, Any]]:
    """The notebook at ``path`` ready to run, and the parameters injected: those of ``parameters`` that its
    ``parameters`` cell assigns (others are left out). ``skip_solutions`` drops the cells tagged ``solution``."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(path))  # papermill's reader: adds the metadata its injection needs
    if skip_solutions:
        nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    injected = {k: v for k, v in (parameters or {}).items() if k in parameter_names(nb)}
    return (parameterize_notebook(nb, injected) if injected else nb), injected


def client(nb, workdir: Path, kernel: str = "python3", timeout_s: float = 600):
    """An nbclient client for ``nb`` that runs in ``workdir`` (cells tagged ``skip-execution`` are skipped, as in
    nbclient's default: the Colab install cell)."""
    from nbclient import NotebookClient

    return NotebookClient(nb, timeout=timeout_s, kernel_name=kernel, resources={"metadata": {"path": str(workdir)}})


@dataclass
class Run:
    notebook: Any  # the executed notebook (nbformat.NotebookNode), outputs included
    seconds: float
    injected: dict[str, Any]


def run_notebook(source: Path | Any, workdir: Path, parameters: dict[str, Any] | None = None, kernel: str = "python3",
                 timeout_s: float = 600, skip_solutions: bool = False) -> Run:
    """Run a notebook (a path, or an already read notebook) top to bottom in a fresh kernel from ``workdir``;
    raises nbclient's ``CellExecutionError`` at the first failing cell."""
    nb, injected = prepared(Path(source), parameters, skip_solutions) if isinstance(source, (str, Path)) else (source, {})
    start = time.perf_counter()
    client(nb, Path(workdir), kernel, timeout_s).execute()
    return Run(nb, time.perf_counter() - start, injected)
