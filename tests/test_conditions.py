"""Conditions beyond Canny (helpers.conditions), the scribble canvas (helpers.ui.sketchpad), Multi-ControlNet."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.conditions import ADE20K_COLOURS, BUNDLED_SCRIBBLES, CONDITIONS, controlnet_source, paint_regions, region_palette, scribble_image
from helpers.hub.ids import HUB_CONTROLNETS
from helpers.tiny.shapes import DEMO_SCENE, colour_layout, control_image, render
from helpers.tiny.worlds import SHAPE_COLOURS, SHAPES


def test_scribble_image_draws_white_lines_on_black_where_the_points_are():
    image = np.asarray(scribble_image([[(0.0, 0.5), (1.0, 0.5)]], size=64))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert set(np.unique(image)) == {0, 255}
    full_rows = np.flatnonzero((image[..., 0] == 255).all(axis=1))
    assert len(full_rows) == 1 and abs(full_rows[0] - 0.5 * 63) <= 0.5  # one horizontal line across, at y = 0.5
    assert (image[..., 0] == 255).sum() == 64  # 1 px wide at 64 px
    assert np.asarray(scribble_image([], size=32)).max() == 0


def test_scribble_width_grows_with_the_size_and_one_point_is_a_dot():
    thin = (np.asarray(scribble_image([[(0.1, 0.5), (0.9, 0.5)]], size=64))[..., 0] > 0).sum(axis=0).max()
    thick = (np.asarray(scribble_image([[(0.1, 0.5), (0.9, 0.5)]], size=512))[..., 0] > 0).sum(axis=0).max()
    assert thin == 1 and thick == 512 // 64
    assert (np.asarray(scribble_image([[(0.5, 0.5)]], size=64))[..., 0] > 0).sum() == 1


def test_scribble_points_outside_the_drawing_are_refused_clearly():
    with pytest.raises(ValueError, match=r"each x and y in \[0, 1\].*\(1\.5, 0\.2\)"):
        scribble_image([[(0.1, 0.2), (1.5, 0.2)]])
    with pytest.raises(ValueError, match="no points"):
        scribble_image([[]])


def test_bundled_scribbles_are_inside_the_drawing():
    for name, strokes in BUNDLED_SCRIBBLES.items():
        assert np.asarray(scribble_image(strokes, size=64)).max() == 255, name


def test_paint_regions_fills_each_cell_with_its_colour():
    image = np.asarray(paint_regions(["ss", "tg"], {"s": "sky", "t": "tree", "g": "grass"}, ADE20K_COLOURS, size=8))
    assert image.shape == (8, 8, 3)
    assert (image[:4, :] == ADE20K_COLOURS["sky"]).all()
    assert (image[4:, :4] == ADE20K_COLOURS["tree"]).all() and (image[4:, 4:] == ADE20K_COLOURS["grass"]).all()


def test_paint_regions_refuses_bad_maps_with_what_is_allowed():
    palette = region_palette("tiny")
    with pytest.raises(ValueError, match="same number of cells"):
        paint_regions(["bb", "b"], {"b": "blue"}, palette)
    with pytest.raises(ValueError, match=r"\['x'\] are not in the legend \(b=blue\)"):
        paint_regions(["bx"], {"b": "blue"}, palette)
    with pytest.raises(ValueError, match="'sky' is not a colour of this palette: use one of red"):
        paint_regions(["b"], {"b": "sky"}, palette)
    with pytest.raises(ValueError, match="at least one row"):
        paint_regions([], {}, palette)


def test_region_palettes_per_mode():
    assert region_palette("hub")["sky"] == (6, 230, 230)
    assert region_palette("tiny")["blue"] == tuple(int(v) for v in region_palette("tiny")["blue"])
    with pytest.raises(ValueError, match="'hub' or 'tiny'"):
        region_palette("cloud")


def test_colour_layout_is_the_mean_colour_of_each_cell():
    picture = np.asarray(render(DEMO_SCENE))
    layout = np.asarray(colour_layout(picture, cells=8))
    assert layout.shape == picture.shape
    cell = picture[:8, :8].reshape(-1, 3).mean(axis=0)
    assert np.abs(layout[0, 0].astype(float) - cell).max() <= 1.0  # Pillow's box filter rounds
    assert (layout[:8, :8] == layout[0, 0]).all()  # a cell is flat
    assert np.array_equal(np.asarray(control_image(DEMO_SCENE, kind="colours")), layout)
    with pytest.raises(ValueError, match="Unknown control 'depth'"):
        control_image(DEMO_SCENE, kind="depth")
    with pytest.raises(ValueError, match="cells must be between 1 and 64"):
        colour_layout(picture, cells=0)


def test_every_condition_has_a_hub_repository_and_a_shipped_tiny_model():
    assert set(CONDITIONS) == set(HUB_CONTROLNETS)
    for name, chosen in CONDITIONS.items():
        assert controlnet_source(name, "hub") == HUB_CONTROLNETS[name]
        assert controlnet_source(name, "tiny") in (str(SHAPES.controlnet_dir), str(SHAPE_COLOURS.controlnet_dir))
        assert chosen.tiny_note
    with pytest.raises(ValueError, match="Unknown condition 'depth': use one of canny, scribble, regions"):
        controlnet_source("depth", "hub")


def test_the_colour_world_shares_the_shapes_base_and_scores_edges_against_the_picture():
    assert SHAPE_COLOURS.base_dir == SHAPES.base_dir and SHAPE_COLOURS.controlnet_dir != SHAPES.controlnet_dir
    colours, canny = SHAPE_COLOURS.example(3, 2), SHAPES.example(3, 2)
    assert colours.prompt == canny.prompt and np.array_equal(colours.target, canny.target)
    assert np.array_equal(colours.edges, canny.control)
    assert np.array_equal(colours.control, np.asarray(colour_layout(canny.target)))
    item = SHAPE_COLOURS.dataset()[3]
    picture = np.rint((item["pixel_values"].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
    expected = torch.from_numpy(np.asarray(colour_layout(picture)).copy()).permute(2, 0, 1).float() / 255.0
    assert torch.equal(item["conditioning"], expected)


@pytest.fixture(scope="module")
def shapes_pipe():
    from helpers.pipeline import load_controlnet_pipeline

    pipe = load_controlnet_pipeline("tiny", device="cpu", tiny_model="shapes", verbose=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def white_pixels(image: Image.Image) -> int:
    return int((np.asarray(image)[..., 0] > 127).sum())


@pytest.mark.slow
def test_the_scribble_pad_turns_mouse_strokes_into_the_control_image(shapes_pipe):
    from helpers.ui.sketchpad import PAD_SIZE, ScribblePad

    pad = ScribblePad(shapes_pipe, "a red square on a blue background", steps=4)
    assert pad.strokes == [list(s) for s in BUNDLED_SCRIBBLES["house"]] and pad.control.size == (64, 64)
    before = white_pixels(pad.control)
    pad.begin(0, PAD_SIZE - 1)
    pad.extend(PAD_SIZE / 2, PAD_SIZE - 1)
    pad.finish(PAD_SIZE - 1, PAD_SIZE - 1)  # a line along the bottom edge
    assert len(pad.strokes) == 4 and pad.strokes[-1][0] == (0.0, 1.0) and pad.strokes[-1][-1] == (1.0, 1.0)
    assert white_pixels(pad.control) > before and (np.asarray(pad.control)[-1, :, 0] == 255).all()
    assert "4 strokes" in pad.status.value
    pad.extend(10, 10)  # the pen is up: moving the mouse draws nothing
    assert len(pad.strokes) == 4 and len(pad.strokes[-1]) == 3
    pad.drawing.value = "star"
    assert pad.strokes == [list(s) for s in BUNDLED_SCRIBBLES["star"]]
    pad.generate_button.click()
    assert pad.error is None and pad.picture.size == (64, 64) and "F1 (2 px)" in pad.status.value
    shown = Image.open(io.BytesIO(pad.picture_view.value))
    assert shown.size == (PAD_SIZE, PAD_SIZE)


@pytest.mark.slow
def test_the_scribble_pad_says_when_there_is_nothing_to_follow(shapes_pipe):
    from helpers.ui.sketchpad import ScribblePad

    pad = ScribblePad(shapes_pipe, "a red square on a blue background", steps=2, start="(blank)")
    pad.clear_button.click()
    assert pad.strokes == [] and white_pixels(pad.control) == 0
    pad.generate()
    assert "canvas is empty" in pad.error and "color:red" in pad.status.value


@pytest.mark.slow
def test_multi_controlnet_adds_the_residuals_and_scale_zero_switches_one_off(shapes_pipe):
    """Two ControlNets in diffusers' MultiControlNetModel: their residuals add up, so a scale of 0 for one of them
    gives exactly the single-ControlNet picture, and both together differ from each alone."""
    from diffusers import StableDiffusionControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    from helpers.conditions import load_controlnet, with_controlnet
    from helpers.tiny.evaluate import generate_examples, score_pictures

    regions = load_controlnet("regions", "tiny")
    multi = with_controlnet(shapes_pipe, MultiControlNetModel([shapes_pipe.controlnet, regions]))
    assert type(multi) is StableDiffusionControlNetPipeline and multi.controlnet.nets[1] is regions
    assert all(getattr(multi, part) is getattr(shapes_pipe, part) for part in ("vae", "text_encoder", "tokenizer", "unet", "scheduler"))
    assert multi._progress_bar_config == {"disable": True}  # kept from the pipeline it came from
    examples = SHAPE_COLOURS.examples(4, 2)
    pairs = [[e.edges, e.control] for e in examples]  # per picture, one control image per ControlNet
    canny_only = generate_examples(shapes_pipe, examples, [e.edges for e in examples], steps=6)
    switched_off = generate_examples(multi, examples, pairs, steps=6, controlnet_conditioning_scale=[1.0, 0.0])
    assert all(np.array_equal(a, b) for a, b in zip(canny_only, switched_off))
    both = generate_examples(multi, examples, pairs, steps=6, controlnet_conditioning_scale=[1.0, 1.0])
    regions_only = generate_examples(multi, examples, pairs, steps=6, controlnet_conditioning_scale=[0.0, 1.0])
    assert not any(np.array_equal(a, b) for a, b in zip(both, canny_only))
    assert not any(np.array_equal(a, b) for a, b in zip(both, regions_only))
    neither = generate_examples(multi, examples, pairs, steps=6, controlnet_conditioning_scale=[0.0, 0.0])
    assert score_pictures(both, examples, SHAPES).f1 > score_pictures(neither, examples, SHAPES).f1 + 0.4


def test_enlarged_grid_scales_small_pictures_by_whole_factors():
    from helpers.ui.plots import enlarged_grid

    small = [Image.new("RGB", (64, 64), (i * 40, 0, 0)) for i in range(4)]
    grid = enlarged_grid(small, rows=2, cols=2)
    assert grid.size == (256, 256) and grid.getpixel((200, 200)) == (120, 0, 0)  # the fourth picture, twice as large
    assert enlarged_grid([Image.new("RGB", (512, 512))] * 2, rows=1, cols=2).size == (1024, 512)  # large ones unchanged


def test_a_hub_controlnet_without_cache_or_internet_is_a_clear_error(monkeypatch, tmp_path):
    import huggingface_hub.constants

    from helpers.conditions import load_controlnet
    from helpers.modes import ModeError

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a Hub that does not answer
    with pytest.raises(ModeError, match=r"not reachable and the weights \(scribble\) are not in the local cache.*1\.45 GB.*prefetch"):
        load_controlnet("scribble", "hub")
