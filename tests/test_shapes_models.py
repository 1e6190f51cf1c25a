"""The shipped shapes models (a true Canny ControlNet, 64x64): their figures recomputed from the weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.tiny import evaluate as E
from helpers.tiny import shapes as S
from helpers.tiny.worlds import SHAPE_COLOURS, SHAPES, WORLDS, world

FIGURES = SHAPES.controlnet_dir.parent / "shapes-figures.json"


@pytest.fixture(scope="module")
def figures():
    return E.held_out_figures(count=64, world=SHAPES)


def test_shipped_controlnet_follows_canny_edges(figures):
    """On 64 test scenes never used in training, the issue's targets: edge F1 (2 px) >= 0.5 and >= 3x the base model
    alone, and shape IoU (the prompt's colours where the edges say) >= 0.85 (as measured for the shipped models:
    0.855; layout IoU, any colour, 0.76)."""
    assert figures["controlnet_f1"] >= 0.5, figures
    assert figures["controlnet_f1"] >= 3 * figures["base_f1"], figures
    assert figures["vae_ceiling_f1"] >= figures["controlnet_f1"] - 0.02, figures  # nothing beats its own VAE
    assert figures["controlnet_iou"] >= 0.85 and figures["controlnet_iou"] >= 4 * figures["base_iou"], figures
    assert figures["controlnet_layout_iou"] >= 0.73 and figures["controlnet_layout_iou"] >= 4 * figures["base_layout_iou"], figures


def test_model_card_figures_come_from_the_weights(figures):
    """The figures quoted in data/models (shapes-figures.json, read by MODEL_CARD.md and the notebooks) are
    what the shipped weights give today."""
    shipped = json.loads(FIGURES.read_text())
    for key, value in figures.items():
        if isinstance(value, float):
            assert shipped[key] == pytest.approx(value, abs=0.02), key


def test_loader_offers_the_shapes_model_by_name():
    import helpers

    pipe = helpers.load_controlnet_pipeline("tiny", tiny_model="shapes", verbose=False)
    assert pipe.unet.config.sample_size * pipe.vae_scale_factor == S.SIZE
    result = E.follow_sketch(pipe, S.DEMO_SCENE, guidance_scale=SHAPES.controlnet_guidance)
    assert result.picture.size == (S.SIZE, S.SIZE)
    assert result.edges.f1 >= 0.5 and result.shape_iou >= 0.7, result.summary()
    off = E.follow_sketch(pipe, S.DEMO_SCENE, guidance_scale=SHAPES.controlnet_guidance, conditioning_scale=0.0)
    assert off.edges.f1 < result.edges.f1


def test_worlds_by_name():
    assert world("shapes") is SHAPES and set(WORLDS) == {"circles", "shapes", "shape-colours"}
    with pytest.raises(ValueError, match="Unknown world 'faces'"):
        world("faces")
    example = SHAPES.example(0, 2)
    assert example.target.shape == example.control.shape == (64, 64, 3)
    assert np.array_equal(example.control, np.asarray(S.control_image(S.sample_scene(0, 2))))


@pytest.fixture(scope="module")
def colour_figures(figures):
    """The colour ControlNet's figures; the base model and the VAE ceiling are the shapes world's (the same base
    model, the same test scenes and noise: the same pictures)."""
    references = {k: v for k, v in figures.items() if k.startswith(("base_", "vae_ceiling_"))}
    return {**E.held_out_figures(count=64, world=SHAPE_COLOURS, references=False), **references}


def test_shipped_colour_controlnet_puts_colours_in_place(colour_figures):
    """The second ControlNet (notebook 07), trained on the same base model with the 8x8 colour layout as control: on
    64 test scenes it puts the shapes in place in their colours, far above the base model alone. Even its edge F1
    is high (0.94 as shipped, as the Canny ControlNet's): a cell's mean colour says how much of it a shape
    covers. Figures as shipped in shape-colours-figures.json (quoted in MODEL_CARD.md)."""
    f = colour_figures
    assert f["controlnet_iou"] >= 4 * f["base_iou"] and f["controlnet_layout_iou"] >= 4 * f["base_layout_iou"], f
    assert f["controlnet_f1"] >= 3 * f["base_f1"], f
    shipped = json.loads((SHAPE_COLOURS.controlnet_dir.parent / "shape-colours-figures.json").read_text())
    for key, value in f.items():
        if isinstance(value, float):
            assert shipped[key] == pytest.approx(value, abs=0.02), key


def test_the_recipe_is_every_stage_in_order(tmp_path):
    """`python -m helpers.tiny.train recipe --world shapes`: the VAE, the base model, the base model trained on from its
    saved weights, then the ControlNet on that base, resumed from its checkpoint where the reference run was, each
    with the reference run's steps (TRAINING_STAGES)."""
    from helpers.tiny.worlds import MORE_BASE, TRAINING_STAGES, recipe_commands

    base, controlnet, ckpt = str(tmp_path / "shapes-base"), str(tmp_path / "shapes-controlnet"), tmp_path / "ckpt"
    common = ["--world", "shapes", "--base", base]
    settings = ["--lr", "0.0005", "--empty-prompts", "0.0", "--validate-every", "200", "--checkpoints", str(ckpt)]  # trained before 50% empty prompts
    assert recipe_commands(SHAPES, tmp_path, ckpt) == [
        ["vae", *common, "--out", base, "--steps", "1000"],
        ["base", *common, "--out", base, "--steps", "2400"],
        ["base", *common, "--start-from", base, "--out", base, "--steps", "1300", "--lr", str(MORE_BASE["lr"]), "--seed", "1"],
        ["controlnet", *common, "--out", controlnet, "--steps", "2400", *settings],
        ["controlnet", *common, "--out", controlnet, "--steps", "3000", *settings],
    ]
    assert TRAINING_STAGES["shapes"]["vae"] == (1000, 16)  # the batch size comes from TRAINING_STAGES in each stage
    assert [c[0] for c in recipe_commands(SHAPE_COLOURS, tmp_path, ckpt)] == ["controlnet"]  # it shares the shapes base


@pytest.mark.slow
def test_the_recipe_runs_end_to_end_and_the_models_load(tmp_path, monkeypatch):
    """The whole chain with 2 steps per stage (CONTROLNET_TUTORIAL_QUICK): every stage finds the previous one's
    output, and the result loads in the stock pipeline."""
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    from helpers.tiny.train import main

    monkeypatch.setenv("CONTROLNET_TUTORIAL_QUICK", "1")
    main(["recipe", "--world", "shapes", "--out", str(tmp_path)])
    controlnet = ControlNetModel.from_pretrained(tmp_path / "shapes-controlnet", use_safetensors=True)
    pipe = StableDiffusionControlNetPipeline.from_pretrained(tmp_path / "shapes-base", controlnet=controlnet, use_safetensors=True)
    assert pipe.unet.config.sample_size == 16 and (tmp_path / "shapes-controlnet-curve.json").exists()
