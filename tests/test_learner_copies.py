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


def test_learner_copies_have_blanks_and_checks_instead_of_solutions():
    """Each exercise becomes a blank cell; a code exercise also gets a check built from its solution's asserts (at
    least two checked exercises per notebook from 01 on), and each notebook has an "explain why" answered in prose."""
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        full = nbformat.read(source, as_version=4)
        learner = nbformat.read(ROOT / "learner" / source.name, as_version=4)
        solutions = [c for c in full.cells if "solution" in c.metadata.get("tags", []) and learner_copies.solution_number(c)]
        code = [c for c in solutions if c.cell_type == "code"]
        blanks = [c for c in learner.cells if "exercise" in c.metadata.get("tags", [])]
        checks = [c for c in learner.cells if "exercise-check" in c.metadata.get("tags", [])]
        assert not any("solution" in c.metadata.get("tags", []) for c in learner.cells)
        assert len(blanks) == len(solutions) and len(checks) == len(code), source.name
        assert len(code) >= 3, f"{source.name} should have three exercises with solutions"
        assert any(c.cell_type == "markdown" for c in solutions), f"{source.name}: an 'explain why' exercise answered in prose"
        for solution, check in zip(code, checks):
            asserts = learner_copies.solution_checks(solution.source)
            assert asserts and all(message for _, message in asserts), f"{source.name}: {solution.source.splitlines()[0]} has no assert to check"
            assert check.source == learner_copies.check_cell_source(learner_copies.solution_number(solution), asserts)
            previous = learner.cells[learner.cells.index(check) - 1]
            assert "exercise" in previous.metadata.get("tags", []), "the check follows its blank cell"
        assert f"learner/{source.name}" in learner.cells[0].source


def test_a_solution_assert_without_a_message_is_refused():
    import pytest

    with pytest.raises(ValueError, match="plain-string message"):
        learner_copies.solution_checks("x = 1\nassert x == 1\n")
    assert learner_copies.solution_checks("%time x = 2\nassert x == 2, 'x is 2'") == [("x == 2", "x is 2")]


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
    printed = "".join(o.get("text", "") for c in nb.cells if "exercise-check" in c.metadata.get("tags", []) for o in c.outputs)
    assert "✘ not yet: other is a picture" in printed and "is not defined yet" in printed and "Exercise 3: 0 of 2 checks pass" in printed
