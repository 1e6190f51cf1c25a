"""The ControlNet family (notebook 09): configs checked against the Hub's file sizes, models built on the meta device,
FLOPs counted there, the estimates' rules, every class run small through its own pipeline, and the notebook quoting
what was measured."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
import torch

from helpers import family
from helpers.arguments import ArgumentError
from helpers.models.family import CONTROLNET_11_FP16, FAMILY, MEMBERS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def table():
    return {row["key"]: row for row in family.family_table()}


def listed_tolerance(gigabytes: float) -> float:
    """Half a unit of the last digit the Hub page shows (2.5 GB: 0.05; 1.45 GB: 0.005; 0.308 GB: 0.0005)."""
    decimals = len(f"{gigabytes}".split(".")[1]) if "." in f"{gigabytes}" else 0
    return 0.5 * 10 ** -decimals + 1e-9


def test_each_config_gives_the_parameter_count_its_hub_file_implies_or_says_it_is_unverified(table):
    """A config is checked by its weight file's size: parameters x bytes per parameter = the size the Hub lists. A member
    whose check fails (SD3's depth) must name the keys it could not verify; one that passes names none (XS has no file
    that matches and says so)."""
    checked = 0
    for member in FAMILY:
        if member.weight_file is None:
            assert member.unverified, f"{member.key}: no file to check it against, so something must be marked unverified"
            continue
        _, listed_gb, size = member.weight_file
        computed = table[member.key]["control_params_m"] * 1e6 * size / 1e9
        matches = abs(computed - listed_gb) <= listed_tolerance(listed_gb)
        if member.key in ("qwen",):  # passes, yet a key is unverified: it moves the count by less than the listed digits show
            assert matches and member.unverified == ("extra_condition_channels",)
        else:
            assert matches == (not member.unverified), f"{member.key}: {computed:.4f} GB computed, {listed_gb} GB listed, unverified {member.unverified}"
        checked += matches
    assert checked >= 6
    repository, _, listed_gb, size = CONTROLNET_11_FP16
    assert repository.startswith("lllyasviel/control_v11p_sd15_")
    assert abs(table["sd15"]["control_params_m"] * 1e6 * size / 1e9 - listed_gb) <= listed_tolerance(listed_gb)


def test_the_models_are_built_on_the_meta_device_with_their_known_sizes(table):
    control = family.build(MEMBERS["flux"], "control")
    assert {p.device.type for p in control.parameters()} == {"meta"} and type(control).__name__ == "FluxControlNetModel"
    assert len({member.control_class for member in FAMILY}) >= 6  # seven classes of diffusers
    # the base models' published sizes: SD1.5's UNet 860 M, SDXL's 2.6 B, SD3-medium 2 B, FLUX.1 12 B, Qwen-Image 20 B
    sizes = {key: round(table[key]["base_params_m"] / 1e3, 1) for key in ("sd15", "sdxl", "sd3", "flux", "qwen")}
    assert sizes == {"sd15": 0.9, "sdxl": 2.6, "sd3": 2.0, "flux": 11.9, "qwen": 20.4}


def test_flops_are_counted_on_meta_and_match_the_h200_reference(table):
    """SD1.5 + ControlNet at 512 px with guidance: 1.61 + 0.57 TFLOP per step (data/bench/h200_reference.json,
    counted there on a GPU with real tensors)."""
    import json

    reference = json.loads((ROOT / "data" / "bench" / "h200_reference.json").read_text())["step_tflop"]
    sd15 = table["sd15"]
    assert sd15["base_tflop"] == pytest.approx(1.61, abs=0.005) and sd15["control_tflop"] == pytest.approx(0.57, abs=0.005)
    assert sd15["base_tflop"] + sd15["control_tflop"] == pytest.approx(reference, abs=0.01)
    assert table["t2i"]["control_tflop"] == 0.0 and 0 < table["t2i"]["once_tflop"] < 0.1  # once per picture, not per step
    assert table["xs"]["control_tflop"] < 0.05 * table["xs"]["base_tflop"]


def test_estimates_follow_their_stated_rules(table):
    for key in ("flux", "qwen"):  # more than 13 GB of weights in float16: no T4 time at all
        assert table[key]["weights_gb_fp16"] > family.T4_USABLE_GB and table[key]["t4_step_s"] is None
    sd15 = table["sd15"]
    assert sd15["h200_step_s"] == pytest.approx((sd15["base_tflop"] + sd15["control_tflop"]) / (790 * 0.06))
    assert sd15["utilisation"].startswith("measured") and table["flux"]["utilisation"] == "assumed"
    assert table["flux"]["h200_step_s"] == pytest.approx((table["flux"]["base_tflop"] + table["flux"]["control_tflop"]) / (790 * 0.35))
    with pytest.raises(ArgumentError, match=r"^member must be one of 'sd15', 'sdxl'.*; got 'sd4'\.$"):
        family.measure("sd4")


def test_every_class_runs_small_through_its_own_pipeline_and_only_t2i_adapter_is_not_zero_initialised():
    from helpers.tiny.family_runs import SIDE, tiny_run

    runs = {member.key: tiny_run(member.key) for member in FAMILY}
    assert {run.shape for run in runs.values()} == {(1, SIDE, SIDE, 3)}
    assert {key for key, run in runs.items() if run.fresh_difference > 0} == {"t2i"}
    assert runs["flux"].pipeline == "FluxControlNetPipeline" and runs["qwen"].pipeline == "QwenImageControlNetPipeline"
    with pytest.raises(ArgumentError, match="steps must be a whole number from 1 to 50, not 0"):
        tiny_run("sd15", steps=0)


def test_a_bigger_flux_controlnet_is_measured_from_its_changed_config():
    flux = MEMBERS["flux"]
    bigger = family.measure(replace(flux, control_config={**flux.control_config, "num_single_layers": 10}))
    assert bigger.control_params_m == pytest.approx(3301.9, abs=0.1)
    assert torch.device("meta") == family.build(flux, "base").x_embedder.weight.device


def test_notebook_09_quotes_what_was_measured(table):
    """The percentages and ratios in 09's explanations are the table's, rounded as printed."""
    text = "\n".join(c.source for c in nbformat.read(ROOT / "notebooks" / "09_controlnet_family.ipynb", as_version=4).cells if c.cell_type == "markdown")
    share = {key: f"{table[key]['control_share']:.0%}" for key in table}
    assert f"the paper's SD1.5 ControlNet has {share['sd15']}" in text and f"SDXL's copies do the same ({share['sdxl']})" in text
    assert f"is {share['flux']}, 5 of Qwen-Image's 60 blocks {share['qwen']}" in text
    work = lambda key: table[key]["base_tflop"] + table[key]["control_tflop"]  # noqa: E731
    assert f"about {round(work('flux') / work('sd15'))} times the work of SD1.5's ({work('flux'):.0f} against {work('sd15'):.1f} TFLOP)" in text
    assert f"(about {round(table['flux']['h200_step_s'] / table['sd15']['h200_step_s'])}x)" in text
    gb = {key: round(table[key]["base_params_m"] * 2 / 1e3) for key in ("flux", "qwen")}
    assert f"are {gb['flux']} GB in float16, Qwen-Image's 20 billion {gb['qwen']} GB" in text
    assert re.search(r"42-49% of a UNet", text) and math.isclose(table["sd15"]["control_share"], 0.42, abs_tol=0.005)
