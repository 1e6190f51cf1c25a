"""The ControlNet family as configs: for each diffusers class, the Hub model it describes, its base model, and where
each value was read. Nothing here is downloaded: the models are built on the meta device (``helpers.family``).

How the values were checked offline: a config is the class's defaults in diffusers 0.42.1 plus the overrides written
here; the parameter count of the model built from it, times the bytes per parameter of its weight file, must give the
file's size as the model's Hub page lists it (pages read 2026-12-07, through this project's stored copies; a test
checks each ``weight_file``). Where that check fails or no page was at hand, the keys are listed in ``unverified``:
the model is still built, the figures are then estimates of that shape, not of the Hub file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpers.models import sd15

# SDXL's UNet (stabilityai/stable-diffusion-xl-base-1.0, unet/config.json); its ControlNets copy the encoder's values.
SDXL_ENCODER = dict(
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"), block_out_channels=(320, 640, 1280),
    transformer_layers_per_block=(1, 2, 10), cross_attention_dim=2048, attention_head_dim=(5, 10, 20), use_linear_projection=True,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
)
SDXL_UNET = dict(SDXL_ENCODER, up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), sample_size=128)
SD3_MEDIUM = dict(num_layers=24, num_attention_heads=24, caption_projection_dim=1536, pos_embed_max_size=192)


def _without_private(config: dict) -> dict:
    return {k: v for k, v in config.items() if not k.startswith("_")}


_SD15_FILES, _CANNY_FILES = sd15.configs("full")


@dataclass(frozen=True)
class Member:
    """One member of the family: a control model and the base model it steers."""

    key: str
    title: str
    control_class: str  # a diffusers class name
    control_config: dict
    base_class: str
    base_config: dict
    pipeline: str  # the diffusers pipeline that runs it
    hub_id: str
    base_id: str
    native: int  # the side in pixels its base model was trained at
    passes: int  # denoiser passes per step: 2 with classifier-free guidance, 1 for a guidance-distilled model
    enters: str  # where control enters the base model
    weight_file: tuple[str, float, int] | None  # (file on the Hub page, its listed size in GB, bytes per parameter)
    sources: str
    unverified: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # sibling repositories of the same architecture
    once_per_image: bool = False  # the control model runs once per picture, not at every step (T2I-Adapter)
    extra: dict = field(default_factory=dict)  # inputs of its own (Union: the control type; XS: its size ratio)


FAMILY: tuple[Member, ...] = (
    Member(
        "sd15", "ControlNet 1.0 / 1.1 (SD1.5)", "ControlNetModel", _without_private(_CANNY_FILES["config.json"]), "UNet2DConditionModel",
        _without_private(_SD15_FILES["unet/config.json"]), "StableDiffusionControlNetPipeline", "lllyasviel/sd-controlnet-canny",
        "stable-diffusion-v1-5/stable-diffusion-v1-5", 512, 2,
        "a trainable copy of the UNet's encoder and middle block; 12 + 1 zero convolutions add to the skip connections and the mid block",
        ("diffusion_pytorch_model.safetensors", 1.45, 4),
        "helpers.models.sd15 (the Hub config files, checked for notebooks 02-05); file size on the model page",
        also=("lllyasviel/control_v11p_sd15_canny", "lllyasviel/control_v11f1p_sd15_depth", "lllyasviel/control_v11p_sd15_openpose",
              "lllyasviel/control_v11p_sd15_scribble", "lllyasviel/control_v11p_sd15_seg"),
    ),
    Member(
        "sdxl", "ControlNet for SDXL", "ControlNetModel", dict(SDXL_ENCODER), "UNet2DConditionModel", dict(SDXL_UNET),
        "StableDiffusionXLControlNetPipeline", "diffusers/controlnet-canny-sdxl-1.0", "stabilityai/stable-diffusion-xl-base-1.0", 1024, 2,
        "the same copy of SDXL's larger encoder (3 levels, up to 10 transformer layers): 9 + 1 zero convolutions",
        ("diffusion_pytorch_model.fp16.safetensors", 2.5, 2),
        "SDXL's UNet config (the ControlNet copies its encoder); file size on the model page",
        also=("diffusers/controlnet-canny-sdxl-1.0-small", "diffusers/controlnet-depth-sdxl-1.0"),
    ),
    Member(
        "union", "ControlNet Union (SDXL)", "ControlNetUnionModel", dict(SDXL_ENCODER), "UNet2DConditionModel", dict(SDXL_UNET),
        "StableDiffusionXLControlNetUnionPipeline", "xinsir/controlnet-union-sdxl-1.0", "stabilityai/stable-diffusion-xl-base-1.0", 1024, 2,
        "one copy of SDXL's encoder for many conditions: a control-type embedding and a small transformer mix the condition "
        "features before they enter the copy",
        ("diffusion_pytorch_model_promax.safetensors", 2.51, 2),
        "SDXL's encoder values and the class's defaults (6 control types); file size on the model page",
        extra={"control_types": 6},
    ),
    Member(
        "sd3", "SD3 ControlNet", "SD3ControlNetModel", dict(SD3_MEDIUM, num_layers=6), "SD3Transformer2DModel", dict(SD3_MEDIUM),
        "StableDiffusion3ControlNetPipeline", "InstantX/SD3-Controlnet-Canny", "stabilityai/stable-diffusion-3-medium-diffusers", 1024, 2,
        "a copy of the first transformer blocks; each block's output, through a zero-initialised linear layer, is added to "
        "the base model's blocks",
        ("diffusion_pytorch_model.safetensors", 1.19, 2),
        "SD3-medium's transformer config; the ControlNet's depth is a guess",
        unverified=("num_layers",),  # 6 layers give 1.08 GB in fp16, the page lists 1.19 GB: some value differs
    ),
    Member(
        "flux", "Flux ControlNet", "FluxControlNetModel", dict(num_layers=5, num_single_layers=0, guidance_embeds=True), "FluxTransformer2DModel",
        dict(guidance_embeds=True), "FluxControlNetPipeline", "InstantX/FLUX.1-dev-Controlnet-Canny", "black-forest-labs/FLUX.1-dev", 1024, 1,
        "5 copied double-stream blocks; through zero-initialised linear layers their outputs are added to the base model's "
        "19 double-stream blocks (each copy feeds several)",
        ("diffusion_pytorch_model.safetensors", 3.58, 2),
        "FLUX.1-dev's transformer is the class's defaults (guidance embedding on); file size on the model page",
        also=("InstantX/FLUX.1-dev-Controlnet-Union", "Shakker-Labs/FLUX.1-dev-ControlNet-Union-Pro"),
    ),
    Member(
        "qwen", "Qwen-Image ControlNet", "QwenImageControlNetModel", dict(num_layers=5, extra_condition_channels=4), "QwenImageTransformer2DModel",
        {}, "QwenImageControlNetPipeline", "InstantX/Qwen-Image-ControlNet-Union", "Qwen/Qwen-Image", 1024, 2,
        "5 copied transformer blocks of the 60; zero-initialised linear layers add their outputs to the base model's blocks",
        ("diffusion_pytorch_model.safetensors", 3.54, 2),
        "Qwen-Image's transformer is the class's defaults; file size on the model page",
        unverified=("extra_condition_channels",),  # changes the count by a few thousand parameters: the file size cannot tell
    ),
    Member(
        "t2i", "T2I-Adapter (SD1.5)", "T2IAdapter", dict(in_channels=1), "UNet2DConditionModel", _without_private(_SD15_FILES["unet/config.json"]),
        "StableDiffusionAdapterPipeline", "TencentARC/t2iadapter_canny_sd15v2", "stable-diffusion-v1-5/stable-diffusion-v1-5", 512, 2,
        "a small separate encoder of the control image, run once per picture; its 4 feature maps are added to the UNet's "
        "encoder at every step; no zero initialisation",
        ("diffusion_pytorch_model.bin", 0.308, 4),
        "the class's defaults with one input channel (a Canny map in grey); file size on the model page",
        also=("TencentARC/t2i-adapter-canny-sdxl-1.0",), once_per_image=True,
    ),
    Member(
        "xs", "ControlNet-XS (SDXL)", "ControlNetXSAdapter", {}, "UNet2DConditionModel", dict(SDXL_UNET),
        "StableDiffusionXLControlNetXSPipeline", "UmerHA/Testing-ConrolNetXS-SDXL-canny", "stabilityai/stable-diffusion-xl-base-1.0", 1024, 2,
        "a small encoder beside the base's, exchanging features both ways at every block: the base's go into the control "
        "model, the control model's (through zero convolutions) into the base",
        None,
        "ControlNetXSAdapter.from_unet(SDXL's UNet, size_ratio=0.1): diffusers' default ratio",
        unverified=("size_ratio",),  # the page lists 85 MB; ratio 0.1 gives 38 M parameters (76 MB in fp16): not this file
        extra={"size_ratio": 0.1},
    ),
)

MEMBERS = {member.key: member for member in FAMILY}
# ControlNet 1.1 for SD1.5: the same architecture as 1.0, with half-precision files beside the full ones; load one with
# ControlNetModel.from_pretrained(id, variant="fp16", dtype=torch.float16). The file as the Hub page lists it:
CONTROLNET_11_FP16 = ("lllyasviel/control_v11p_sd15_canny", "diffusion_pytorch_model.fp16.safetensors", 0.723, 2)
