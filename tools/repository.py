"""The repository's address, written once (pyproject.toml's ``[project.urls] Source``), and everything made from it:
the Colab and Binder badges of README.md and every notebook, and the notebooks' first cell, the Colab install cell.

    python tools/repository.py                                  # check that every badge and cell agrees (exit 1 if not)
    python tools/repository.py --fork https://github.com/me/fork  # point everything at a fork, then check

The install cell is the same in every notebook. On Colab (only there: outside Colab it does nothing, and CI skips it
by its ``skip-execution`` tag) it installs the package straight from the repository with pip, non-editable: the
tiny models travel inside the package (``helpers.files``), so no clone and no environment variable are needed. It
is safe to run twice (an installed package is kept), it switches on Colab's custom widget manager (Colab shows
ipywidgets 8 and ipycanvas only through it), and it asks for a restart when the install upgraded an ipywidgets that
the session had already loaded. ``tools/learner_path.py`` runs it as written, with the address redirected to a clone.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "controlnet-tutorial"
INSTALL_CELL = '''# Google Colab only: install this tutorial's helpers (elsewhere this cell does nothing). Safe to run twice.
import sys

if "google.colab" in sys.modules:
    from importlib.metadata import PackageNotFoundError, version

    try:
        print(f"{PACKAGE} {{version('{PACKAGE}')}} is installed already.")
    except PackageNotFoundError:
        %pip install --quiet "{PACKAGE} @ git+{url}"
    from google.colab import output

    output.enable_custom_widget_manager()  # Colab shows ipywidgets 8 and ipycanvas widgets only through it
    if "ipywidgets" in sys.modules and sys.modules["ipywidgets"].__version__ != version("ipywidgets"):
        print("This session loaded ipywidgets before the install upgraded it: Runtime > Restart session, then run on from the next cell.")'''
GITHUB = re.compile(r"^https://github\.com/([\w.-]+/[\w.-]+?)/?$")
# Every address of the repository that a page may hold: Colab, Binder, GitHub, pip's git+ form.
ADDRESS = re.compile(r"(colab\.research\.google\.com/github/|mybinder\.org/v2/gh/|github\.com/)([\w.-]+/[\w.-]+?)(?=[/)\s\"'?,>\\]|\.git|\.(?!\w)|$)")
PAGES = ("README.md", "README.zh-CN.md", "docs/*.md", "notebooks/*.ipynb", "learner/*.ipynb")


def source_url(root: Path = ROOT) -> str:
    """The repository's address: pyproject.toml's ``[project.urls] Source``."""
    url = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    if not GITHUB.match(url):
        raise ValueError(f"pyproject.toml's Source URL {url!r} is not https://github.com/OWNER/NAME")
    return url.rstrip("/")


def slug(url: str) -> str:
    """``OWNER/NAME`` of a GitHub address."""
    match = GITHUB.match(url)
    if not match:
        raise ValueError(f"{url!r} is not a GitHub repository address (https://github.com/OWNER/NAME)")
    return match.group(1)


def install_cell(url: str) -> str:
    """The Colab install cell for the repository at ``url``."""
    return INSTALL_CELL.format(PACKAGE=PACKAGE, url=url)


def badges(url: str, notebook: str) -> str:
    """The Colab and Binder badges of ``notebook`` (e.g. ``notebooks/00_setup.ipynb``)."""
    repo = slug(url)
    colab = f"https://colab.research.google.com/github/{repo}/blob/main/{notebook}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/{notebook})")


def pages(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in PAGES for p in root.glob(pattern))


def disagreements(root: Path = ROOT) -> list[str]:
    """Every place that names another repository than pyproject's, or whose install cell or badges differ from the
    ones made from it; empty when all agree."""
    url = source_url(root)
    repo, problems = slug(url), []
    for page in pages(root):
        name = page.relative_to(root)
        for match in ADDRESS.finditer(page.read_text()):
            kind, found = match.groups()
            # Colab and Binder open this repository only; GitHub addresses may cite others (diffusers, ControlNet),
            # but not another copy of this one.
            if found != repo and (kind != "github.com/" or found.split("/")[1] == repo.split("/")[1]):
                problems.append(f"{name}: {match.group(0)} (expected {repo})")
        if page.suffix == ".ipynb":
            nb = nbformat.read(page, as_version=4)
            if nb.cells[1].source != install_cell(url):
                problems.append(f"{name}: the first code cell is not the install cell of {url}")
            own = f"{page.parent.name}/{page.name}"  # a learner copy opens itself, not the answer key
            if badges(url, own) not in nb.cells[0].source:
                problems.append(f"{name}: the intro lacks the badges of {own}")
    return problems


def point_at(url: str, root: Path = ROOT) -> list[Path]:
    """Point pyproject.toml, every badge and every install cell at the repository ``url``; the pages changed."""
    new, old_url = slug(url), source_url(root)
    old = slug(old_url)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'Source = "{old_url}"', f'Source = "https://github.com/{new}"'))
    changed = []
    for page in pages(root):
        if page.parent.name == "learner":
            continue  # generated from notebooks/ below
        text = page.read_text()
        updated = ADDRESS.sub(lambda m: m.group(1) + (new if m.group(2) == old else m.group(2)), text)
        if page.suffix == ".ipynb":
            nb = nbformat.reads(updated, as_version=4)
            nb.cells[1].source = install_cell(f"https://github.com/{new}")
            updated = nbformat.writes(nb) + "\n"
        if updated != text:
            page.write_text(updated)
            changed.append(page)
    import learner_copies  # beside this file: on the path for a script run from tools/ and for the tests

    learner_copies.main(root)
    import translations  # the Chinese edition follows the English: its catalogs name no repository (@REPOSITORY@)

    if root == translations.ROOT:
        translations.main([])
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fork", metavar="URL", help="point everything at this GitHub repository, e.g. https://github.com/me/fork")
    args = parser.parse_args(argv)
    if args.fork:
        for page in point_at(args.fork):
            print(f"rewrote {page.relative_to(ROOT)}")
    problems = disagreements()
    for line in problems:
        print(line)
    print(f"{len(problems)} disagreements with {source_url()}" if problems else f"every badge and install cell points at {source_url()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
