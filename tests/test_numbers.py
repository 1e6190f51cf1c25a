"""Numbers in prose come from one source: each figure quoted in a notebook or a document is checked here
against the file or function that measured it, so that a new measurement cannot leave stale prose behind."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "data" / "models"


def text_of(relative: str) -> str:
    path = ROOT / relative
    if path.suffix == ".ipynb":
        return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    return path.read_text()


def circles_jump() -> int:
    from helpers.tiny.train import TrainingLog

    return TrainingLog(**json.loads((MODELS / "circles-controlnet-curve.json").read_text())["log"]).jump_step()


def test_the_circles_jump_step_is_quoted_as_measured():
    jump = circles_jump()
    assert re.search(rf"past the jump \(step {jump} in the reference run", text_of("notebooks/06_train_controlnet.ipynb"))
    card = text_of("data/models/MODEL_CARD.md")
    assert f"IoU >= 0.5 (16 validation outlines, guidance 3.0) | step {jump} " in card
    assert f"had jumped at step {jump}." in card


def test_the_hub_download_size_is_one_constant():
    """Every size in GB quoted near "download" or "weights" is ``HUB_DOWNLOAD_GB`` (00 once said ~5 GB), or where it
    is said to be notebook 07's, ``HUB_MORE_CONDITIONS_GB``."""
    from helpers.hub.ids import HUB_DOWNLOAD_GB, HUB_MORE_CONDITIONS_GB

    for relative in ("notebooks/00_setup.ipynb", "README.md", "docs/workshop.md"):
        text = text_of(relative)
        quoted = [m.group(1) for m in re.finditer(r"(\d+(?:\.\d+)?) GB", text)
                  if re.search(r"download|weights|internet once", text[max(0, m.start() - 60) : m.end() + 40])]
        quoted = [q for q in quoted if not re.search(rf"{q} GB (?:of RAM|T4|free)", text)]
        assert quoted, f"{relative} no longer quotes the download size: update this test"
        more = [m.group(1) for m in re.finditer(r"(\d+(?:\.\d+)?) GB for notebook 07", text)]
        assert all(q == f"{HUB_MORE_CONDITIONS_GB:g}" for q in more), (relative, more)
        assert set(quoted) - set(more) == {f"{HUB_DOWNLOAD_GB:g}"}, (relative, quoted)


def shapes_figures() -> dict:
    return json.loads((MODELS / "shapes-figures.json").read_text())


@pytest.mark.parametrize("key", [f"{who}_{what}" for who in ("vae_ceiling", "base", "controlnet") for what in ("f1", "iou", "layout_iou")])
def test_the_shapes_model_card_quotes_the_measured_figures(key):
    """MODEL_CARD.md's shapes table: ``| <what> (`key`) | value |`` with the value of shapes-figures.json to 2 decimals."""
    card = text_of("data/models/MODEL_CARD.md")
    quoted = re.search(rf"\(`{key}`\) \| \**([0-9.]+)\**", card)
    assert quoted, f"MODEL_CARD.md does not quote {key}"
    assert quoted.group(1) == f"{shapes_figures()[key]:.2f}"


@pytest.mark.parametrize("key", ["base_f1", "base_iou", "controlnet_f1", "controlnet_iou", "controlnet_layout_iou"])
def test_the_colour_controlnet_figures_are_quoted_as_measured(key):
    """MODEL_CARD.md's colour-layout section quotes shape-colours-figures.json (the first quote of each key after its heading)."""
    card = text_of("data/models/MODEL_CARD.md")
    section = card[card.index("## A second ControlNet: the colour layout") :]
    quoted = re.search(rf"\(`{key}`\) \| \**([0-9.]+)\**", section)
    figures = json.loads((MODELS / "shape-colours-figures.json").read_text())
    assert quoted and quoted.group(1) == f"{figures[key]:.2f}", key


def test_each_notebook_says_how_long_it_runs_as_measured():
    """``**Runs in:**`` in each intro: the seconds measured by ``python tools/bench.py overview`` (rounded up to
    5 s), for every notebook, 06 and its live training included (at most 300 s as a learner runs it: the target)."""
    import math

    times = json.loads((ROOT / "data" / "notebook-times-cpu.json").read_text())["notebooks_s"]
    assert sorted(times) == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for name, seconds in times.items():
        intro = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source
        assert f"**Runs in:** {math.ceil(seconds / 5) * 5} s on 2 CPU cores in tiny mode" in intro, name
    assert times["06_train_controlnet.ipynb"] <= 300
    workshop = (ROOT / "docs" / "workshop.md").read_text()
    assert f"any laptop CPU: {math.ceil(times['06_train_controlnet.ipynb'] / 60)} minutes on 2 cores" in workshop
    setup = text_of("notebooks/00_setup.ipynb")  # 00's table of what comes next: every notebook, 06's time as measured
    assert all(f"| {name[:-6]} |" in setup for name in times if not name.startswith("00"))
    assert f"| CPU, {math.ceil(times['06_train_controlnet.ipynb'] / 60)} minutes on 2 cores (measured) |" in setup


def test_the_notebook_benchmark_runs_notebooks_as_make_test_does():
    """``python tools/bench.py ci-notebooks`` times the notebooks with make test's settings (the Makefile's
    TEST_ENV and one torch thread)."""
    from bench import CI_ENV

    makefile = (ROOT / "Makefile").read_text()
    test_env = re.search(r"^TEST_ENV := (.*)$", makefile, re.MULTILINE).group(1).split()
    assert dict(item.split("=", 1) for item in test_env) == {k: v for k, v in CI_ENV.items() if k != "OMP_NUM_THREADS"}
    assert "$(TEST_ENV) OMP_NUM_THREADS=1 $(BIN)/python -m pytest" in makefile


def test_the_notebook_benchmark_reports_each_notebook_against_the_budget(tmp_path, monkeypatch):
    from bench import ci_notebooks

    monkeypatch.delenv("CONTROLNET_TUTORIAL_QUICK", raising=False)
    for name, source in [("01_settings.ipynb", 'import os\nassert os.environ["CONTROLNET_TUTORIAL_QUICK"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"'),
                         ("02_slow.ipynb", "import time\ntime.sleep(1.5)"), ("notes.ipynb", "raise SystemExit('not a numbered notebook')")]:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), tmp_path / name)
    figures = ci_notebooks(budget_s=1.5, folder=tmp_path)
    assert list(figures["notebooks_s"]) == ["01_settings.ipynb", "02_slow.ipynb"]
    assert figures["notebooks_s"]["02_slow.ipynb"] >= 1.5 and "02_slow.ipynb" in figures["over_budget"]
    assert figures["over_budget"] == [name for name, seconds in figures["notebooks_s"].items() if seconds > 1.5]
    assert "CONTROLNET_TUTORIAL_QUICK" not in os.environ  # put back as it was


def test_the_readme_quotes_the_slowest_notebook_in_ci_mode_as_measured():
    figures = json.loads((ROOT / "data" / "notebook-times-ci.json").read_text())
    name, seconds = max(figures["notebooks_s"].items(), key=lambda item: item[1])
    assert f"slowest {round(seconds)} s, {name[:2]}, in\n`data/notebook-times-ci.json`" in (ROOT / "README.md").read_text()
    assert figures["over_budget"] == [n for n, s in figures["notebooks_s"].items() if s > figures["budget_s"]]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(figures["notebooks_s"]) == notebooks  # every notebook measured


def test_02_quotes_the_shipped_ablation_curves():
    """Notebook 02's reading of the ablation (zero vs random init on the circles world) quotes the shipped curves."""
    def curve(name):
        log = json.loads((ROOT / "data" / "models" / name).read_text())["log"]
        return dict(zip(log["val_step"], log["iou"]))

    zero, random = curve("circles-controlnet-curve.json"), curve("circles-controlnet-random-init-curve.json")
    text = " ".join(" ".join(c.source for c in nbformat.read(ROOT / "notebooks" / "02_controlnet_concepts.ipynb", as_version=4).cells).split())
    jump = min(s for s, v in zero.items() if v >= 0.5)
    random_jump = min(s for s, v in random.items() if v >= 0.5)
    assert f"jumps between steps {jump - 100} and {jump} (IoU {zero[jump - 100]:.2f} to {zero[jump]:.2f})" in text
    assert f"still near chance at step {random_jump - 100:,} ({random[random_jump - 100]:.2f}) and jumps at {random_jump:,} ({random[random_jump]:.2f})" in text
    assert random_jump >= 2 * jump  # "delayed by twice as many steps"
    notebook_06 = " ".join(text_of("notebooks/06_train_controlnet.ipynb").split())
    assert (f"the zero-initialised ControlNet jumps at step {jump} (validation IoU {zero[jump - 100]:.2f} at {jump - 100}, {zero[jump]:.2f} at {jump}); "
            f"the randomly initialised one stays near chance for longer and reaches {random[random_jump]:.2f} at step {random_jump:,}.") in notebook_06


def circles_figures(name: str) -> dict:
    return json.loads((MODELS / name).read_text())


def test_06_quotes_the_empty_prompt_comparison_as_measured():
    """Notebook 06's reveal after section 6 quotes the two reference ControlNets' figures as the evaluate command
    wrote them (50% empty prompts vs every prompt kept), and the reference run says how it was trained."""
    text = " ".join(text_of("notebooks/06_train_controlnet.ipynb").split())
    new, old = circles_figures("circles-figures.json"), circles_figures("circles-controlnet-without-empty-prompts-figures.json")
    assert (f"reaches an edge F1 of {new['controlnet_f1_no_prompt']:.2f} without a prompt, the one trained with every prompt "
            f"{old['controlnet_f1_no_prompt']:.2f}; with the prompt their disc IoU is {new['controlnet_iou']:.2f} and {old['controlnet_iou']:.2f}, "
            f"their edge F1 {new['controlnet_f1']:.2f} and {old['controlnet_f1']:.2f}.") in text
    assert json.loads((MODELS / "circles-controlnet-curve.json").read_text())["how"].endswith("--empty-prompts 0.5")
    assert json.loads((MODELS / "circles-controlnet-random-init-curve.json").read_text())["how"].endswith("--empty-prompts 0.5")
    assert json.loads((MODELS / "circles-controlnet-without-empty-prompts-curve.json").read_text())["how"].endswith("--empty-prompts 0")
    card = " ".join(text_of("data/models/MODEL_CARD.md").split())
    for figures in (new, old):
        assert f"| {figures['controlnet_f1_no_prompt']:.2f} |" in card
