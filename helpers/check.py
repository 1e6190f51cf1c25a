"""Environment check: one line per requirement, green (ok), yellow (optional, missing) or red (missing).

Run ``python -m helpers.check`` before a workshop, or call ``environment_report()`` in a notebook.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.i18n import _

DISTRIBUTION = "controlnet-tutorial"
OPTIONAL_PACKAGES = ("xformers",)


def required_packages() -> dict[str, str]:
    """This package's own dependencies, name -> version specifier (pyproject.toml's ``dependencies`` as the installed
    metadata records them; extras left out), so the check and the install never disagree. ``packaging`` reads them:
    transformers requires it, so it is there wherever the check has something to check."""
    from packaging.requirements import Requirement

    found = [Requirement(line) for line in importlib.metadata.requires(DISTRIBUTION) or []]
    return {req.name: str(req.specifier) for req in found if req.marker is None}


def satisfies(version: str, specifier: str) -> bool:
    """``version`` within ``specifier`` (PEP 440)."""
    from packaging.specifiers import SpecifierSet

    return not specifier or SpecifierSet(specifier).contains(version, prereleases=True)


@dataclass(frozen=True)
class Check:
    """One requirement: its name, status ("ok", "optional" or "missing") and what was found."""

    name: str
    status: str
    detail: str

    def line(self, color: bool = True) -> str:
        mark = {"ok": "\u2714", "optional": "\u25cb", "missing": "\u2718"}[self.status]
        code = {"ok": "32", "optional": "33", "missing": "31"}[self.status]
        text = f"{mark} {self.name:<24} {self.detail}"
        return f"\033[{code}m{text}\033[0m" if color else text


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_report(check_hub: bool = True) -> list[Check]:
    """Check Python, the packages, the GPU, the Hub and the free disk; never raises."""
    checks = [
        Check(
            "python >= 3.11",
            "ok" if sys.version_info >= (3, 11) else "missing",
            sys.version.split()[0],
        )
    ]
    try:
        required = required_packages()
    except importlib.metadata.PackageNotFoundError:  # the code is on the path but was never installed
        required = {}
        checks.append(Check(DISTRIBUTION, "missing", _("not installed: pip install -e . (from a clone) or the notebook's first cell")))
    for package, specifier in required.items():
        version = _version(package)
        if version is None:
            checks.append(Check(package, "missing", _("not installed: pip install '{requirement}'").format(requirement=package + specifier)))
        elif not satisfies(version, specifier):
            checks.append(Check(package, "missing", _("{version}, but this tutorial needs {specifier}: pip install '{requirement}'").format(
                version=version, specifier=specifier, requirement=package + specifier)))
        else:
            checks.append(Check(package, "ok", version))
    for package in OPTIONAL_PACKAGES:
        version = _version(package)
        checks.append(Check(package, "ok" if version else "optional", version or _("not installed (optional; SDPA is used)")))
    from helpers.files import models_dir
    from helpers.models.registry import WORLD_MODELS

    missing = [str(folder) for world in WORLD_MODELS.values() for folder in world.missing_folders()]
    checks.append(Check("tiny models", "missing" if missing else "ok",
                        _("not found: {folders} (reinstall the package)").format(folders=", ".join(missing)) if missing
                        else _("{worlds} in {folder}").format(worlds=", ".join(WORLD_MODELS), folder=models_dir())))
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            checks.append(Check("GPU", "ok", f"{props.name}, {props.total_memory / 2**30:.0f} GiB"))
        else:
            build = _("CPU-only build of torch") if torch.version.cuda is None else _("CUDA build, but no GPU visible")
            checks.append(Check("GPU", "optional", _("none ({build}); tiny mode and small sizes run on CPU").format(build=build)))
    except ImportError:
        checks.append(Check("GPU", "missing", _("torch is not installed")))
    from helpers.hub.network import hub_endpoint, hub_reachable

    if check_hub:
        from helpers.hub.network import hub_weights_cached

        if hub_reachable():
            checks.append(Check("Hugging Face Hub", "ok", _("{endpoint} reachable").format(endpoint=hub_endpoint())))
        elif hub_weights_cached():
            checks.append(Check("Hugging Face Hub", "ok", _("{endpoint} not reachable, but the weights are in the local cache: hub mode runs offline").format(
                endpoint=hub_endpoint())))
            more = hub_weights_cached(("scribble", "regions"))
            checks.append(Check("notebook 07 weights", "ok" if more else "optional",
                                _("scribble and segmentation ControlNets cached") if more else _("scribble and segmentation ControlNets not cached: "
                                "07 runs in tiny mode (python -m helpers.prefetch where there is internet)")))
        else:
            checks.append(Check("Hugging Face Hub", "optional",
                                _("{endpoint} not reachable and no weights cached: tiny mode only").format(endpoint=hub_endpoint())))
    from helpers.hub.ids import HUB_DOWNLOAD_GB

    free = shutil.disk_usage(Path.home()).free / 1e9
    checks.append(
        Check(
            _("disk for weights ({gigabytes} GB)").format(gigabytes=HUB_DOWNLOAD_GB),
            "ok" if free >= HUB_DOWNLOAD_GB else "optional",
            _("{free:.0f} GB free in {home}").format(free=free, home=Path.home())
            + ("" if free >= HUB_DOWNLOAD_GB else _(": enough for tiny mode only")),
        )
    )
    return checks


def main() -> int:
    """Print the report; exit status 1 when a required item is missing."""
    checks = environment_report()
    color = sys.stdout.isatty()
    for check in checks:
        print(check.line(color))
    missing = [c.name for c in checks if c.status == "missing"]
    print(_("All required items present.") if not missing else _("Missing: {names}").format(names=", ".join(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
