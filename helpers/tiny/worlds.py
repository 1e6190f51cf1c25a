"""The tiny trained worlds: what each one draws, its held-out examples, its score, and its training stages.

A ``World`` is a world's models (``helpers.models.registry``: sizes, vocabulary, configs, folders) together with
what the trainers (``helpers.tiny.train``) and the evaluation (``helpers.tiny.evaluate``) need to know about its
data: the dataset itself, one held-out example, and the control score of one generated picture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from helpers.models import registry
from helpers.tiny import circles, shapes

VALIDATION_SEED, TEST_SEED = 1, 2  # the training data uses seed 0


class Example(NamedTuple):
    """One held-out example: its description (``.prompt`` says what), the target picture and its control
    image (uint8 RGB arrays, (size, size, 3)); ``edges``, where the control is not the edges themselves, the
    target's Canny edges (the reference of the edge F1)."""

    item: Any
    target: np.ndarray
    control: np.ndarray
    edges: np.ndarray | None = None

    @property
    def prompt(self) -> str:
        return self.item.prompt


@dataclass(frozen=True, kw_only=True)
class World(registry.WorldModels):
    """A world's models and its data (see the module docstring)."""

    dataset: Callable[..., Any]  # dataset(seed=0) -> a torch Dataset of pixel_values, conditioning, prompt
    example: Callable[[int, int], Example]  # example(index, seed)
    score: Callable[[np.ndarray, Example], float]  # control fidelity of one generated uint8 picture
    layout: Callable[[np.ndarray, Example], float] | None = None  # where things are drawn, whatever their colours

    def examples(self, count: int, seed: int = VALIDATION_SEED) -> list[Example]:
        """``count`` examples of ``seed`` (never the training seed 0)."""
        return [self.example(i, seed) for i in range(count)]


def _circle_example(index: int, seed: int) -> Example:
    circle = circles.sample_circle(index, seed)
    return Example(circle, *circles.picture_and_outline(circle))


def _circle_score(picture: np.ndarray, example: Example) -> float:
    c = example.item
    return circles.iou(circles.fill_mask(picture, c.fill, c.background), circles.disc_mask(c))


def _shape_example(index: int, seed: int, control: str = "canny") -> Example:
    scene = shapes.sample_scene(index, seed)
    return Example(scene, np.asarray(shapes.render(scene)), np.asarray(shapes.control_image(scene, kind=control)))


def _colour_example(index: int, seed: int) -> Example:
    canny = _shape_example(index, seed)
    return canny._replace(control=np.asarray(shapes.colour_layout(canny.target)), edges=canny.control)


def _shape_score(picture: np.ndarray, example: Example) -> float:
    return shapes.shape_iou(picture, example.item)


def _shape_layout(picture: np.ndarray, example: Example) -> float:
    return shapes.layout_iou(picture, example.item)


CIRCLES = World(**vars(registry.CIRCLES), dataset=lambda seed=0: circles.FillCircles(seed=seed), example=_circle_example, score=_circle_score)
SHAPES = World(**vars(registry.SHAPES), dataset=lambda seed=0: shapes.ShapesWorld(seed=seed), example=_shape_example, score=_shape_score,
               layout=_shape_layout)
# The same scenes and base model; the control is the colour layout (``shapes.colour_layout``).
SHAPE_COLOURS = replace(SHAPES, **vars(registry.SHAPE_COLOURS), example=_colour_example,
                        dataset=lambda seed=0: shapes.ShapesWorld(seed=seed, control="colours"))

WORLDS = {world.name: world for world in (CIRCLES, SHAPES, SHAPE_COLOURS)}


def world(name: str) -> World:
    """The world called ``name``, with a clear error for an unknown one."""
    if name not in WORLDS:
        raise ValueError(f"Unknown world {name!r}: use one of {', '.join(WORLDS)}.")
    return WORLDS[name]


# The reference runs' steps and batch sizes (data/models/MODEL_CARD.md): one command per stage, or all of a
# world's stages in order with ``python -m helpers.tiny.train recipe --world NAME``. "base_more": the base model trained
# on from its saved weights (``--start-from``) with MORE_BASE's learning rate and seed. "controlnet_more": the
# ControlNet resumed from its checkpoint up to that many steps in all (a resume starts the data order afresh, so
# the recipe resumes where the reference run did).
TRAINING_STAGES = {
    "circles": {"vae": (800, 32), "base": (2600, 32), "controlnet": (3400, 32)},
    "shapes": {"vae": (1000, 16), "base": (2400, 32), "base_more": (1300, 32), "controlnet": (2400, 32), "controlnet_more": (3000, 32)},
    "shape-colours": {"controlnet": (2000, 32)},  # the shapes world's base model, the colour layout as control
}
MORE_BASE = {"lr": 5e-4, "seed": 1}
# The ControlNet's learning rate where it is not train_controlnet's default (2e-4, the circles' and notebook 06's):
# the shapes ControlNet at 5e-4 reached at 1400 steps the validation IoU that 2e-4 reached at 3000 (MODEL_CARD.md).
CONTROLNET_LR = {"shapes": 5e-4}
# The share of ControlNet training prompts replaced by "" where it is not train_controlnet's default (the paper's 0.5,
# §3.3): the shapes ControlNets were trained before the option existed, with every prompt (MODEL_CARD.md).
CONTROLNET_EMPTY_PROMPTS = {"shapes": 0.0, "shape-colours": 0.0}
STAGES = ("vae", "base", "base_more", "controlnet", "controlnet_more")


def recipe_commands(world: World, out: Path, checkpoints: Path, quick_steps: int | None = None) -> list[list[str]]:
    """The stage commands (``main``'s arguments) that rebuild ``world``'s models into ``out`` (e.g. data/models),
    in order, the ControlNet's checkpoints in ``checkpoints``; ``quick_steps``: that many steps per stage (a test
    of the chain)."""
    base, controlnet = str(out / world.base_dir.name), str(out / world.controlnet_dir.name)
    common = ["--world", world.name, "--base", base]
    commands = []
    for stage in STAGES:
        if stage not in TRAINING_STAGES[world.name]:
            continue
        steps = str(quick_steps * (2 if stage == "controlnet_more" else 1) if quick_steps else TRAINING_STAGES[world.name][stage][0])
        if stage == "vae":
            commands.append(["vae", *common, "--out", base, "--steps", steps])
        elif stage == "base":
            commands.append(["base", *common, "--out", base, "--steps", steps])
        elif stage == "base_more":
            commands.append(["base", *common, "--start-from", base, "--out", base, "--steps", steps,
                             "--lr", str(MORE_BASE["lr"]), "--seed", str(MORE_BASE["seed"])])
        else:
            lr = ["--lr", str(CONTROLNET_LR[world.name])] if world.name in CONTROLNET_LR else []
            empty = ["--empty-prompts", str(CONTROLNET_EMPTY_PROMPTS[world.name])] if world.name in CONTROLNET_EMPTY_PROMPTS else []
            commands.append(["controlnet", *common, "--out", controlnet, "--steps", steps, *lr, *empty, "--validate-every", str(quick_steps or 200),
                             "--checkpoints", str(checkpoints)])
    return commands
