"""The rehearsal runner: parameters injected with papermill, a fresh kernel, failures and peaks recorded."""

from __future__ import annotations

import nbformat
import pytest
import rehearse  # tools/ (tests/conftest.py puts it on the path)
import run_notebook


def notebook(parameters: str, body: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# test"),
        nbformat.v4.new_code_cell("raise SystemExit('the Colab cell must be skipped')", metadata={"tags": ["skip-execution"]}),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    return nb


def write(tmp_path, name, nb):
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_parameter_names_and_per_notebook_tables():
    nb = notebook("SIZE = None  # px\nSTEPS, SEED = 20, 0\nPROMPTS = [1, 2]", "pass")
    assert run_notebook.parameter_names(nb) == {"SIZE", "STEPS", "SEED", "PROMPTS"}
    table = {"*": {"SIZE": 64, "STEPS": 2}, "02": {"TRAIN_STEPS": 3}}
    assert rehearse.parameters_for("02_concepts.ipynb", table) == {"SIZE": 64, "STEPS": 2, "TRAIN_STEPS": 3}
    assert rehearse.parameters_for("03_pipeline.ipynb", table) == {"SIZE": 64, "STEPS": 2}


@pytest.mark.slow
def test_a_passing_notebook_gets_its_parameters_and_a_peak(tmp_path):
    nb = notebook("SIZE = 512\nOTHER = 1", "import os\nassert SIZE == 64, SIZE\nprint('cwd', os.getcwd())\nblock = b'x' * 200_000_000")
    path = write(tmp_path, "00_ok.ipynb", nb)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    hog = b"y" * 1_000_000_000  # the kernel must not inherit this process's peak (Linux's ru_maxrss would)
    record = rehearse.run_notebook(path, {"SIZE": 64, "STEPS": 2}, workdir, tmp_path / "out" / "00_ok.ipynb")
    del hog
    assert record["ok"] and record["error"] is None, record
    assert record["parameters"] == {"SIZE": 64}  # only names the notebook has
    assert 0.2 < record["peak_rss_gb"] < 0.9  # the 200 MB block is counted, the 1 GB of the parent is not
    executed = nbformat.read(tmp_path / "out" / "00_ok.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert f"cwd {workdir}" in "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert rehearse.over_budget(record) == []


@pytest.mark.slow
def test_a_hub_branch_that_raises_fails_the_rehearsal(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTROLNET_TUTORIAL_MODE", "hub")
    body = "import os\nif os.environ['CONTROLNET_TUTORIAL_MODE'] == 'hub':\n    raise RuntimeError('hub branch broken')"
    path = write(tmp_path, "01_bad.ipynb", notebook("SIZE = 1", body))
    record = rehearse.run_notebook(path, {}, tmp_path)
    assert not record["ok"]
    assert "RuntimeError: hub branch broken" in record["error"]
    assert record["peak_rss_gb"] > 0  # measured even when a cell fails


def test_budgets_are_checked():
    record = {"peak_rss_gb": 12.5, "peak_gpu_gb": 14.2}
    assert rehearse.over_budget(record) == ["peak RSS 12.5 GB > 12.0 GB", "peak GPU memory 14.2 GB > 14.0 GB"]
    assert rehearse.over_budget({"peak_rss_gb": 7.3, "peak_gpu_gb": None}) == []


def test_solutions_can_be_left_out(tmp_path):
    import nbformat

    nb = notebook("SIZE = 1", "x = 1")
    solution = nbformat.v4.new_code_cell("raise SystemExit('a solution ran')", metadata={"tags": ["solution"]})
    nb.cells.append(solution)
    path = write(tmp_path, "00_sol.ipynb", nb)
    assert rehearse.run_notebook(path, {}, tmp_path, skip_solutions=True)["ok"]
    assert not rehearse.run_notebook(path, {}, tmp_path)["ok"]


@pytest.mark.slow
def test_the_work_counter_counts_full_size_passes_only(tmp_path):
    """The kernel-side counter: a UNet with SD1.5's cross-attention width (768) is counted in 512x512 guided steps
    (2 latents of 64x64), a tiny one (width 32) is not; each counted model once."""
    body = """
import torch
from diffusers import UNet2DConditionModel
def unet(width):
    return UNet2DConditionModel(sample_size=8, block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=width,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                                attention_head_dim=8, norm_num_groups=8)
full, tiny = unet(768), unet(32)
with torch.no_grad():
    for _ in range(3):
        full(torch.zeros(2, 4, 32, 32), 10, encoder_hidden_states=torch.zeros(2, 77, 768))
    full(sample=torch.zeros(1, 4, 64, 64), timestep=10, encoder_hidden_states=torch.zeros(1, 77, 768))
    tiny(torch.zeros(2, 4, 64, 64), 10, encoder_hidden_states=torch.zeros(2, 77, 32))
"""
    record = rehearse.run_notebook(write(tmp_path, "00_work.ipynb", notebook("SIZE = 1", body)), {}, tmp_path)
    assert record["ok"], record
    # 3 passes of 2 x 32 x 32 = 3/4 of a 512x512 guided step, one unguided 64x64 pass = 1/2 of one
    assert record["work"] == {"unet": 1.25, "controlnet": 0.0, "vae_decode": 0.0, "unet_models": 1, "controlnet_models": 0}


def test_a_dry_count_answers_zeros_of_the_right_shapes_and_trains_for_real():
    """``work_counter.install(dry=True)`` in this process: a full-size-width UNet and its ControlNet answer zeros of the
    shapes the real ones give (without grad), still run for real with grad (training), and count every call."""
    import torch
    import work_counter
    from diffusers import ControlNetModel, UNet2DConditionModel

    from helpers.models.anatomy import activate_zero_convolutions

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=8, block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=768,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                                attention_head_dim=8, norm_num_groups=8)
    controlnet = ControlNetModel.from_unet(unet)  # its hint encoder: 8x down, 64 px to the 8x8 latents
    activate_zero_convolutions(controlnet)  # a fresh ControlNet adds exactly zero: the zeros below would prove nothing
    sample, text, hint = torch.randn(2, 4, 8, 8), torch.randn(2, 77, 768), torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        real_down, real_mid = controlnet(sample, 10, encoder_hidden_states=text, controlnet_cond=hint, return_dict=False)
        real = unet(sample, 10, encoder_hidden_states=text).sample
    before = dict(work_counter.WORK)
    work_counter.install(dry=True)
    try:
        with torch.no_grad():
            down, mid = controlnet(sample, 10, encoder_hidden_states=text, controlnet_cond=hint, return_dict=False)
            zeros = unet(sample, 10, encoder_hidden_states=text).sample
        trained = unet(sample, 10, encoder_hidden_states=text).sample
    finally:
        work_counter.uninstall()
    assert real.abs().sum() > 0 and torch.equal(zeros, torch.zeros_like(real)) and torch.allclose(trained, real, atol=1e-5)
    assert [d.shape for d in down] == [d.shape for d in real_down] and mid.shape == real_mid.shape
    assert all(d.abs().sum() == 0 for d in (*down, mid)) and real_mid.abs().sum() > 0
    assert work_counter.WORK["unet"] - before["unet"] == 2 * 2 * 8 * 8 / (2 * 64 * 64)  # two calls of 2 latents of 8x8
    assert work_counter.WORK["controlnet"] - before["controlnet"] == 2 * 8 * 8 / (2 * 64 * 64)
    with torch.no_grad():  # uninstalled: real again
        assert torch.equal(unet(sample, 10, encoder_hidden_states=text).sample, real)


def test_parameters_are_read_with_ast_because_papermills_reader_misses_some():
    """The reason tools/run_notebook.py reads parameters cells itself: papermill's inspect_notebook misses tuple
    assignments (01's LOW, HIGH) and a line whose comment holds '=' (02's LATENT_SIZE). Every name it finds, ours
    finds too; when papermill finds them all, this test says the hand-written reader can go."""
    from pathlib import Path

    from papermill import inspect_notebook

    root = Path(__file__).resolve().parents[1] / "notebooks"
    missed = {}
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        ours, papermills = run_notebook.parameter_names(nbformat.read(path, as_version=4)), set(inspect_notebook(str(path)))
        assert papermills <= ours, path.name
        missed.update({path.name[:2]: ours - papermills} if ours - papermills else {})
    assert missed["01"] == {"LOW", "HIGH"} and missed["02"] == {"LATENT_SIZE"}
