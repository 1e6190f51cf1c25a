"""T4 time estimates: the counted work of each notebook (data/hub-work-cpu.json) at diffusers' published T4 speed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import estimates
import nbformat
import pytest
import rehearse  # tools/ (tests/conftest.py puts it on the path)
import run_notebook

from helpers.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]


def test_each_notebook_uses_its_own_default_picture_size():
    assert estimates.default_side(ROOT / "notebooks" / "00_setup.ipynb") == 512  # SIZE = 512, what SD1.5 was trained at
    assert estimates.default_side(ROOT / "notebooks" / "04_controlnet_pipeline.ipynb") == 512  # SIZE = None
    assert estimates.default_side(ROOT / "notebooks" / "05_optimizations.ipynb") == 512  # RESOLUTION = None


def test_the_estimate_is_the_counted_work_at_the_published_speed():
    """20 guided ControlNet steps and one decode at 64 px, scaled to notebook 04's 512 px (x64), one pipeline and
    one ControlNet loaded."""
    work = {"04_controlnet_pipeline.ipynb": {"parameters": {"SIZE": 64, "STEPS": 20},
                                             "work": {"unet": 20, "controlnet": 20, "vae_decode": 1, "unet_models": 1, "controlnet_models": 1}}}
    expected = 64 * (20 / 4.89 + (1 / 6.9) * 2.5 / 1.61) + estimates.GUESSES["unet_load_s"] + estimates.GUESSES["controlnet_load_s"]
    assert estimates.t4_seconds("04_controlnet_pipeline.ipynb", work) == pytest.approx(expected)
    assert estimates.t4_seconds("06_train_controlnet.ipynb", work) is None
    assert estimates.t4_line("06_train_controlnet.ipynb", work) == "hub mode changes nothing here"
    assert "about 5 min" in estimates.t4_line("04_controlnet_pipeline.ipynb", work)  # 4.9 min, rounded up


def test_notebook_05_adds_its_gpu_only_benchmarks():
    """05's recipes build their own full-size models on a GPU only: they are added from helpers.recipes.RECIPES."""
    seconds = estimates.recipe_seconds(repeats=1, steps=20)
    compiled = sum(r.compile_mode is not None for r in RECIPES)
    assert compiled == 2 and seconds > compiled * estimates.GUESSES["compile_s"]
    assert estimates.recipe_seconds(repeats=2, steps=20) > seconds  # one more timed run of each recipe


def test_the_work_was_counted_with_each_notebooks_current_parameters():
    """data/hub-work-cpu.json holds every notebook that uses hub mode, counted with the parameters cell it has now
    (change a notebook's steps or sweeps, and this fails until `python tools/rehearse.py --count-work` is rerun)."""
    saved = estimates.saved_work()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if path.name[:2] in rehearse.HUB_INDEPENDENT:
            assert path.name not in saved
            continue
        assert path.name in saved, f"{path.name}: run python tools/rehearse.py --count-work --only {path.name[:2]}"
        assert saved[path.name]["parameters_cell"] == estimates.parameters_source(path), f"{path.name}: parameters changed since the count"
        names = run_notebook.parameter_names(nbformat.read(path, as_version=4))
        injected = {k: v for k, v in rehearse.parameters_for(path.name, rehearse.COUNT_PARAMETERS).items() if k in names}
        assert saved[path.name]["parameters"] == injected, path.name  # only the picture size was made small


def test_the_intros_quote_the_estimates():
    """Each intro's **Runs in:** line ends with the T4 estimate of tools/estimates.py."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        intro = nbformat.read(path, as_version=4).cells[0].source
        if path.name[:2] in rehearse.HUB_INDEPENDENT:
            assert "hub mode changes nothing here" in intro  # it never uses hub mode
            continue
        assert estimates.t4_line(path.name) in intro, path.name


def test_the_counted_notebooks_did_real_work():
    """A count of zero would mean the counter missed the models: each pipeline notebook makes at least one picture."""
    saved = json.loads(estimates.WORK_FILE.read_text())["notebooks"]
    for name in ["00_setup.ipynb", "03_inside_the_pipeline.ipynb", "04_controlnet_pipeline.ipynb", "07_more_conditions.ipynb", "08_multi_controlnet.ipynb"]:
        work = saved[name]["work"]
        assert work["unet"] > 0 and work["controlnet"] > 0 and work["vae_decode"] > 0 and work["unet_models"] >= 1, name


def test_notebook_04_quotes_the_t4_time_per_picture():
    intro = nbformat.read(ROOT / "notebooks" / "04_controlnet_pipeline.ipynb", as_version=4).cells[0].source
    assert f"Colab's T4: about {estimates.t4_picture_seconds():.1f} s per 20-step picture, estimated" in intro


def test_parameter_values_are_a_learners_values(tmp_path):
    """quick(a, b) in a parameters cell is counted as a: the T4 estimate is for a learner's run, not CI's."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from helpers.modes import quick\n\nSTEPS = quick(20, 10)\nSEEDS = quick([2, 3], [2])\nSIZE = None\nNAME = str(3)",
        metadata={"tags": ["parameters"]})])
    nbformat.write(nb, tmp_path / "04_x.ipynb")
    assert estimates.parameter_values(tmp_path / "04_x.ipynb") == {"STEPS": 20, "SEEDS": [2, 3], "SIZE": None}


@pytest.mark.slow
def test_the_rehearsal_shortens_only_a_cpu_run_and_counts_a_learners_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTROLNET_TUTORIAL_QUICK", "1")  # as under make test: a counting run must drop it
    before = dict(os.environ)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from helpers.modes import quick\n\nREPEATS = quick(2, 1)", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('REPEATS', REPEATS)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "05_x.ipynb")
    printed = {}
    for dry in (False, True):
        out = tmp_path / f"out-{dry}"
        assert rehearse.rehearse(tmp_path, parameters={}, folder=folder, out=out, solutions=False, dry=dry)["ok"]
        executed = nbformat.read(out / "rehearsal" / "05_x.ipynb", as_version=4)
        printed[dry] = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs).strip()
    assert printed == {False: "REPEATS 1", True: "REPEATS 2"}  # this machine has no GPU: CI's short value
    assert dict(os.environ) == before  # the rehearsal put its settings back
