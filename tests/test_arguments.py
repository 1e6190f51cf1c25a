"""Bad arguments get a clear error naming the argument, raised before any model runs; every kind of image a notebook
makes is accepted as a control image. One table per function."""

import numpy as np
import pytest
from PIL import Image

from helpers import canny_control_image, canny_edges, generate, load_portrait, resize_for_pipeline
from helpers.arguments import ArgumentError

PICTURE = resize_for_pipeline(load_portrait("tiny", max_side=64), 64)
CONTROL = canny_control_image(PICTURE)

GENERATE_CASES = [
    ({"prompt": None}, "prompt must be a string or a non-empty list of strings"),
    ({"prompt": []}, "prompt must be a string or a non-empty list of strings"),
    ({"prompt": ["a", 3]}, "prompt[1] must be a string"),
    ({"steps": 0}, "steps must be a whole number from 1 to 1000, not 0"),
    ({"steps": 2.5}, "steps must be a whole number from 1 to 1000, not 2.5"),
    ({"steps": True}, "steps must be a whole number"),
    ({"seed": -1}, "seed must be a whole number from 0 to"),
    ({"seed": "7"}, "seed must be a whole number"),
    ({"prompt": ["a", "b"], "seed": [1, 2, 3]}, "seed has 3 values but there are 2 prompts"),
    ({"negative_prompt": ["x", "y"]}, "negative_prompt has 2 values but there are 1 prompts"),
    ({"negative_prompt": 5}, "negative_prompt must be a string"),
    ({"guidance_scale": -1}, "guidance_scale must be a number of at least 0, not -1"),
    ({"guidance_scale": float("nan")}, "guidance_scale must be a number of at least 0, not nan"),
    ({"conditioning_scale": -0.5}, "conditioning_scale must be a number of at least 0, not -0.5"),
    ({"conditioning_scale": [1.0, 0.5]}, "conditioning_scale has 2 values but there are 1 ControlNets"),
    ({"num_images_per_prompt": 0}, "num_images_per_prompt must be a whole number from 1 to 64, not 0"),
    ({"control_image": None}, "control_image must be a PIL image, a numpy array (H, W) or (H, W, 3) or a file path, not NoneType"),
    ({"control_image": "no-such-file.png"}, "control_image: "),
    ({"control_image": [CONTROL, CONTROL]}, "control_image must be one image: this pipeline has one ControlNet"),
    ({"control_image": Image.new("RGB", (4, 64))}, "control_image is 4x64 pixels"),
    ({"control_image": np.zeros((64, 64, 5), np.uint8)}, "control_image: "),
    ({"control_guidance_start": 1.5}, "control_guidance_start must be a number from 0 to 1, not 1.5"),
    ({"control_guidance_start": 0.6, "control_guidance_end": 0.4}, "control_guidance_start (0.6) must be below control_guidance_end (0.4)"),
    ({"guess_mode": "yes"}, "guess_mode must be True or False"),
    ({"num_steps": 10}, "generate() got an unknown keyword 'num_steps'"),
]


@pytest.fixture
def pipeline_must_not_run(tiny_pipe, monkeypatch):
    import functools

    @functools.wraps(type(tiny_pipe).__call__)  # keeps the signature, which generate() reads
    def refuse(*args, **kwargs):
        pytest.fail("the pipeline ran with a bad argument")

    monkeypatch.setattr(type(tiny_pipe), "__call__", refuse)
    return tiny_pipe


@pytest.mark.parametrize("bad, message", GENERATE_CASES, ids=[next(iter(b)) + "-" + str(i) for i, (b, _) in enumerate(GENERATE_CASES)])
def test_generate_refuses_bad_arguments_before_running(pipeline_must_not_run, bad, message):
    call = {"prompt": "a portrait", "control_image": CONTROL, **bad}
    with pytest.raises(ArgumentError) as caught:
        generate(pipeline_must_not_run, **call)
    assert message in str(caught.value)


@pytest.mark.parametrize("control", [
    CONTROL,  # canny_control_image: PIL RGB
    canny_edges(PICTURE),  # canny_edges: a 2-D uint8 array (it raised AttributeError inside images.py before)
    np.asarray(CONTROL),  # (H, W, 3) uint8
    canny_edges(PICTURE) > 0,  # a boolean mask
    CONTROL.convert("L"),  # a grayscale PIL image
], ids=["pil-rgb", "canny-array", "rgb-array", "bool-mask", "pil-gray"])
def test_every_kind_of_control_image_a_notebook_makes_is_accepted(tiny_pipe, control):
    picture = generate(tiny_pipe, "a portrait", control, steps=1)[0]
    assert picture.size == PICTURE.size == (56, 64)  # the portrait is taller than wide


def test_the_same_control_as_array_or_image_gives_the_same_picture(tiny_pipe):
    from_array = np.asarray(generate(tiny_pipe, "a portrait", canny_edges(PICTURE), steps=2, seed=4)[0])
    from_image = np.asarray(generate(tiny_pipe, "a portrait", CONTROL, steps=2, seed=4)[0])
    assert np.array_equal(from_array, from_image)


def test_multi_controlnet_needs_one_image_and_at_most_one_scale_per_net(tiny_pipe, monkeypatch):
    from diffusers import StableDiffusionControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    multi = StableDiffusionControlNetPipeline(**{**tiny_pipe.components, "controlnet": MultiControlNetModel([tiny_pipe.controlnet] * 2)})
    multi.set_progress_bar_config(disable=True)
    with pytest.raises(ArgumentError, match=r"control_image must be a list of 2 images, one per ControlNet"):
        generate(multi, "a portrait", CONTROL)
    with pytest.raises(ArgumentError, match=r"control_guidance_end\[1\] must be a number from 0 to 1"):
        generate(multi, "a portrait", [CONTROL, CONTROL], control_guidance_end=[1.0, 2.0])
    with pytest.raises(ArgumentError, match=r"conditioning_scale has 3 values but there are 2 ControlNets"):
        generate(multi, "a portrait", [CONTROL, CONTROL], conditioning_scale=[1.0, 1.0, 1.0])
    assert len(generate(multi, "a portrait", [CONTROL, canny_edges(PICTURE)], steps=1, conditioning_scale=[1.0, 0.5])) == 1


LOADER_CASES = [
    ({"mode": "gpu"}, "mode must be one of 'hub', 'tiny'; got 'gpu'"),
    ({"scheduler": "ddim"}, "scheduler must be one of 'unipc', 'default'; got 'ddim'"),
    ({"tiny_model": "large"}, "tiny_model must be one of 'random', 'circles', 'shapes'; got 'large'"),
    ({"verbose": "yes"}, "verbose must be True or False"),
]


@pytest.mark.parametrize("bad, message", LOADER_CASES, ids=[next(iter(b)) for b, _ in LOADER_CASES])
def test_loader_refuses_bad_arguments_before_loading(monkeypatch, bad, message):
    import diffusers

    from helpers.pipeline import load_controlnet_pipeline

    monkeypatch.setattr(diffusers.ControlNetModel, "from_pretrained", lambda *a, **k: pytest.fail("a model was loaded"))
    with pytest.raises(ArgumentError) as caught:
        load_controlnet_pipeline(**{"mode": "tiny", **bad})
    assert message in str(caught.value)


SWEEP_CASES = [
    ({"settings": []}, "settings must be a non-empty list of dicts"),
    ({"settings": [0.5]}, "settings must be a non-empty list of dicts"),
    ({"seeds": []}, "seeds must be a non-empty list of seeds"),
    ({"seeds": [0, -2]}, "seeds[1] must be a whole number of at least 0, not -2"),
    ({"low": 300}, "low threshold 300 is out of range"),
    ({"settings": [{"conditioning_scale": -1}]}, "conditioning_scale must be a number of at least 0, not -1"),
]


@pytest.mark.parametrize("bad, message", SWEEP_CASES, ids=[f"{next(iter(b))}-{i}" for i, (b, _) in enumerate(SWEEP_CASES)])
def test_fidelity_sweep_refuses_bad_arguments_before_running(pipeline_must_not_run, bad, message):
    from helpers.fidelity import fidelity_sweep

    call = {"prompt": "a portrait", "control": CONTROL, "settings": [{"conditioning_scale": 1.0}], "seeds": [0], **bad}
    with pytest.raises(ValueError) as caught:
        fidelity_sweep(pipeline_must_not_run, **call)
    assert message in str(caught.value)


def test_follow_sketch_refuses_a_bad_size(pipeline_must_not_run):
    from helpers.tiny.evaluate import follow_sketch
    from helpers.tiny.shapes import DEMO_SCENE

    with pytest.raises(ArgumentError, match="size must be a whole number from 8 to 2048, not 4"):
        follow_sketch(pipeline_must_not_run, DEMO_SCENE, size=4)
    with pytest.raises(ArgumentError, match="steps must be a whole number from 1 to 1000, not 0"):
        follow_sketch(pipeline_must_not_run, DEMO_SCENE, steps=0)


def widget_cases():
    from helpers.ui.drawers import CircleDrawer, ShapeDrawer
    from helpers.ui.widgets import CannyExplorer, GenerationPanel, ResidualScaleExplorer

    return [
        (lambda pipe: CannyExplorer({}), "images must be a dict of at least one named image"),
        (lambda pipe: CannyExplorer({"p": None}), "images['p'] must be a PIL image"),
        (lambda pipe: CannyExplorer({"p": PICTURE}, low=300), "low threshold 300 is out of range"),
        (lambda pipe: CannyExplorer({"p": PICTURE}, blur=4), "blur must be one of 0, 3, 5, 7, 9, 11; got 4"),
        (lambda pipe: GenerationPanel(pipe, CONTROL, steps=0), "steps must be a whole number from 1 to 50, not 0"),
        (lambda pipe: GenerationPanel(pipe, "missing.png"), "control_image: "),
        (lambda pipe: GenerationPanel(pipe, CONTROL, prompt=None), "prompt must be a string"),
        (lambda pipe: CircleDrawer(pipe, scale=0), "scale must be a whole number from 1 to 32, not 0"),
        (lambda pipe: ShapeDrawer(pipe, steps=0), "steps must be a whole number from 1 to 1000, not 0"),
        (lambda pipe: ShapeDrawer(pipe, guidance_scale=-2), "guidance_scale must be a number of at least 0, not -2"),
        (lambda pipe: ResidualScaleExplorer([], conditioning_scale=3), "conditioning_scale must be a number from 0 to 2, not 3"),
    ]


@pytest.mark.parametrize("index", range(11))
def test_widgets_refuse_bad_arguments_before_running(pipeline_must_not_run, index):
    make, message = widget_cases()[index]
    with pytest.raises(ValueError) as caught:
        make(pipeline_must_not_run)
    assert message in str(caught.value)


def test_scribble_pad_refuses_an_unknown_drawing(pipeline_must_not_run):
    pytest.importorskip("ipycanvas")
    from helpers.ui.sketchpad import ScribblePad

    with pytest.raises(ArgumentError, match="start must be one of '\\(blank\\)', "):
        ScribblePad(pipeline_must_not_run, "a house", start="castle")
