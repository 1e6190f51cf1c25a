"""The learner's path as the rehearsal builds it (tools/learner_path.py): a fresh environment that cannot see this
package until its install cell runs, the repository's address redirected to a clone, a stand-in google.colab."""

import json
import os
import subprocess

import learner_path
import pytest
from repository import source_url


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return learner_path.prepare(tmp_path_factory.mktemp("learner"))


def in_kernel_env(prepared, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with the new environment's python and its kernel's environment variables."""
    spec = json.loads((prepared.jupyter_path / "kernels" / prepared.kernel / "kernel.json").read_text())
    return subprocess.run([spec["argv"][0], "-c", code], capture_output=True, text=True, env={**os.environ, **spec["env"]}, timeout=120,
                          cwd=prepared.venv)  # not the checkout, whose helpers/ python -c would find first


def test_the_fresh_environment_reuses_the_dependencies_but_not_this_package(prepared):
    run = in_kernel_env(prepared, "import diffusers, ipykernel; print(diffusers.__version__)")
    assert run.returncode == 0 and run.stdout.strip() == "0.42.1", run.stderr
    run = in_kernel_env(prepared, "import helpers")
    assert run.returncode == 1 and "No module named 'helpers'" in run.stderr
    run = in_kernel_env(prepared, "import importlib.metadata as m; m.version('controlnet-tutorial')")
    assert "PackageNotFoundError" in run.stderr


def test_the_kernel_starts_with_the_colab_stand_in(prepared):
    run = in_kernel_env(prepared, "import sys; from google.colab import output; output.enable_custom_widget_manager(); "
                                  "print('google.colab' in sys.modules, sys.modules['google.colab'].custom_widget_manager)")
    assert run.stdout.strip() == "True ['enabled']", run.stderr


def test_the_repositorys_address_leads_to_the_clone(prepared):
    spec = json.loads((prepared.jupyter_path / "kernels" / prepared.kernel / "kernel.json").read_text())
    head = subprocess.run(["git", "-C", str(prepared.clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.split()[0]
    remote = subprocess.run(["git", "ls-remote", source_url(), "HEAD"], capture_output=True, text=True, env={**os.environ, **spec["env"]}, timeout=60)
    assert remote.returncode == 0 and remote.stdout.split()[0] == head


def test_the_check_refuses_helpers_from_anywhere_but_the_install(prepared):
    good = {"helpers": f"{prepared.site_packages}/helpers/__init__.py", "data": f"{prepared.site_packages}/helpers/data", "widget_manager": ["enabled"]}
    assert prepared.check("LEARNER_PATH " + json.dumps(good)) == good
    for key, value, message in [("helpers", "/work/main/helpers/__init__.py", "helpers was imported from"),
                                ("data", "/work/main/data", "the package's data was found at"),
                                ("widget_manager", [], "did not switch Colab's custom widget manager on")]:
        with pytest.raises(RuntimeError, match=message):
            prepared.check("LEARNER_PATH " + json.dumps({**good, key: value}))
