"""Notebook hygiene: structure every notebook shares, and stripped outputs. nbmake runs them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REPO = "controlnet-tutorial/controlnet-tutorial"


def load(path: Path):
    return nbformat.read(path, as_version=4)


def test_notebooks_are_numbered_in_sequence():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))) and len(numbers) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_and_widget_state_are_stripped(path):
    nb = load(path)
    assert "widgets" not in nb.metadata, "widget state saved: run `make strip`"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"outputs left in {path.name}: run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_cells(path):
    nb = load(path)
    nbformat.validate(nb)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown" and intro.source.startswith(f"# {path.name[:2]} ")
    assert "**You will:**" in intro.source and re.search(r"\*\*Time:\*\* \d+ minutes", intro.source)
    colab_url = f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{path.name}"
    assert colab_url in intro.source, "Colab badge must point at this very file"
    colab = nb.cells[1]
    assert colab.metadata.get("tags") == ["skip-execution"]
    assert 'if "google.colab" in sys.modules:' in colab.source
    parameter_cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameter_cells) == 1, "exactly one cell tagged `parameters`"
    first_code = [c for c in nb.cells if c.cell_type == "code"][1]
    assert first_code is parameter_cells[0], "the parameters cell is the first code cell after the Colab cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_secrets_or_sys_path_hacks(path):
    text = path.read_text()
    assert "sys.path" not in text, "notebooks import the installed helpers package"
    assert not re.search(r"hf_[A-Za-z0-9]{20,}", text), "a Hugging Face token is committed"
    assert "trust_remote_code" not in text


def test_a_notebook_runs_from_another_working_folder(tmp_path):
    """nbmake runs each notebook in its own folder; learners may start Jupyter anywhere."""
    from run_notebook import run_notebook

    nb = run_notebook(ROOT / "notebooks" / "01_canny.ipynb", tmp_path, timeout_s=120).notebook
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_prediction_is_revealed(path):
    """After each **Predict:** and before the next: the learner's guess is written down (``my_guess`` or a widget),
    a code cell prints it beside what the run measured (``helpers.reveal``), and a "What just happened" follows it."""
    cells = load(path).cells
    starts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.search(r"(?:^|\n\n)\*\*Predict:\*\*", c.source)]
    assert starts
    for k, start in enumerate(starts):
        window = cells[start + 1 : starts[k + 1] if k + 1 < len(starts) else len(cells)]
        revealed = next((j for j, c in enumerate(window) if c.cell_type == "code" and "reveal(" in c.source), None)
        assert revealed is not None, f"{path.name}: the prediction in cell {start} is never revealed"
        assert any(c.cell_type == "code" and re.search(r"my_guess = |guess = widgets\.", c.source) for c in window[: revealed + 1])
        assert any(c.cell_type == "markdown" and c.source.startswith("**What just happened:**") for c in window[revealed + 1 :]), \
            f"{path.name}: the reveal after cell {start} has no explanation after it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_predict_then_run_and_exercises(path):
    """Every notebook asks the learner to predict at least twice (a markdown cell of its own, followed by the
    code that settles it, sooner or later) and has at least three exercises with hidden solutions."""
    nb = load(path)
    predicts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("**Predict:**")]
    assert len(predicts) >= 2, "at least two **Predict:** cells"
    for i in predicts:
        assert any(c.cell_type == "code" for c in nb.cells[i + 1 :]), "a prediction is settled by code that follows it"
    solutions = [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 3 and all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)
    assert any(c.cell_type == "markdown" and "## Exercises" in c.source for c in nb.cells)
