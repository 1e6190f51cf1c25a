"""The tiny trained worlds as the rest of the package finds their models: names, picture sizes, vocabularies,
model configs, folders and guidance scales. (What each world draws, its score and its training live in
``helpers.tiny``; this is the part the learner's surface needs to load a model, with nothing to import above it.)

``circles`` is notebook 06's fill50k-style task (32x32, an outline says where the disc goes); ``shapes`` is a true
Canny ControlNet (64x64 scenes of shapes, the control is the picture's Canny edges) used wherever tiny mode's
pictures should mean something (notebooks 00, 03, 04, 05); ``shape-colours`` shares the shapes world's base model
and takes a colour layout as its control (notebooks 07 and 08).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from helpers.files import models_dir

# The worlds' named colours: words of their prompts, and the colours a region map can use in tiny mode.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 220, 40),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "orange": (245, 140, 20),
    "purple": (140, 50, 180),
}
SHAPE_KINDS = ("circle", "square", "triangle", "star")
CIRCLE_WORDS = tuple(PALETTE) + ("circle", "with", "background")
SHAPE_WORDS = tuple(PALETTE) + SHAPE_KINDS + ("a", "an", "and", "on", "with", "background")


def training_curve(controlnet_folder: Path) -> Path:
    """The training curve (loss and validation scores per step, with the command) that the training command
    writes beside a ControlNet's folder."""
    return controlnet_folder.with_name(f"{controlnet_folder.name}-curve.json")


@dataclass(frozen=True, kw_only=True)
class WorldModels:
    """One world's tiny Stable-Diffusion-shaped models: their configs, where they live, how they sample best."""

    name: str
    size: int  # picture side in pixels
    words: tuple[str, ...]  # the words of its prompts (whole-word tokens of its tokenizer)
    vae_config: dict = field(repr=False)
    text_config: dict = field(repr=False)
    unet_config: dict = field(repr=False)
    hint_channels: tuple[int, ...] = (16, 32, 64)  # ControlNet's hint encoder: 2 downsamplings = 4x, like the VAE
    # Classifier-free guidance: ``guidance`` for training curves, ``controlnet_guidance`` for the final figures
    # (chosen on validation examples, reported on test examples; see data/models/MODEL_CARD.md).
    guidance: float = 3.0
    controlnet_guidance: float = 1.5
    base_name: str | None = None  # a world whose base model this one shares (its ControlNet takes another control)

    @property
    def base_dir(self) -> Path:
        return models_dir() / f"{self.base_name or self.name}-base"

    @property
    def controlnet_dir(self) -> Path:
        return models_dir() / f"{self.name}-controlnet"

    @property
    def reference_curve(self) -> Path:
        return training_curve(self.controlnet_dir)

    def controlnet_variant(self, variant: str) -> Path:
        """Where a variant of the world's reference ControlNet run is shipped (circles: ``random-init``, the
        ablation, its curve only; ``without-empty-prompts``, every training prompt kept): the folder, its curve
        ``training_curve(folder)`` beside it."""
        return models_dir() / f"{self.name}-controlnet-{variant}"

    def missing_folders(self) -> list[Path]:
        """The shipped model folders of this world that are not there (an install without its data)."""
        return [folder for folder in (self.base_dir, self.controlnet_dir) if not folder.is_dir()]


TEXT_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77, projection_dim=64)

# Circles' guidance: training curves use 3.0 (as the shipped reference curve); for the final figures the scale was
# chosen on 64 validation outlines (seed 1), then reported on test outlines (seed 2): the ControlNet trained with 50%
# empty prompts follows outlines best at 2.0 (IoU 0.87 at 1.5, 0.88 at 2.0, 0.86 at 3.0, 0.82 at 5.0; the one trained
# with every prompt, at 1.5: 0.90, 0.87, 0.81, 0.73), the base model gets colours right most often at 3.0.
CIRCLES = WorldModels(
    name="circles",
    size=32,
    words=CIRCLE_WORDS,
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
    controlnet_guidance=2.0,
)

# 64x64 pictures -> 4x16x16 latents. Cross-attention only at 8x8 and 4x4: at 16x16 it tripled the step time
# (0.84 s vs 0.31 s per batch of 32 on 2 cores) and the prompt decides colours and kinds, not pixels.
SHAPES = WorldModels(
    name="shapes",
    size=64,
    words=SHAPE_WORDS,
    controlnet_guidance=3.0,
    vae_config=dict(CIRCLES.vae_config, sample_size=64),
    text_config=TEXT_CONFIG,
    unet_config=dict(
        sample_size=16, in_channels=4, out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), block_out_channels=(32, 64, 64), layers_per_block=1,
        cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8,
    ),
)

# The same scenes and base model; the control is the colour layout: a second ControlNet for notebook 07, and for
# notebook 08, where it and the Canny one are combined (Multi-ControlNet).
SHAPE_COLOURS = replace(SHAPES, name="shape-colours", base_name=SHAPES.name)

WORLD_MODELS = {models.name: models for models in (CIRCLES, SHAPES, SHAPE_COLOURS)}
