"""A Hub-shaped offline cache of SD1.5 and the Canny ControlNet, with random weights: hub mode, rehearsed.

``python -m helpers.hub_cache`` writes ``stable-diffusion-v1-5/stable-diffusion-v1-5`` and
``lllyasviel/sd-controlnet-canny`` the way huggingface_hub caches them
(``models--org--name/refs/main`` holding a revision, ``snapshots/<revision>/<component>/...``), with
every component the real repositories have, their configs at the real sizes and values, a CLIP
tokenizer with the real vocabulary size (49,408), and random weights in safetensors. Nothing is
downloaded. With ``HF_HUB_CACHE`` pointing at it and ``HF_HUB_OFFLINE=1``, the learner's own hub-mode
code (``load_controlnet_pipeline("hub")``) loads it through the real ``from_pretrained``: the
rehearsal (``helpers.rehearse``) runs every notebook that way.

Random weights make noise pictures, but the sizes, memory, time and every code path are the real
ones. The ControlNet's zero convolutions hold small non-zero values, as a trained model's do, so the
control image visibly changes the output.

``scale="small"`` writes the same layout with the same keys at a few-MB size, for unit tests.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from .tiny import cache_dir, write_clip_tokenizer_files

# The blog's "runwayml/stable-diffusion-v1-5" was deleted from the Hub; this is its official mirror.
HUB_BASE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
HUB_CONTROLNET = "lllyasviel/sd-controlnet-canny"

CACHE_FORMAT = 1  # bump when the layout or the configs below change
CLIP_VOCAB_SIZE = 49408  # openai/clip-vit-large-patch14: 256 bytes x 2 + 48,894 merges + 2 special tokens

# The configs as the real repositories hold them (stable-diffusion-v1-5/stable-diffusion-v1-5 and
# lllyasviel/sd-controlnet-canny): keys and values, not diffusers' defaults.
_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
# The keys the UNet's config and the ControlNet's share, with the same values (the ControlNet copies the encoder).
_ENCODER = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "cross_attention_dim": 768,
    "down_block_types": _DOWN,
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
}
SD15 = {
    "model_index.json": {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.6.0",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    },
    "unet/config.json": {
        "_class_name": "UNet2DConditionModel",
        "_diffusers_version": "0.6.0",
        **_ENCODER,
        "center_input_sample": False,
        "out_channels": 4,
        "sample_size": 64,
        "up_block_types": _UP,
    },
    "vae/config.json": {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.6.0",
        "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D"] * 4,
        "in_channels": 3,
        "latent_channels": 4,
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "out_channels": 3,
        "sample_size": 512,
        "up_block_types": ["UpDecoderBlock2D"] * 4,
    },
    "text_encoder/config.json": {
        "_name_or_path": "openai/clip-vit-large-patch14",
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "dropout": 0.0,
        "eos_token_id": 2,
        "hidden_act": "quick_gelu",
        "hidden_size": 768,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "pad_token_id": 1,
        "projection_dim": 768,
        "torch_dtype": "float32",
        "vocab_size": CLIP_VOCAB_SIZE,
    },
    "tokenizer/tokenizer_config.json": {
        "add_prefix_space": False,
        "bos_token": "<|startoftext|>",
        "do_lower_case": True,
        "eos_token": "<|endoftext|>",
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": "<|endoftext|>",
    },
    "tokenizer/special_tokens_map.json": {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
    },
    "scheduler/scheduler_config.json": {
        "_class_name": "PNDMScheduler",
        "_diffusers_version": "0.6.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "num_train_timesteps": 1000,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
        "clip_sample": False,
    },
    "feature_extractor/preprocessor_config.json": {
        "crop_size": 224,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3,
        "size": 224,
    },
    # CompVis/stable-diffusion-safety-checker: a CLIP ViT-L/14 vision tower and a 768-d projection.
    "safety_checker/config.json": {
        "_name_or_path": "CompVis/stable-diffusion-safety-checker",
        "architectures": ["StableDiffusionSafetyChecker"],
        "initializer_factor": 1.0,
        "logit_scale_init_value": 2.6592,
        "model_type": "clip",
        "projection_dim": 768,
        "text_config": {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12},
        "torch_dtype": "float32",
        "vision_config": {
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_attention_heads": 16,
            "num_hidden_layers": 24,
            "patch_size": 14,
            "image_size": 224,
        },
    },
}
CONTROLNET_CANNY = {
    "config.json": {
        "_class_name": "ControlNetModel",
        "_diffusers_version": "0.16.0.dev0",
        **_ENCODER,
        "class_embed_type": None,
        "conditioning_embedding_out_channels": [16, 32, 96, 256],
        "controlnet_conditioning_channel_order": "rgb",
        "num_class_embeds": None,
        "only_cross_attention": False,
        "projection_class_embeddings_input_dim": None,
        "resnet_time_scale_shift": "default",
        "upcast_attention": False,
        "use_linear_projection": False,
    }
}

# The same keys at a few MB, for unit tests ("small" scale): channels and depths only.
_SMALL = {
    "unet/config.json": {"block_out_channels": [32, 32, 64, 64], "layers_per_block": 1, "norm_num_groups": 8, "cross_attention_dim": 32},
    "vae/config.json": {"block_out_channels": [8, 8, 16, 16], "layers_per_block": 1, "norm_num_groups": 8},
    "text_encoder/config.json": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "projection_dim": 32},
    "safety_checker/config.json": {
        "projection_dim": 16,
        "text_config": {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1},
        "vision_config": {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1, "patch_size": 32, "image_size": 224},
    },
    "config.json": {"block_out_channels": [32, 32, 64, 64], "layers_per_block": 1, "norm_num_groups": 8, "cross_attention_dim": 32},
}
SCALES = ("full", "small")


def configs(scale: str = "full") -> tuple[dict[str, dict], dict[str, dict]]:
    """The file contents (JSON) of both repositories at ``scale``: ``(sd15, controlnet)``, by path."""
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}: use one of {SCALES}.")
    sd15, controlnet = copy.deepcopy(SD15), copy.deepcopy(CONTROLNET_CANNY)
    if scale == "small":
        for files in (sd15, controlnet):
            for path, changes in _SMALL.items():
                if path in files:
                    files[path].update(copy.deepcopy(changes))
    return sd15, controlnet


def repo_folder(root: Path, repo_id: str) -> Path:
    """``models--org--name``: where huggingface_hub caches ``repo_id`` under ``root``."""
    return Path(root) / ("models--" + repo_id.replace("/", "--"))


def _revision(repo_id: str, scale: str) -> str:
    return hashlib.sha1(f"{repo_id}@rehearsal-{CACHE_FORMAT}-{scale}".encode()).hexdigest()


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


def _write_sd15(snapshot: Path, files: dict[str, dict], seed: int) -> torch.nn.Module:
    """Write every file of the SD1.5 repository; return the UNet (the ControlNet is made from it)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPTextConfig, CLIPTextModel

    for path, content in files.items():
        _write_json(snapshot / path, content)
    write_clip_tokenizer_files(snapshot / "tokenizer", vocab_size=CLIP_VOCAB_SIZE)

    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig.from_dict(files["text_encoder/config.json"]))
    _save_weights(text_encoder, snapshot / "text_encoder" / "model.safetensors")
    del text_encoder
    torch.manual_seed(seed + 1)
    checker = StableDiffusionSafetyChecker(CLIPConfig.from_dict(files["safety_checker/config.json"]))
    _save_weights(checker, snapshot / "safety_checker" / "model.safetensors")
    del checker
    torch.manual_seed(seed + 2)
    vae = AutoencoderKL.from_config(files["vae/config.json"])
    _save_weights(vae, snapshot / "vae" / "diffusion_pytorch_model.safetensors")
    del vae
    torch.manual_seed(seed + 3)
    unet = UNet2DConditionModel.from_config(files["unet/config.json"])
    _save_weights(unet, snapshot / "unet" / "diffusion_pytorch_model.safetensors")
    return unet


def _write_controlnet(snapshot: Path, files: dict[str, dict], unet: torch.nn.Module, seed: int) -> None:
    from diffusers import ControlNetModel

    from .anatomy import activate_zero_convolutions

    _write_json(snapshot / "config.json", files["config.json"])
    controlnet = ControlNetModel.from_config(files["config.json"])
    # The trainable copy starts as the UNet's encoder (as in training); the zero convolutions get small
    # non-zero values, as a trained ControlNet's have, so the control image changes the picture.
    controlnet.load_state_dict({**controlnet.state_dict(), **{k: v for k, v in unet.state_dict().items() if k in controlnet.state_dict()}})
    activate_zero_convolutions(controlnet, seed=seed + 4)
    _save_weights(controlnet, snapshot / "diffusion_pytorch_model.safetensors")


def write_hub_cache(root: Path, scale: str = "full", seed: int = 0) -> Path:
    """Write both repositories under ``root`` (a ``HF_HUB_CACHE`` folder) unless already there; return ``root``.

    Written to a staging folder first and renamed: a half-written cache is never taken as ready.
    """
    root = Path(root)
    if (root / "READY").exists():
        return root
    sd15_files, controlnet_files = configs(scale)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
    snapshots = {}
    for repo_id in (HUB_BASE_MODEL, HUB_CONTROLNET):
        revision = _revision(repo_id, scale)
        folder = repo_folder(staging, repo_id)
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(revision)
        snapshots[repo_id] = folder / "snapshots" / revision
    unet = _write_sd15(snapshots[HUB_BASE_MODEL], sd15_files, seed)
    _write_controlnet(snapshots[HUB_CONTROLNET], controlnet_files, unet, seed)
    (staging / "READY").write_text(f"helpers.hub_cache, scale {scale}, seed {seed}: random weights, real layout and configs\n")
    try:
        staging.rename(root)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return root


def default_root(scale: str = "full") -> Path:
    """``<tutorial cache>/hub-rehearsal-<scale>-v<format>``; never the learner's own Hugging Face cache."""
    return cache_dir() / f"hub-rehearsal-{scale}-v{CACHE_FORMAT}"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m helpers.hub_cache", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the HF_HUB_CACHE folder to write (default: hub-rehearsal-<scale>-v<format> in the tutorial cache)")
    parser.add_argument("--scale", choices=SCALES, default="full")
    args = parser.parse_args(argv)
    root = args.root or default_root(args.scale)
    start = time.perf_counter()
    write_hub_cache(root, args.scale)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e9
    print(f"Hub-shaped cache ({args.scale}, random weights): {root} ({size:.2f} GB, {time.perf_counter() - start:.0f} s)")
    print(f"use it with: HF_HUB_CACHE={root} HF_HUB_OFFLINE=1 CONTROLNET_TUTORIAL_MODE=hub")
    return root


if __name__ == "__main__":
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    main()
