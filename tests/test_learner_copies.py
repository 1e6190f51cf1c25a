"""Learner copies exist for every notebook, match their source, and contain no solution."""

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("learner_copies", ROOT / "tools" / "learner_copies.py")
learner_copies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(learner_copies)


def test_learner_copies_are_in_sync():
    stale = [str(p.relative_to(ROOT)) for p, text in learner_copies.expected_copies().items() if not p.exists() or p.read_text() != text]
    assert stale == [], f"run `make learner` to regenerate: {stale}"


def test_learner_copies_have_blanks_instead_of_solutions():
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        full = nbformat.read(source, as_version=4)
        learner = nbformat.read(ROOT / "learner" / source.name, as_version=4)
        solutions = [c for c in full.cells if "solution" in c.metadata.get("tags", []) and c.cell_type == "code"]
        blanks = [c for c in learner.cells if "exercise" in c.metadata.get("tags", [])]
        assert not any("solution" in c.metadata.get("tags", []) for c in learner.cells)
        assert len(blanks) == len(solutions), source.name
        assert len(solutions) >= 3, f"{source.name} should have three exercises with solutions"
        assert f"learner/{source.name}" in learner.cells[0].source


def test_solutions_are_hidden_in_the_full_notebooks():
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(source, as_version=4).cells:
            if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
                assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, source.name


def test_a_learner_copy_runs_top_to_bottom(tmp_path):
    """The learner's version runs as the full one does (its exercise cells are blank). One copy stands for all:
    they differ from their notebooks only by that, and make test runs every notebook."""
    from run_notebook import run_notebook

    nb = run_notebook(ROOT / "learner" / "00_setup.ipynb", tmp_path, timeout_s=300).notebook
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert any("Exercise 1: your code here" in c.source for c in nb.cells)
