"""Each member of the ControlNet family run for real, small: a few-thousand-parameter base model and control model of
the very diffusers classes, through the member's own diffusers pipeline, two steps at 32x32, on a CPU, offline.
Text encoders are left out (``prompt_embeds`` are passed instead: no CLIP, T5 or Qwen download), and so is the
safety checker. Random weights: the pictures are noise; what is checked is the machinery (shapes, where control
enters) and the zero-initialisation claim: a freshly made control model changes nothing (or, for a T2I-Adapter,
which has no zero initialisation, it does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SIDE = 32  # pixels of the tiny pictures
STEPS = 2
HIDDEN = 32  # the tiny text embeddings' width
_UNET = dict(block_out_channels=(16, 32), layers_per_block=1, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
             up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=HIDDEN, attention_head_dim=4, norm_num_groups=8, sample_size=SIDE // 2)
_XL = dict(addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=8 * 6 + HIDDEN)
_HINT = (8, 16)  # the control image's encoder halves the side once, as the tiny VAE does


@dataclass(frozen=True)
class TinyRun:
    """What a tiny run showed: the picture's shape, how far a fresh control model moved it (max |pixel difference|
    against the same run at conditioning scale 0), and the control model's parameter count."""

    key: str
    pipeline: str
    shape: tuple[int, ...]
    fresh_difference: float
    control_params: int


def _vae(latent_channels: int = 4, **more):
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                         latent_channels=latent_channels, norm_num_groups=8, layers_per_block=1, sample_size=SIDE, **more)


def _control_image(channels: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return (torch.rand(1, channels, SIDE, SIDE, generator=generator) > 0.8).float()  # sparse white strokes, as an edge map


def _embeds(length: int = 8, width: int = HIDDEN) -> torch.Tensor:
    return torch.randn(1, length, width, generator=torch.Generator().manual_seed(2))


def _components(key: str):
    """(pipeline class name, its components, the call's own arguments, the scale argument's name, the control model)."""
    import diffusers as d

    torch.manual_seed(0)
    common = {"height": SIDE, "width": SIDE}
    if key in ("sd15", "t2i"):
        unet, scheduler = d.UNet2DConditionModel(**_UNET), d.UniPCMultistepScheduler()
        parts = dict(vae=_vae(), text_encoder=None, tokenizer=None, unet=unet, scheduler=scheduler, safety_checker=None, feature_extractor=None,
                     requires_safety_checker=False)
        call = dict(common, prompt_embeds=_embeds(), guidance_scale=1.0, image=_control_image())
        if key == "sd15":
            control = d.ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=_HINT)
            return "StableDiffusionControlNetPipeline", dict(parts, controlnet=control), call, "controlnet_conditioning_scale", control
        if key == "t2i":
            control = d.T2IAdapter(in_channels=3, channels=[16, 32], num_res_blocks=1, downscale_factor=2)
        return "StableDiffusionAdapterPipeline", dict(parts, adapter=control), call, "adapter_conditioning_scale", control
    if key in ("sdxl", "union", "xs"):
        unet = d.UNet2DConditionModel(**dict(_UNET, layers_per_block=2 if key == "xs" else 1), **_XL)  # XS pairs its blocks with 2 layers
        parts = dict(vae=_vae(), text_encoder=None, text_encoder_2=None, tokenizer=None, tokenizer_2=None, unet=unet,
                     scheduler=d.UniPCMultistepScheduler())
        call = dict(common, prompt_embeds=_embeds(), pooled_prompt_embeds=_embeds(1)[:, 0], guidance_scale=1.0)
        if key == "xs":
            control = d.ControlNetXSAdapter.from_unet(unet, size_ratio=0.5, conditioning_embedding_out_channels=_HINT)
            return "StableDiffusionXLControlNetXSPipeline", dict(parts, controlnet=control), dict(call, image=_control_image()), \
                "controlnet_conditioning_scale", control
        if key == "sdxl":
            control = d.ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=_HINT)
            return "StableDiffusionXLControlNetPipeline", dict(parts, controlnet=control), dict(call, image=_control_image()), \
                "controlnet_conditioning_scale", control
        # built from the UNet's config (from_unet keeps the condition mixer at SDXL's 320 channels); zero-initialised all the same
        control = d.ControlNetUnionModel(**{k: unet.config[k] for k in ("block_out_channels", "layers_per_block", "cross_attention_dim",
                                                                       "attention_head_dim", "norm_num_groups")}, **_XL,
                                         down_block_types=_UNET["down_block_types"], conditioning_embedding_out_channels=_HINT,
                                         num_trans_channel=16, num_trans_head=2, num_proj_channel=16)
        return "StableDiffusionXLControlNetUnionPipeline", dict(parts, controlnet=control), \
            dict(call, control_image=[_control_image()], control_mode=[0]), "controlnet_conditioning_scale", control
    if key == "sd3":
        transformer = d.SD3Transformer2DModel(sample_size=SIDE // 2, patch_size=1, in_channels=4, out_channels=4, num_layers=2, attention_head_dim=8,
                                              num_attention_heads=2, joint_attention_dim=HIDDEN, caption_projection_dim=16, pooled_projection_dim=HIDDEN,
                                              pos_embed_max_size=SIDE)
        control = d.SD3ControlNetModel.from_transformer(transformer, num_layers=1, num_extra_conditioning_channels=0)
        parts = dict(transformer=transformer, scheduler=d.FlowMatchEulerDiscreteScheduler(), vae=_vae(shift_factor=0.0), controlnet=control,
                     **{f"{part}{n}": None for part in ("text_encoder", "tokenizer") for n in ("", "_2", "_3")})
        call = dict(common, prompt_embeds=_embeds(), pooled_prompt_embeds=_embeds(1)[:, 0], guidance_scale=1.0, control_image=_control_image())
        return "StableDiffusion3ControlNetPipeline", parts, call, "controlnet_conditioning_scale", control
    if key == "flux":
        transformer = d.FluxTransformer2DModel(patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=8,
                                               num_attention_heads=2, joint_attention_dim=HIDDEN, pooled_projection_dim=HIDDEN, axes_dims_rope=[2, 2, 4])
        control = d.FluxControlNetModel.from_transformer(transformer, num_layers=1, num_single_layers=0, attention_head_dim=8, num_attention_heads=2)
        parts = dict(transformer=transformer, scheduler=d.FlowMatchEulerDiscreteScheduler(), vae=_vae(shift_factor=0.0), controlnet=control,
                     text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None)
        call = dict(common, prompt_embeds=_embeds(), pooled_prompt_embeds=_embeds(1)[:, 0], guidance_scale=3.5, control_image=_control_image())
        return "FluxControlNetPipeline", parts, call, "controlnet_conditioning_scale", control
    if key == "qwen":
        transformer = d.QwenImageTransformer2DModel(patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=8,
                                                    num_attention_heads=2, joint_attention_dim=HIDDEN, axes_dims_rope=(2, 2, 4))
        control = d.QwenImageControlNetModel.from_transformer(transformer, num_layers=1, attention_head_dim=8, num_attention_heads=2)
        vae = d.AutoencoderKLQwenImage(base_dim=8, z_dim=4, dim_mult=[1, 2], num_res_blocks=1, temperal_downsample=[False],
                                       latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
        parts = dict(transformer=transformer, scheduler=d.FlowMatchEulerDiscreteScheduler(), vae=vae, controlnet=control, text_encoder=None, tokenizer=None)
        call = dict(common, prompt_embeds=_embeds(), prompt_embeds_mask=torch.ones(1, 8, dtype=torch.long), true_cfg_scale=1.0,
                    control_image=_control_image())
        return "QwenImageControlNetPipeline", parts, call, "controlnet_conditioning_scale", control
    raise ValueError(f"key must be one of sd15, sdxl, union, sd3, flux, qwen, t2i, xs (helpers.models.family.MEMBERS), not {key!r}")


def tiny_run(key: str, steps: int = STEPS) -> TinyRun:
    """Run member ``key`` (``helpers.models.family``) small: at its conditioning scale 1 and 0, same noise."""
    import diffusers

    from helpers.arguments import whole_number
    from helpers.concepts import count_parameters
    from helpers.family import quiet_diffusers

    whole_number("steps", steps, 1, 50)
    with quiet_diffusers():
        name, parts, call, scale, control = _components(key)
        pipe = getattr(diffusers, name)(**parts)
        pipe.set_progress_bar_config(disable=True)
        pictures = []
        for value in (1.0, 0.0):
            out = pipe(**call, **{scale: value}, num_inference_steps=steps, output_type="np", generator=torch.Generator().manual_seed(0))
            pictures.append(np.asarray(out.images, dtype=np.float64))
    return TinyRun(key, name, pictures[0].shape, float(np.abs(pictures[0] - pictures[1]).max()), count_parameters(control))
