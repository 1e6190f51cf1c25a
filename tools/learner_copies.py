"""Learner copies of the notebooks: every cell tagged ``solution`` removed; in its place, per exercise, a blank cell
and a check built from the solution's own asserts.

Solutions are written once, in notebooks/ (tagged ``solution``, hidden): a code cell starting ``# Solution N:`` and
ending with asserts that carry a message, or a markdown cell starting ``**Solution N.**`` (an "explain why" answer,
prose). ``make learner`` writes learner/NN_*.ipynb from them: a code solution becomes a blank code cell and a cell
calling ``helpers.feedback.check_exercise`` with the solution's asserts (it prints right / not yet and never
raises); a prose solution becomes a blank markdown cell for the learner's answer. tests/test_learner_copies.py fails
when the copies are out of date. Teachers hand out learner/; the full notebooks are the answer key.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

ROOT = Path(__file__).resolve().parents[1]
SOURCE, TARGET = ROOT / "notebooks", ROOT / "learner"


def solution_number(cell: nbformat.NotebookNode) -> int | None:
    """N of a cell starting ``# Solution N:`` (code) or ``**Solution N.**`` or ``**Solution N, in words.**`` (prose); None for other solution cells."""
    found = re.match(r"(?:# (?:Solution|答案) (\d+)[:：]|\*\*(?:Solution|答案) (\d+)[.,。，])", cell.source)  # English, or the Chinese edition
    return int(found.group(1) or found.group(2)) if found else None


def parsable(source: str) -> str:
    """A code cell as Python can parse it: each IPython magic line (``%pip ...``, ``!ls``) becomes ``pass`` at its
    indentation, so every other line keeps its row (tools/translations.py finds sentences by row)."""
    return "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.split("\n"))


def write_changed(files: dict[Path, str], root: Path) -> None:
    """Write each generated file whose text differs from what is there, and say so."""
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")


def solution_checks(source: str) -> list[tuple[str, str]]:
    """``(expression, message)`` of each top-level ``assert`` of a solution cell (IPython magics left out)."""
    checks = []
    for node in ast.parse(parsable(source)).body:
        if isinstance(node, ast.Assert):
            if not (isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str)):
                raise ValueError(f"assert without a plain-string message (the learner's hint): {ast.unparse(node)}")
            checks.append((ast.unparse(node.test), node.msg.value))
    return checks


# The few sentences a learner copy adds, in each language of the edition (tools/translations.py builds the Chinese).
WORDS = {
    "en": {"blank": "# Exercise {number}: your code here\n",
           "check": ["# Check exercise {number}: run this cell after your code. It prints what is right and what is not yet,",
                     "# and never stops the notebook."],
           "prose": "**Exercise {number}, your answer:** (double-click to write it; the answer key is in notebooks/)",
           "you_will": "\n\n**You will:**",
           "note": "\n\n*Learner copy: the exercises are yours to solve; the answer key is in notebooks/.*"},
    "zh": {"blank": "# 练习 {number}：在这里写你的代码\n",
           "check": ["# 检查练习 {number}：写完代码后运行这个单元格。它会告诉你哪些对了、哪些还没有，", "# 而且永远不会中断 notebook。"],
           "prose": "**练习 {number}，你的回答：**（双击单元格来写；参考答案在 notebooks/zh/ 里）",
           "you_will": "\n\n**你将：**",
           "note": "\n\n*学员版：练习留给你来完成；参考答案在 notebooks/zh/ 里。*"},
}


def check_cell_source(number: int, checks: list[tuple[str, str]], language: str = "en") -> str:
    lines = [line.format(number=number) for line in WORDS[language]["check"]] + ["from helpers.feedback import check_exercise", "",
                                                                                 f"check_exercise({number}, ["]
    lines += [f"    ({expression!r}, {message!r})," for expression, message in checks]
    return "\n".join(lines + ["], globals());"])


def learner_copy(nb: nbformat.NotebookNode, name: str, language: str = "en") -> nbformat.NotebookNode:
    """The learner version of one notebook (a new object; ``nb`` is not changed), its added sentences in ``language``."""
    words = WORDS[language]
    copy = nbformat.from_dict(nb)
    cells = []
    for cell in copy.cells:
        if "solution" not in cell.metadata.get("tags", []):
            cells.append(cell)
            continue
        number = solution_number(cell)
        if number is None:
            continue  # e.g. "the solutions are in the hidden cells below"
        if cell.cell_type == "code":
            blank = new_code_cell(words["blank"].format(number=number))
            check = new_code_cell(check_cell_source(number, solution_checks(cell.source), language))
            check.metadata["tags"], check["id"] = ["exercise-check"], f"{cell['id']}-check"
        else:
            blank = new_markdown_cell(words["prose"].format(number=number))
            check = None
        blank.metadata["tags"], blank["id"] = ["exercise"], f"{cell['id']}-learner"
        cells += [blank] + ([check] if check is not None else [])
    copy.cells = cells
    intro = copy.cells[0]
    folder = "" if language == "en" else f"{language}/"
    intro.source = intro.source.replace(f"notebooks/{folder}{name}", f"learner/{folder}{name}").replace(
        words["you_will"], words["note"] + words["you_will"], 1)
    return copy


def expected_copies(root: Path = ROOT) -> dict[Path, str]:
    """Path -> text of every learner copy, as generated from notebooks/ now (of the repository at ``root``)."""
    result = {}
    for path in sorted((root / SOURCE.name).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result[root / TARGET.name / path.name] = nbformat.writes(learner_copy(nb, path.name)) + "\n"
    return result


def main(root: Path = ROOT) -> int:
    write_changed(expected_copies(root), root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
