"""Sources and words: every notebook ends with a Sources cell that cites in one form, names the paper's sections it
covers, and links the glossary; the glossary's entries point at sections that exist and speak of the term."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# The one form of each recurring citation (docs/glossary.md and README.md use it too).
PAPER = ("Zhang, Rao & Agrawala, *Adding Conditional Control to Text-to-Image Diffusion Models*, ICCV 2023, "
         "[arXiv:2302.05543](https://arxiv.org/abs/2302.05543)")
BLOG = ("Paul, Xu & von Platen, *Ultra fast ControlNet with Diffusers*, Hugging Face blog, 2023, "
        "[huggingface.co/blog/controlnet](https://huggingface.co/blog/controlnet)")
GLOSSARY_URL = "https://github.com/controlnet-tutorial/controlnet-tutorial/blob/main/docs/glossary.md"


def markdown(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_ends_with_its_sources(path):
    cells = markdown(path)
    sources = cells[-1]
    assert sources.startswith("## Sources\n") and sum(c.startswith("## Sources") for c in cells) == 1
    assert PAPER in sources or BLOG in sources, "cites the paper or the blog, in the one form"
    assert GLOSSARY_URL in sources
    body = " ".join(cells[:-1])
    cited = set(re.findall(r"§(\d+(?:\.\d+)?)", sources))
    assert set(re.findall(r"§(\d+(?:\.\d+)?)", body)) <= cited, "every section of the paper the notebook names is in its Sources"
    if "edge F1" in body:  # ControlNet++'s measure of control fidelity: cited where it is used
        assert "[arXiv:2404.07987](https://arxiv.org/abs/2404.07987)" in sources
    figures = set(re.findall(r"Fig\. (\d+)", sources))
    assert set(re.findall(r"Fig\. (\d+)", body)) <= figures


def test_citations_take_one_form_everywhere():
    """Wherever the paper's arXiv address or the blog's appears (notebooks, docs, README), the whole citation is there."""
    texts = {p.name: " ".join(markdown(p)) for p in NOTEBOOKS}
    texts |= {p.name: p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
    for name, text in texts.items():
        assert text.count("arxiv.org/abs/2302.05543") == text.count(PAPER), name
        assert text.count("huggingface.co/blog/controlnet)") == text.count(BLOG), name
    assert PAPER in texts["README.md"] and PAPER in texts["glossary.md"] and BLOG in texts["glossary.md"]


def sections(path: Path) -> dict[int, str]:
    """Text of each numbered section (``## N. ...``) of a notebook, lower case, markdown and code."""
    found, current = {}, None
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            heading = re.match(r"## (\d+)\.", line)
            current = int(heading.group(1)) if heading else (None if line.startswith("## ") else current)
            if current is not None:
                found[current] = found.get(current, "") + line.lower() + "\n"
    return found


def test_the_glossary_points_at_sections_that_show_the_term():
    by_number = {p.name[:2]: sections(p) for p in NOTEBOOKS}
    rows = [line for line in (ROOT / "docs" / "glossary.md").read_text().splitlines() if line.startswith("| **")]
    assert len(rows) >= 20
    for row in rows:
        _, term, _, shown, names, _ = [cell.strip() for cell in row.split("|")]
        word = re.sub(r"\*|\(.*?\)", "", term).strip().split(" / ")[0].lower()
        names = names.lower()
        notebook = None
        for place in shown.split(","):
            found = re.match(r"\s*(?:(\d\d) )?§(\d+)$", place)
            assert found, (term, place)
            notebook = found.group(1) or notebook
            text = by_number[notebook].get(int(found.group(2)))
            assert text is not None, f"{term}: notebook {notebook} has no section {found.group(2)}"
            spoken = [word.split()[0][:5]] + re.findall(r"`([^`]+)`", names)
            assert any(s.lower() in text for s in spoken), f"{term}: not found in notebook {notebook}, section {found.group(2)}"
