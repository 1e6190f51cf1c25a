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
import os
import tempfile
from pathlib import Path

import torch

from .assembly import assemble_pipeline
from .files import is_ready, staged_folder
from .sd15 import SCHEDULER_CONFIG

CACHE_ENV = "CONTROLNET_TUTORIAL_CACHE"
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


# Words that get whole-word tokens; any other text still tokenizes, byte by byte.
VOCAB_WORDS = (
    "a an the of in on with and or by photo portrait painting woman man girl boy face person "
    "best quality extremely detailed high highly realistic photograph oil cinematic lighting "
    "sandra oh rihanna taylor swift mr potato head monochrome lowres bad anatomy worst low "
    "circle background red green blue yellow white black orange purple cyan pink gray brown "
    "pearl earring vermeer grace hopper admiral navy uniform"
).split()


def cache_dir() -> Path:
    """Where the tiny models live: ``$CONTROLNET_TUTORIAL_CACHE`` or ``~/.cache/controlnet-tutorial``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "controlnet-tutorial"))


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map from bytes to printable unicode symbols."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def write_clip_tokenizer_files(folder: Path, words: tuple[str, ...] = tuple(VOCAB_WORDS), vocab_size: int | None = None) -> int:
    """Write a CLIP-format ``vocab.json`` and ``merges.txt`` to ``folder``; return the vocabulary size.

    The vocabulary has CLIP's layout: the 256 byte symbols, the same with the end-of-word mark
    ``</w>``, one token per merge (each word is merged left to right), then the two special tokens.
    ``vocab_size`` (e.g. CLIP's 49,408) pads it with filler merges of two byte symbols, ranked after
    the words' merges so they never split a word, until the special tokens get CLIP's real ids.
    """
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols]
    ranks: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(w.lower() for w in words):
        # Apply the merges so far, as the tokenizer will (lowest rank first), then add new merges that
        # join what is left, left to right. New merges rank last, so they never split earlier words.
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(pieces, pieces[1:]))]
            rank, i = min(pairs)
            if rank == len(ranks):  # no known merge applies: add one for the leftmost pair
                ranks[(pieces[0], pieces[1])] = rank
                vocab.append(pieces[0] + pieces[1])
                i = 0
            pieces[i : i + 2] = [pieces[i] + pieces[i + 1]]
    if vocab_size is not None:
        known = set(vocab)
        fillers = ((a, b) for a in symbols for b in symbols if a + b not in known)
        while len(vocab) < vocab_size - 2:
            a, b = next(fillers)
            ranks[(a, b)] = len(ranks)
            vocab.append(a + b)
    merges = list(ranks)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return len(vocab)


def clip_tokenizer(words: tuple[str, ...] = tuple(VOCAB_WORDS)):
    """A ``CLIPTokenizer`` with a whole-word token for each of ``words`` (any other text falls back to bytes)."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_clip_tokenizer_files(Path(tmp), tuple(words))
        return CLIPTokenizer.from_pretrained(tmp, model_max_length=77)


def clip_text_encoder(tokenizer, **config):
    """A randomly initialised ``CLIPTextModel`` sized for ``tokenizer`` and using its special tokens."""
    from transformers import CLIPTextConfig, CLIPTextModel

    bos, eos = tokenizer.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    return CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=bos, eos_token_id=eos, pad_token_id=eos, **config))


def build_tiny_pipeline_parts(seed: int = 0) -> dict:
    """Build the tiny SD1.5-structured parts (random weights from ``seed``) and a CLIP tokenizer.

    Returns:
        dict with ``vae``, ``text_encoder``, ``tokenizer``, ``unet``, ``scheduler`` and ``controlnet``.
    """
    from diffusers import AutoencoderKL, ControlNetModel, PNDMScheduler, UNet2DConditionModel

    from .anatomy import activate_zero_convolutions

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
    with staged_folder(root, "built by helpers.tiny.ensure_tiny_models") as staging:
        assemble_pipeline(**parts).save_pretrained(staging / base_dir.name, safe_serialization=True)
        controlnet.save_pretrained(staging / controlnet_dir.name, safe_serialization=True)
    return base_dir, controlnet_dir
