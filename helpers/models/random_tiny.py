"""Small offline stand-ins for Stable Diffusion 1.5 and the Canny ControlNet, built from configs.

They have the real components of SD1.5 (a ``UNet2DConditionModel`` with cross-attention, an 8x VAE, a
CLIP text encoder and tokenizer) with two UNet blocks of one layer instead of four of two, and far fewer
channels, so every diffusers
class and call of the tutorial runs on a laptop CPU in a second. Their weights are random (seeded):
they teach the mechanics, not pretty pictures.

``ensure_tiny_models`` builds them once and writes them with ``save_pretrained`` to a local folder laid
out like the Hub repositories; ``helpers.pipeline`` then loads them with ``from_pretrained`` exactly
like the real ones. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from helpers.files import cache_dir, is_ready, staged_folder
from helpers.models.assembly import assemble_pipeline
from helpers.models.sd15 import SCHEDULER_CONFIG
from helpers.models.tokenizer import VOCAB_WORDS, clip_text_encoder, clip_tokenizer

TINY_FORMAT = 2  # bump when the configs below change, so old caches are not reused

VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(8, 8, 16, 16),  # 4 blocks: 3 downsamplings = 8x, like SD1.5's VAE
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=64,
)

UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    # SD1.5 has four blocks, cross-attention in all but the lowest; two keep 20 steps under a second.
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(32, 64),  # SD1.5: (320, 640, 1280, 1280)
    layers_per_block=1,  # SD1.5: 2; one keeps 20 steps at 64x64 under a second on 2 CPU cores
    cross_attention_dim=32,  # SD1.5: 768, the CLIP text encoder's width
    attention_head_dim=8,
    norm_num_groups=8,
)

TEXT_ENCODER_CONFIG = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    max_position_embeddings=77,
    projection_dim=32,
)


def build_tiny_pipeline_parts(seed: int = 0) -> dict:
    """Build the tiny SD1.5-structured parts (random weights from ``seed``) and a CLIP tokenizer.

    Returns:
        dict with ``vae``, ``text_encoder``, ``tokenizer``, ``unet``, ``scheduler`` and ``controlnet``.
    """
    from diffusers import AutoencoderKL, ControlNetModel, PNDMScheduler, UNet2DConditionModel

    from helpers.models.anatomy import activate_zero_convolutions

    tokenizer = clip_tokenizer()
    torch.manual_seed(seed)
    text_encoder = clip_text_encoder(tokenizer, **TEXT_ENCODER_CONFIG)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(**VAE_CONFIG)
    torch.manual_seed(seed + 2)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    controlnet = ControlNetModel.from_unet(unet)
    # A fresh ControlNet adds exactly zero (the paper's point). A demo whose control image should
    # visibly matter needs the trained state, which random weights cannot give: see the docstring.
    activate_zero_convolutions(controlnet, seed=seed + 3)
    return dict(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=PNDMScheduler.from_config(SCHEDULER_CONFIG),
        controlnet=controlnet,
    )


def _fingerprint() -> str:
    import diffusers
    import transformers

    payload = json.dumps(
        [TINY_FORMAT, VAE_CONFIG, UNET_CONFIG, TEXT_ENCODER_CONFIG, SCHEDULER_CONFIG, VOCAB_WORDS, diffusers.__version__, transformers.__version__],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


def ensure_tiny_models(root: Path | None = None, seed: int = 0) -> tuple[Path, Path]:
    """Build and save the tiny models once; return ``(base_dir, controlnet_dir)``.

    ``base_dir`` is laid out like ``stable-diffusion-v1-5/stable-diffusion-v1-5`` (model_index.json,
    unet/, vae/, text_encoder/, tokenizer/, scheduler/) and ``controlnet_dir`` like
    ``lllyasviel/sd-controlnet-canny``; all weights are safetensors. Later calls reuse the folder.
    """
    root = Path(root) if root is not None else cache_dir() / f"tiny-{_fingerprint()}-seed{seed}"
    base_dir, controlnet_dir = root / "stable-diffusion", root / "controlnet-canny"
    if is_ready(root):
        return base_dir, controlnet_dir
    parts = build_tiny_pipeline_parts(seed)
    controlnet = parts.pop("controlnet")
    with staged_folder(root, "built by helpers.models.random_tiny.ensure_tiny_models") as staging:
        assemble_pipeline(**parts).save_pretrained(staging / base_dir.name, safe_serialization=True)
        controlnet.save_pretrained(staging / controlnet_dir.name, safe_serialization=True)
    return base_dir, controlnet_dir
