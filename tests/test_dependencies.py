"""pyproject.toml is the single source of truth for dependencies; the other set-up files mirror it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CPU_TORCH = "2.13.0"  # the CPU wheel the Makefile, environment.yml and Binder install


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["lab"]
    return {Requirement(line).name.lower(): Requirement(line) for line in lines}


def parse_lines(lines: list[str]) -> dict[str, Requirement]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        found[req.name.lower()] = req
    return found


def environment_yml_requirements() -> dict[str, Requirement]:
    text = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^\s{6}- (.+)$", text, flags=re.M)
    return parse_lines(pip_lines)


def binder_requirements() -> dict[str, Requirement]:
    return parse_lines((ROOT / "binder" / "requirements.txt").read_text().splitlines())


def check_mirror(mirror: dict[str, Requirement], source: str) -> None:
    expected = pyproject_requirements()
    assert set(mirror) == set(expected), f"{source}: packages differ from pyproject: {set(mirror) ^ set(expected)}"
    for name, req in expected.items():
        if name == "torch":
            assert str(mirror[name].specifier) == f"=={CPU_TORCH}", f"{source} must pin the CPU wheel torch=={CPU_TORCH}"
            assert Version(CPU_TORCH) in req.specifier, f"torch {CPU_TORCH} must satisfy pyproject's {req.specifier}"
        else:
            assert mirror[name].specifier == req.specifier, f"{source}: {name}{mirror[name].specifier} != pyproject {req}"


def test_environment_yml_mirrors_pyproject():
    check_mirror(environment_yml_requirements(), "environment.yml")
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_binder_mirrors_pyproject():
    check_mirror(binder_requirements(), "binder/requirements.txt")


def test_binder_installs_helpers_after_the_dependency_layer():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in post_build and "pip install --no-deps" in post_build and " -e ." in post_build
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_makefile_installs_the_cpu_wheel():
    assert f"TORCH_SPEC ?= torch=={CPU_TORCH}" in (ROOT / "Makefile").read_text()


def test_mismatch_is_detected():
    """The checker itself must fail on a drifted pin."""
    drifted = dict(binder_requirements())
    drifted["diffusers"] = Requirement("diffusers==0.41.0")
    try:
        check_mirror(drifted, "drifted")
    except AssertionError as err:
        assert "diffusers==0.41.0" in str(err)
    else:
        raise AssertionError("a drifted pin went unnoticed")


def test_environment_yml_takes_torch_from_the_cpu_index():
    """Without it, PyPI's Linux torch==2.13.0 is the multi-GB CUDA build."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    index = [i for i, line in enumerate(lines) if line.strip().startswith("- --extra-index-url https://download.pytorch.org/whl/cpu")]
    torch_line = [i for i, line in enumerate(lines) if line.strip().startswith("- torch==")]
    assert index and torch_line and index[0] < torch_line[0]


def lower_bound(specifier) -> Version:
    """The smallest version a specifier set allows by its ``>=``/``==`` clauses (``0`` when none)."""
    bounds = [Version(s.version) for s in specifier if s.operator in (">=", "==", "~=")]
    return max(bounds, default=Version("0"))


def pinned_metadata(name: str):
    from importlib.metadata import metadata

    return metadata(name)


def test_python_and_torch_bounds_are_what_the_pinned_packages_require():
    """pyproject's requires-python and torch bound are no looser than those of the packages it pins: a promise
    of Python 3.10 or torch 2.4 would install and then fail at import."""
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours_python = lower_bound(SpecifierSet(project["requires-python"]))
    ours_torch = lower_bound(pyproject_requirements()["torch"].specifier)
    needed_python, needed_torch = Version("0"), Version("0")
    for name, req in pyproject_requirements().items():
        if not any(s.operator == "==" for s in req.specifier):
            continue
        meta = pinned_metadata(name)
        assert meta["Version"] in req.specifier, f"installed {name} {meta['Version']} is not the pinned {req}"
        if meta["Requires-Python"]:
            needed_python = max(needed_python, lower_bound(SpecifierSet(meta["Requires-Python"])))
        for line in meta.get_all("Requires-Dist") or []:
            dep = Requirement(line)
            if dep.name == "torch" and (dep.marker is None or dep.marker.evaluate({"extra": "torch"})):
                needed_torch = max(needed_torch, lower_bound(dep.specifier))
    assert (ours_python, ours_torch) == (needed_python, needed_torch), (
        f"pyproject allows Python >= {ours_python} and torch >= {ours_torch}; the pinned packages need {needed_python} and {needed_torch}")
    readme = (ROOT / "README.md").read_text()
    assert f"Python {ours_python.major}.{ours_python.minor}+" in readme and f"Python 3.{ours_python.minor - 1}+" not in readme
