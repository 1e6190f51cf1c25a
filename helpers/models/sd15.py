"""Stable Diffusion 1.5 and its Canny ControlNet as the Hub holds them: every config file's keys and values
(``configs("full")``), or the same keys at a few-MB size for tests (``"small"``), and the one builder of a model
from them (``build_model``). The Hub-shaped cache (``tools/hub_cache.py``), the full-size benchmark
(``helpers.recipes``) and the parameter counts of notebook 02 (``helpers.concepts``) all build from here. (The
repository ids are ``helpers.hub.ids``.)
"""

from __future__ import annotations

import copy

# SD1.5's noise schedule, as its scheduler_config.json records it (PNDM's settings included): the one copy. The random
# tiny models, the trained worlds (helpers.tiny.train: DDPMScheduler.from_config) and the Hub-shaped cache all read it.
SCHEDULER_CONFIG = dict(
    beta_end=0.012,
    beta_schedule="scaled_linear",
    beta_start=0.00085,
    num_train_timesteps=1000,
    set_alpha_to_one=False,
    skip_prk_steps=True,
    steps_offset=1,
)

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
    "scheduler/scheduler_config.json": {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", **SCHEDULER_CONFIG,
                                        "trained_betas": None, "clip_sample": False},
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


def build_model(path: str, config: dict):
    """One model of SD1.5's repositories from its config file, random weights (seed with ``torch.manual_seed``
    first; build inside ``torch.device(...)`` or ``accelerate.init_empty_weights()`` to choose where it lives).

    ``path`` names the file as ``configs()`` does: ``"unet/config.json"``, ``"vae/config.json"``,
    ``"text_encoder/config.json"``, ``"safety_checker/config.json"``, or the ControlNet's ``"config.json"``.
    """
    if path == "unet/config.json":
        from diffusers import UNet2DConditionModel

        return UNet2DConditionModel.from_config(config)
    if path == "vae/config.json":
        from diffusers import AutoencoderKL

        return AutoencoderKL.from_config(config)
    if path == "config.json":
        from diffusers import ControlNetModel

        return ControlNetModel.from_config(config)
    if path == "text_encoder/config.json":
        from transformers import CLIPTextConfig, CLIPTextModel

        return CLIPTextModel(CLIPTextConfig.from_dict(config))
    if path == "safety_checker/config.json":
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        from transformers import CLIPConfig

        return StableDiffusionSafetyChecker(CLIPConfig.from_dict(config))
    raise ValueError(f"No model is built from {path!r}: use unet/, vae/, text_encoder/ or safety_checker/config.json, or config.json.")
