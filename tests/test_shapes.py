"""The shapes world: deterministic scenes, prompts that name what is drawn, Canny controls that see every shape."""

import cv2
import numpy as np
import pytest

from helpers.fidelity import canny_fidelity
from helpers.models.registry import PALETTE
from helpers.tiny import shapes as S


def test_scenes_are_a_function_of_seed_and_index():
    assert S.sample_scene(3) == S.sample_scene(3)
    assert S.sample_scene(3) != S.sample_scene(4)
    assert S.sample_scene(3, seed=1) != S.sample_scene(3, seed=0)


def test_every_scene_is_drawable_and_every_shape_visible_to_canny():
    for i in range(60):
        scene = S.sample_scene(i)
        assert 1 <= len(scene.shapes) <= 3
        picture = np.asarray(S.render(scene))
        assert picture.shape == (64, 64, 3)
        control = np.asarray(S.control_image(scene))[..., 0] > 0
        for shape in scene.shapes:
            assert abs(S.gray(shape.colour) - S.gray(scene.background)) >= S.MIN_GRAY_CONTRAST
            mask = S.shape_mask(shape)
            assert mask.sum() > 20, (i, shape)
            assert (picture[mask] == PALETTE[shape.colour]).all(), "flat colours, no anti-aliasing"
            ring = np.logical_xor(mask, np.pad(mask, 1)[2:, 1:-1] & np.pad(mask, 1)[:-2, 1:-1] & np.pad(mask, 1)[1:-1, 2:] & np.pad(mask, 1)[1:-1, :-2])
            near = np.zeros_like(control)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    near |= np.roll(np.roll(control, dy, 0), dx, 1)
            assert near[ring].mean() > 0.8, f"scene {i}: Canny misses the {shape.colour} {shape.kind}"
        # shapes do not touch
        masks = [S.shape_mask(s) for s in scene.shapes]
        assert sum(m.sum() for m in masks) == S.foreground_mask(scene).sum()


def test_prompts_name_every_shape_in_several_phrasings():
    scenes = [S.sample_scene(i) for i in range(60)]
    assert {s.phrasing for s in scenes} == set(range(len(S.PHRASINGS)))
    for scene in scenes:
        for shape in scene.shapes:
            assert f"{shape.colour} {shape.kind}" in scene.prompt
        assert f"{scene.background} background" in scene.prompt
        assert set(scene.prompt.replace(",", "").split()) <= set(S.WORDS)
    two = S.Scene("yellow", (S.Shape("square", "red", 20, 20, 8), S.Shape("circle", "blue", 44, 44, 8)), 0)
    assert two.prompt == "a red square and a blue circle on a yellow background"
    assert S.Scene("yellow", two.shapes, 1).prompt == "red square, blue circle, yellow background"


def test_the_picture_itself_scores_perfectly_and_a_blank_one_does_not():
    scene = S.sample_scene(5)
    picture = S.render(scene)
    assert S.shape_iou(picture, scene) == 1.0
    assert canny_fidelity(picture, S.control_image(scene), tolerance_px=0).f1 == 1.0
    blank = np.zeros((64, 64, 3), np.uint8) + np.array(PALETTE[scene.background], np.uint8)
    assert S.shape_iou(blank, scene) == 0.0


def test_dataset_items():
    item = S.ShapesWorld(length=10)[2]
    assert item["pixel_values"].shape == (3, 64, 64) and -1.0 <= item["pixel_values"].min() and item["pixel_values"].max() <= 1.0
    assert item["conditioning"].shape == (3, 64, 64) and set(item["conditioning"].unique().tolist()) <= {0.0, 1.0}
    assert item["prompt"] == S.sample_scene(2).prompt
    with pytest.raises(IndexError):
        S.ShapesWorld(length=10)[10]


def test_scene_from_choices_places_shapes_by_hand():
    scene = S.scene_from_choices("black", [("star", "yellow", 20, 20, 10), ("circle", "white", 45, 45, 8)])
    assert scene.prompt == "a yellow star and a white circle on a black background"
    assert S.shape_mask(scene.shapes[1])[45, 45] and not S.shape_mask(scene.shapes[1])[20, 20]
    with pytest.raises(ValueError, match="Unknown shape 'hexagon'"):
        S.scene_from_choices("black", [("hexagon", "red", 20, 20, 8)])
    with pytest.raises(ValueError, match="Unknown colour 'teal'"):
        S.scene_from_choices("teal", [("star", "red", 20, 20, 8)])
    with pytest.raises(ValueError, match="does not fit"):
        S.scene_from_choices("black", [("star", "red", 3, 20, 8)])
    with pytest.raises(ValueError, match="at least one shape"):
        S.scene_from_choices("black", [])


def test_demo_scene_has_visible_edges_for_every_shape():
    scene = S.DEMO_SCENE
    near_edge = cv2.dilate((np.asarray(S.control_image(scene))[..., 0] > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for shape in scene.shapes:
        assert abs(S.gray(shape.colour) - S.gray(scene.background)) >= S.MIN_GRAY_CONTRAST
        mask = S.shape_mask(shape).astype(np.uint8)
        outline = (mask - cv2.erode(mask, np.ones((3, 3), np.uint8))) > 0
        assert near_edge[outline].mean() > 0.9, shape  # Canny finds (within 1 px) nearly all of every outline


def test_layout_iou_asks_where_not_which_colour():
    scene = S.sample_scene(5, seed=3)  # a blue triangle and a red circle on white
    assert scene.background == "white"
    picture = np.asarray(S.render(scene))
    assert S.layout_iou(picture, scene) == 1.0 and S.shape_iou(picture, scene) == 1.0
    recoloured = picture.copy()
    recoloured[S.foreground_mask(scene)] = (175, 175, 175)  # light grey: nearer white than blue or red, yet far from white
    assert S.layout_iou(recoloured, scene) == 1.0  # the right places in the wrong colour
    assert S.shape_iou(recoloured, scene) == 0.0
    blank = np.zeros_like(picture) + np.array(PALETTE[scene.background], np.uint8)
    assert S.layout_iou(blank, scene) == 0.0
    shifted = np.roll(picture, 6, axis=1)
    assert S.layout_iou(shifted, scene) < 0.8


def test_a_picture_dataset_must_say_how_to_draw_a_sample():
    from helpers.tiny.circles import PictureDataset

    with pytest.raises(TypeError, match="abstract"):
        PictureDataset()


def test_tiny_modes_demo_picture_is_the_shipped_render_of_the_demo_scene():
    """The learner's surface loads tiny mode's demo picture from data/shapes-demo.png (it may not import the worlds):
    it must be exactly what the shapes world draws for DEMO_SCENE."""
    import helpers

    assert np.array_equal(np.asarray(helpers.demo_picture("tiny")), np.asarray(S.render(S.DEMO_SCENE)))
