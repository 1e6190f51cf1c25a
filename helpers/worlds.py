"""The two training worlds of the tiny trained models: what each one draws, its model sizes, its score.

A ``World`` bundles what the trainers (``helpers.train``) and the evaluation (``helpers.evaluate``) need to
know about a dataset: the dataset itself, the words of its prompts, the picture size, the configs of the
VAE, text encoder, UNet and ControlNet hint encoder, where the trained models live, and the control score
of one generated picture. ``CIRCLES`` is notebook 06's fill50k-style task (32x32, an outline says where the
disc goes); ``SHAPES`` is a true Canny ControlNet (64x64 scenes of shapes, the control is the picture's
Canny edges) used wherever tiny mode's pictures should mean something (notebooks 00, 03, 04, 05).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from . import circles, shapes
from .files import models_dir

MODELS = models_dir()
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


@dataclass(frozen=True)
class World:
    """A dataset and the tiny Stable-Diffusion-shaped models trained on it (see the module docstring)."""

    name: str
    size: int
    words: tuple[str, ...]
    dataset: Callable[..., Any]  # dataset(seed=0) -> a torch Dataset of pixel_values, conditioning, prompt
    example: Callable[[int, int], Example]  # example(index, seed)
    score: Callable[[np.ndarray, Example], float]  # control fidelity of one generated uint8 picture
    vae_config: dict = field(repr=False)
    text_config: dict = field(repr=False)
    unet_config: dict = field(repr=False)
    layout: Callable[[np.ndarray, Example], float] | None = None  # where things are drawn, whatever their colours
    hint_channels: tuple[int, ...] = (16, 32, 64)  # ControlNet's hint encoder: 2 downsamplings = 4x, like the VAE
    # Classifier-free guidance: ``guidance`` for training curves, ``controlnet_guidance`` for the final figures
    # (chosen on validation examples, reported on test examples; see data/models/MODEL_CARD.md).
    guidance: float = 3.0
    controlnet_guidance: float = 1.5
    base_name: str | None = None  # a world whose base model this one shares (its ControlNet takes another control)

    @property
    def base_dir(self) -> Path:
        return MODELS / f"{self.base_name or self.name}-base"

    @property
    def controlnet_dir(self) -> Path:
        return MODELS / f"{self.name}-controlnet"

    def missing_folders(self) -> list[Path]:
        """The shipped model folders of this world that are not there (an install without its data)."""
        return [folder for folder in (self.base_dir, self.controlnet_dir) if not folder.is_dir()]

    @property
    def reference_curve(self) -> Path:
        return MODELS / f"{self.name}-controlnet-curve.json"

    def examples(self, count: int, seed: int = VALIDATION_SEED) -> list[Example]:
        """``count`` examples of ``seed`` (never the training seed 0)."""
        return [self.example(i, seed) for i in range(count)]


TEXT_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77, projection_dim=64)


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


CIRCLES = World(
    name="circles",
    size=circles.SIZE,
    words=circles.WORDS,
    dataset=lambda seed=0: circles.FillCircles(seed=seed),
    example=_circle_example,
    score=_circle_score,
    vae_config=dict(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 32), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=32,
    ),  # 3 blocks: 4x down, 32x32 images -> 4x8x8 latents
    text_config=TEXT_CONFIG,
    unet_config=dict(
        sample_size=8, in_channels=4, out_channels=4, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(32, 64), layers_per_block=1,
        cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8,
    ),
)

# 64x64 pictures -> 4x16x16 latents. Cross-attention only at 8x8 and 4x4: at 16x16 it tripled the step time
# (0.84 s vs 0.31 s per batch of 32 on 2 cores) and the prompt decides colours and kinds, not pixels.
SHAPES = World(
    name="shapes",
    size=shapes.SIZE,
    words=shapes.WORDS,
    dataset=lambda seed=0: shapes.ShapesWorld(seed=seed),
    example=_shape_example,
    score=_shape_score,
    layout=_shape_layout,
    controlnet_guidance=3.0,
    vae_config=dict(CIRCLES.vae_config, sample_size=64),
    text_config=TEXT_CONFIG,
    unet_config=dict(
        sample_size=16, in_channels=4, out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), block_out_channels=(32, 64, 64), layers_per_block=1,
        cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8,
    ),
)

# The same scenes and base model; the control is the colour layout (``shapes.colour_layout``): a second ControlNet
# for notebook 07, where it and the Canny one are combined (Multi-ControlNet).
SHAPE_COLOURS = replace(SHAPES, name="shape-colours", base_name=SHAPES.name, example=_colour_example,
                        dataset=lambda seed=0: shapes.ShapesWorld(seed=seed, control="colours"))

WORLDS = {world.name: world for world in (CIRCLES, SHAPES, SHAPE_COLOURS)}


def world(name: str) -> World:
    """The world called ``name``, with a clear error for an unknown one."""
    if name not in WORLDS:
        raise ValueError(f"Unknown world {name!r}: use one of {', '.join(WORLDS)}.")
    return WORLDS[name]


# The reference runs' steps and batch sizes (data/models/MODEL_CARD.md): one command per stage, or all of a
# world's stages in order with ``python -m helpers.train recipe --world NAME``. "base_more": the base model trained
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
            commands.append(["controlnet", *common, "--out", controlnet, "--steps", steps, *lr, "--validate-every", str(quick_steps or 200),
                             "--checkpoints", str(checkpoints)])
    return commands
