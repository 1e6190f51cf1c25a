"""Learner copies of the notebooks: every cell tagged ``solution`` removed, an empty cell per exercise.

Solutions are written once, in notebooks/ (tagged ``solution``, hidden). ``make learner`` writes
learner/NN_*.ipynb from them; tests/test_learner_copies.py fails when the copies are out of date.
Teachers hand out learner/; the full notebooks are the answer key.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
SOURCE, TARGET = ROOT / "notebooks", ROOT / "learner"


def learner_copy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The learner version of one notebook (a new object; ``nb`` is not changed)."""
    copy = nbformat.from_dict(nb)
    cells, exercise = [], 0
    for cell in copy.cells:
        if "solution" not in cell.metadata.get("tags", []):
            cells.append(cell)
        elif cell.cell_type == "code":
            exercise += 1
            blank = new_code_cell(f"# Exercise {exercise}: your code here\n")
            blank.metadata["tags"] = ["exercise"]
            blank["id"] = f"{cell['id']}-learner"
            cells.append(blank)
    copy.cells = cells
    intro = copy.cells[0]
    intro.source = intro.source.replace(f"notebooks/{name}", f"learner/{name}").replace(
        "\n\n**You will:**", "\n\n*Learner copy: the exercises are yours to solve; the answer key is in notebooks/.*\n\n**You will:**", 1
    )
    return copy


def expected_copies(root: Path = ROOT) -> dict[Path, str]:
    """Path -> text of every learner copy, as generated from notebooks/ now (of the repository at ``root``)."""
    result = {}
    for path in sorted((root / SOURCE.name).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result[root / TARGET.name / path.name] = nbformat.writes(learner_copy(nb, path.name)) + "\n"
    return result


def main(root: Path = ROOT) -> int:
    (root / TARGET.name).mkdir(exist_ok=True)
    for path, text in expected_copies(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
