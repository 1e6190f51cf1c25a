"""Colab and Binder: badges that resolve to existing files, the Binder folder, the install check, prefetch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
REPO = "controlnet-tutorial/controlnet-tutorial"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
COLAB = re.compile(rf"https://colab\.research\.google\.com/github/{REPO}/blob/main/([^)\s]+\.ipynb)")
BINDER = re.compile(rf"https://mybinder\.org/v2/gh/{REPO}/main\?urlpath=lab/tree/([^)\s]+\.ipynb)")


def test_readme_badges_cover_every_notebook_and_resolve():
    readme = (ROOT / "README.md").read_text()
    colab, binder = set(COLAB.findall(readme)), set(BINDER.findall(readme))
    expected = {f"notebooks/{p.name}" for p in NOTEBOOKS}
    assert colab == expected and binder == expected
    assert all((ROOT / path).exists() for path in colab | binder)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_badges_point_at_the_notebook_itself(path):
    intro = nbformat.read(path, as_version=4).cells[0].source
    assert COLAB.findall(intro) == [f"notebooks/{path.name}"]
    assert BINDER.findall(intro) == [f"notebooks/{path.name}"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_cell_installs_this_repository_only_on_colab(path):
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.metadata.get("tags") == ["skip-execution"]
    assert f"git clone --quiet --depth 1 https://github.com/{REPO}" in cell.source
    assert "%pip install --quiet /content/controlnet-tutorial" in cell.source
    assert 'CONTROLNET_TUTORIAL_DATA' in cell.source
    # Outside Colab the cell must be a no-op even if it were executed.
    body = cell.source.split('if "google.colab" in sys.modules:')[1]
    assert all(line.startswith("    ") or not line.strip() for line in body.splitlines()[1:])


def test_binder_folder_is_what_repo2docker_reads():
    files = {p.name for p in (ROOT / "binder").iterdir()}
    assert {"requirements.txt", "postBuild", "runtime.txt"} <= files
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in requirements and "torch==2.13.0" in requirements
    assert "opencv-python-headless" in requirements and "\nopencv-python=" not in requirements


def test_install_check_runs_and_the_workshop_doc_shows_its_lines():
    run = subprocess.run([sys.executable, "-m", "helpers.check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    names = [line[2:26].strip() for line in run.stdout.splitlines() if line[:1] in "\u2714\u25cb\u2718"]
    assert {"python >= 3.11", "torch", "diffusers", "GPU", "Hugging Face Hub"} <= set(names)
    doc = (ROOT / "docs" / "workshop.md").read_text()
    for name in names:
        assert name in doc, f"docs/workshop.md's sample output lacks {name!r}"
    assert "python -m helpers.check" in doc and "python -m helpers.prefetch" in doc


def test_prefetch_offline_says_what_to_do(monkeypatch):
    from helpers import prefetch

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(prefetch.PrefetchError, match="not reachable.*copy ~/.cache/huggingface/hub"):
        prefetch.prefetch()


def test_prefetch_knows_every_condition_and_refuses_others(monkeypatch, capsys):
    from helpers import prefetch

    with pytest.raises(prefetch.PrefetchError, match=r"Unknown condition\(s\) \['depth'\]: use some of canny, scribble, regions"):
        prefetch.prefetch(("canny", "depth"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert prefetch.main(["--conditions", "canny"]) == 1  # offline: a clear message and exit status 1, no traceback
    assert "not reachable" in capsys.readouterr().err
