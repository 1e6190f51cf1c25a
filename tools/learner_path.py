"""The learner's own path, set up here for the rehearsal (``tools/rehearse.py``): what Colab does, without Colab.

A learner on Colab opens a notebook, runs its first cell (the install cell: ``pip install`` of the package from the
repository's address, non-editable), and runs the rest from ``/content``, a folder with no checkout in it. This
module builds the same situation on this machine:

- a **clean clone** of the repository (its committed state), and the repository's address redirected to it with
  git's ``url.<clone>.insteadOf`` (set through ``GIT_CONFIG_*`` variables in the kernel's environment), so the
  install cell's text stays exactly what learners run and pip's ``git clone`` fetches the clone;
- a **fresh virtual environment** with its own Jupyter kernel. Its dependencies are ``.venv``'s, reused through a
  ``.pth`` line (installing torch and diffusers again would take minutes), minus this package itself, so only the
  install cell can bring ``helpers`` in; the rehearsal checks that ``helpers.__file__`` is that install;
- a stand-in **``google.colab``** module, imported at the kernel's start as Colab does (``sitecustomize``), whose
  ``output.enable_custom_widget_manager()`` records that it was called.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from repository import source_url  # tools/ is on the path: scripts run from it, tests/conftest.py adds it

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "controlnet-learner"
OWN = ("controlnet_tutorial", "__editable__", "__editable___controlnet_tutorial", "helpers")  # never reused from .venv

STAND_IN = '''"""A stand-in for Colab's google.colab (tools/learner_path.py): only what the notebooks call."""
import types

custom_widget_manager = []


def _enable_custom_widget_manager():
    custom_widget_manager.append("enabled")


output = types.SimpleNamespace(enable_custom_widget_manager=_enable_custom_widget_manager)
'''

# Run right after the install cell: where helpers came from, and what the cell switched on.
CHECK = '''import json as _json, sys as _sys
import helpers as _helpers
from helpers.files import data_dir as _data_dir
print("LEARNER_PATH", _json.dumps({"helpers": _helpers.__file__, "data": str(_data_dir()),
      "widget_manager": list(_sys.modules["google.colab"].custom_widget_manager)}))
'''


@dataclass
class LearnerPath:
    clone: Path
    venv: Path
    site_packages: Path
    kernel: str
    jupyter_path: Path

    def check(self, text: str) -> dict:
        """Read ``CHECK``'s output; raise when helpers did not come from the install into ``venv``."""
        found = json.loads(text.split("LEARNER_PATH", 1)[1].strip().splitlines()[0])
        if not Path(found["helpers"]).is_relative_to(self.site_packages):
            raise RuntimeError(f"helpers was imported from {found['helpers']}, not from the install in {self.site_packages}")
        if not Path(found["data"]).is_relative_to(self.site_packages):
            raise RuntimeError(f"the package's data was found at {found['data']}, not in the install")
        if not found["widget_manager"]:
            raise RuntimeError("the install cell did not switch Colab's custom widget manager on")
        return found


def run(*args: str, **kwargs) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def prepare(workdir: Path, repository: Path = ROOT, packages: Path | None = None) -> LearnerPath:
    """Build the clone, the environment, its kernel and the stand-in in ``workdir``; see the module docstring."""
    workdir.mkdir(parents=True, exist_ok=True)
    clone, venv = workdir / "clone", workdir / "venv"
    run("git", "clone", "--quiet", str(repository), str(clone))
    run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    shared = workdir / "shared-packages"  # .venv's packages without this one
    shared.mkdir()
    for entry in Path(packages or sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OWN) and entry.name not in ("__pycache__",) and not entry.name.endswith(".pth"):
            (shared / entry.name).symlink_to(entry)
    (site / "zz_reuse_packages.pth").write_text(f"{shared}\n")
    stand_in = workdir / "colab-stand-in"
    (stand_in / "google" / "colab").mkdir(parents=True)  # google/ stays a namespace package (protobuf's lives there too)
    (stand_in / "google" / "colab" / "__init__.py").write_text(STAND_IN)
    (stand_in / "sitecustomize.py").write_text("import google.colab  # Colab's kernels start with it imported\n")
    env = {
        "PYTHONPATH": str(stand_in),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{clone}.insteadOf",
        "GIT_CONFIG_VALUE_0": source_url(repository),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    spec = workdir / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "learner (Colab stand-in)", "language": "python", "env": env}, indent=1))
    return LearnerPath(clone, venv, site, KERNEL, workdir / "jupyter")


def activate(path: LearnerPath) -> None:
    """Make the kernel findable by name (``JUPYTER_PATH``) for the kernels this process starts."""
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(path.jupyter_path), os.environ.get("JUPYTER_PATH")]))
