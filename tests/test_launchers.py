"""Colab and Binder: badges that resolve to existing files, the Binder folder, the install check, prefetch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import repository  # tools/repository.py: tests/conftest.py puts tools/ on the path

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
def test_colab_cell_is_the_one_made_from_pyproject(path):
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.metadata.get("tags") == ["skip-execution"]
    assert cell.source == repository.install_cell(f"https://github.com/{REPO}")


def test_every_badge_and_install_cell_points_at_pyprojects_address():
    assert repository.source_url() == f"https://github.com/{REPO}"
    assert repository.disagreements() == []


def test_a_fork_is_one_command_and_a_stray_address_is_found(tmp_path):
    import shutil

    for name in ("pyproject.toml", "README.md", "docs", "notebooks", "learner"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, tmp_path / name)
    assert repository.disagreements(tmp_path) == []
    repository.point_at("https://github.com/someone/my-fork", tmp_path)
    assert repository.disagreements(tmp_path) == []
    texts = [p.read_text() for p in repository.pages(tmp_path)]
    assert not any(REPO in text for text in texts)
    assert "someone/my-fork/blob/main/notebooks/00_setup.ipynb" in (tmp_path / "README.md").read_text()
    assert "someone/my-fork/blob/main/learner/00_setup.ipynb" in (tmp_path / "learner" / "00_setup.ipynb").read_text()
    assert "git+https://github.com/someone/my-fork" in (tmp_path / "notebooks" / "06_train_controlnet.ipynb").read_text()
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text() + "\nOpen [it](https://mybinder.org/v2/gh/other/copy/main).\n")
    assert repository.disagreements(tmp_path) == ["README.md: mybinder.org/v2/gh/other/copy (expected someone/my-fork)"]


def run_install_cell(monkeypatch, installed: bool, loaded_ipywidgets: str | None = None) -> tuple[list, list]:
    """Run the install cell as IPython would (its %pip turned into a call) with a stand-in ``google.colab``;
    return the magics it ran and the widget-manager calls."""
    import importlib.metadata
    import types

    from IPython.core.inputtransformer2 import TransformerManager

    magics, manager = [], []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: manager.append("on"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    sys.modules["google"].colab = colab
    if loaded_ipywidgets:
        monkeypatch.setitem(sys.modules, "ipywidgets", types.SimpleNamespace(__version__=loaded_ipywidgets))
    real_version = importlib.metadata.version

    def version(name):
        if name == "controlnet-tutorial" and not installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    shell = types.SimpleNamespace(run_line_magic=lambda name, line: magics.append(f"%{name} {line}"))
    code = TransformerManager().transform_cell(repository.install_cell(f"https://github.com/{REPO}"))
    exec(compile(code, "install-cell", "exec"), {"get_ipython": lambda: shell})
    return magics, manager


def test_install_cell_installs_once_and_switches_the_widget_manager_on(monkeypatch, capsys):
    with monkeypatch.context() as first:
        magics, manager = run_install_cell(first, installed=False)
    assert magics == [f'%pip install --quiet "controlnet-tutorial @ git+https://github.com/{REPO}"'] and manager == ["on"]
    magics, manager = run_install_cell(monkeypatch, installed=True)  # the second run
    assert magics == [] and manager == ["on"]
    assert "is installed already" in capsys.readouterr().out


def test_install_cell_asks_for_a_restart_when_a_loaded_ipywidgets_was_upgraded(monkeypatch, capsys):
    run_install_cell(monkeypatch, installed=False, loaded_ipywidgets="7.7.1")
    assert "Runtime > Restart session" in capsys.readouterr().out


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(repository.install_cell(f"https://github.com/{REPO}"))
    exec(compile(code, "install-cell", "exec"), {"get_ipython": lambda: (_ for _ in ()).throw(AssertionError("a magic ran"))})


def test_binder_folder_is_what_repo2docker_reads():
    files = {p.name for p in (ROOT / "binder").iterdir()}
    assert {"requirements.txt", "postBuild", "runtime.txt", "start"} <= files
    start = (ROOT / "binder" / "start").read_text()  # run before the server: what importing helpers no longer does
    assert 'TRANSFORMERS_VERBOSITY="${TRANSFORMERS_VERBOSITY:-error}"' in start and start.rstrip().endswith('exec "$@"')
    assert (ROOT / "binder" / "start").stat().st_mode & 0o111, "binder/start must be executable"
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


def test_install_check_says_where_the_tiny_models_are_and_when_they_are_missing(monkeypatch):
    from helpers import check
    from helpers.files import models_dir
    from helpers.models import registry

    line = next(c for c in check.environment_report(check_hub=False) if c.name == "tiny models")
    assert line.status == "ok" and line.detail == f"circles, shapes, shape-colours in {models_dir()}"
    nowhere = models_dir() / "nowhere"
    monkeypatch.setattr(registry, "models_dir", lambda: nowhere)
    line = next(c for c in check.environment_report(check_hub=False) if c.name == "tiny models")
    assert line.status == "missing" and "nowhere/circles-base" in line.detail and "reinstall the package" in line.detail


def test_install_check_reads_pyprojects_dependencies_and_their_versions(monkeypatch):
    import tomllib

    from packaging.requirements import Requirement

    from helpers import check

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = {Requirement(line).name: str(Requirement(line).specifier) for line in project["dependencies"]}
    assert {name: str(Requirement(name + spec).specifier) for name, spec in check.required_packages().items()} == expected
    real_version = check._version
    monkeypatch.setattr(check, "_version", lambda name: "0.41.0" if name == "diffusers" else None if name == "tqdm" else real_version(name))
    lines = {c.name: c for c in check.environment_report(check_hub=False)}
    assert lines["diffusers"].status == "missing" and lines["diffusers"].detail == "0.41.0, but this tutorial needs ==0.42.1: pip install 'diffusers==0.42.1'"
    assert lines["tqdm"].status == "missing" and lines["tqdm"].detail == "not installed: pip install 'tqdm>=4.66'"
    assert lines["torch"].status == "ok"  # a local build label (+cpu, +cu128) satisfies >=2.6


@pytest.mark.parametrize("command", ["helpers.prefetch", "helpers.tiny.train"])  # helpers.check has no options: tested above
def test_every_learner_command_starts_cleanly_from_another_folder(command, tmp_path):
    """The package's own commands (not tools/): each one's --help from a folder outside the checkout, with no warning
    (runpy warns when a package's __init__ imported the module it is asked to run)."""
    run = subprocess.run([sys.executable, "-m", command, "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.startswith(f"usage: python -m {command}"), run.stderr
    assert "Warning" not in run.stderr, run.stderr
