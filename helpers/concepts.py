"""The paper's ideas as checkable functions: locked copy, trainable copy, zero convolutions.

Zhang & Agrawala (2023), section 3: copy the encoder of a pretrained UNet (the *trainable copy*),
freeze the original (the *locked copy*), and join the copy back through 1x1 convolutions whose weights
and biases start at zero. At initialisation the ControlNet therefore adds exactly nothing, and
training starts from the pretrained model. Every function here works on real diffusers modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from helpers.models.anatomy import zero_convolutions

if TYPE_CHECKING:
    from diffusers import ControlNetModel, UNet2DConditionModel



@dataclass
class CopyReport:
    """How a ControlNet's weights relate to the UNet it was made from (names of state-dict entries)."""

    equal: list[str] = field(default_factory=list)  # copied, bit-identical to the UNet's
    different: list[str] = field(default_factory=list)  # same name as in the UNet, other values
    new: list[str] = field(default_factory=list)  # only in the ControlNet: hint encoder, zero convs

    def new_modules(self) -> list[str]:
        """Top-level modules of the new entries, e.g. ``controlnet_cond_embedding``."""
        return sorted({name.split(".")[0] for name in self.new})


def compare_with_unet(controlnet: "ControlNetModel", unet: "UNet2DConditionModel") -> CopyReport:
    """Compare every ControlNet tensor with the UNet tensor of the same name (``torch.equal``)."""
    unet_state = unet.state_dict()
    report = CopyReport()
    for name, tensor in controlnet.state_dict().items():
        if name not in unet_state:
            report.new.append(name)
        elif torch.equal(tensor, unet_state[name]):
            report.equal.append(name)
        else:
            report.different.append(name)
    return report


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Make ``model`` the locked copy: no parameter requires a gradient. Returns ``model``."""
    model.requires_grad_(False)
    return model


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (works on the meta device too: no memory needed)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def full_size_models() -> tuple["UNet2DConditionModel", "ControlNetModel"]:
    """SD1.5's UNet and a ControlNet made from it, on the meta device: real shapes, no weights, no download."""
    from accelerate import init_empty_weights
    from diffusers import ControlNetModel

    from helpers.models.sd15 import build_model, configs

    with init_empty_weights():
        unet = build_model("unet/config.json", configs("full")[0]["unet/config.json"])
        controlnet = ControlNetModel.from_unet(unet, load_weights_from_unet=False)
    return unet, controlnet


@dataclass
class Inputs:
    """One denoising step's inputs: noisy latents (B, 4, h, w), timestep, text embeddings (B, 77, D),
    and the control image (B, 3, 8h, 8w) in [0, 1]."""

    latents: torch.Tensor
    timestep: torch.Tensor
    text: torch.Tensor
    control: torch.Tensor


def random_inputs(unet: "UNet2DConditionModel", latent_size: int = 8, batch: int = 1, seed: int = 0, device: str | torch.device = "cpu") -> Inputs:
    """Seeded random inputs of the right shapes for ``unet`` (any device, including meta)."""
    generator = torch.Generator().manual_seed(seed)
    dim, vae_scale = unet.config.cross_attention_dim, 8

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator).to(device)

    control = (torch.rand((batch, 3, latent_size * vae_scale, latent_size * vae_scale), generator=generator) > 0.9).float()
    return Inputs(rand(batch, 4, latent_size, latent_size), torch.tensor([500], device=device), rand(batch, 77, dim), control.to(device))


def control_residuals(
    controlnet: "ControlNetModel", inputs: Inputs, conditioning_scale: float = 1.0, guess_mode: bool = False
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The ControlNet's outputs: the down-block residuals (12 for SD1.5) and the mid-block residual."""
    down, mid = controlnet(
        inputs.latents,
        inputs.timestep,
        encoder_hidden_states=inputs.text,
        controlnet_cond=inputs.control,
        conditioning_scale=conditioning_scale,
        guess_mode=guess_mode,
        return_dict=False,
    )
    return list(down), mid


def unet_noise_prediction(
    unet: "UNet2DConditionModel", inputs: Inputs, residuals: tuple[list[torch.Tensor], torch.Tensor] | None = None
) -> torch.Tensor:
    """The UNet's noise prediction, alone (``residuals=None``) or with the ControlNet's residuals added."""
    down, mid = residuals if residuals is not None else (None, None)
    return unet(
        inputs.latents,
        inputs.timestep,
        encoder_hidden_states=inputs.text,
        down_block_additional_residuals=down,
        mid_block_additional_residual=mid,
        return_dict=False,
    )[0]


def randomize_zero_convolutions(controlnet: "ControlNetModel", seed: int = 0) -> None:
    """The paper's ablation: give the zero convolutions PyTorch's default random initialisation, in place."""
    torch.manual_seed(seed)
    for _, conv in zero_convolutions(controlnet):
        conv.reset_parameters()


def zero_conv_norm(controlnet: "ControlNetModel") -> float:
    """L2 norm of all zero-convolution weights and biases together."""
    squares = sum((p.detach().float() ** 2).sum() for _, conv in zero_convolutions(controlnet) for p in conv.parameters())
    return float(torch.sqrt(squares))


def residual_magnitudes(residuals: tuple[list[torch.Tensor], torch.Tensor]) -> list[float]:
    """Mean absolute value of each residual: the 12 down ones, then the mid one (13 for SD1.5)."""
    down, mid = residuals
    return [float(r.detach().abs().mean()) for r in [*down, mid]]


@dataclass
class TrainingTrace:
    """Per step of ``train_steps``: loss, zero-conv weight norm, mean |residual|, and the change of the
    UNet's prediction caused by the ControlNet (mean absolute difference)."""

    loss: list[float] = field(default_factory=list)
    zero_conv_norm: list[float] = field(default_factory=list)
    residual: list[float] = field(default_factory=list)
    output_change: list[float] = field(default_factory=list)


def train_steps(
    controlnet: "ControlNetModel",
    unet: "UNet2DConditionModel",
    inputs: Inputs,
    target: torch.Tensor,
    steps: int = 5,
    lr: float = 1e-3,
    optimizer: str = "sgd",
) -> TrainingTrace:
    """A few optimizer steps on the ControlNet only (the UNet is frozen), recording what changes.

    The loss is the mean squared error between the controlled noise prediction and ``target``: the
    form of the real training loss, on one fixed batch, so that the effect of each step is visible.
    Entry ``i`` of each list is measured *before* step ``i``; one more entry after the last step.

    ``optimizer``: ``"sgd"`` (no state: the weights and their gradients, 2x the ControlNet's size) or
    ``"adamw"`` (as real training; two running averages more: 4x, 5.8 GB at SD1.5 size).
    """
    freeze(unet)
    controlnet.train()
    if optimizer == "sgd":
        optimizer_ = torch.optim.SGD(controlnet.parameters(), lr=lr)
    elif optimizer == "adamw":
        # foreach=False: one parameter at a time, so no temporary the size of the whole model
        optimizer_ = torch.optim.AdamW(controlnet.parameters(), lr=lr, weight_decay=0.0, foreach=False)
    else:
        raise ValueError(f"Unknown optimizer {optimizer!r}: use 'sgd' or 'adamw'.")
    trace = TrainingTrace()
    with torch.no_grad():
        base = unet_noise_prediction(unet, inputs)
    for step in range(steps + 1):
        residuals = control_residuals(controlnet, inputs)
        prediction = unet_noise_prediction(unet, inputs, residuals)
        loss = torch.nn.functional.mse_loss(prediction, target)
        trace.loss.append(float(loss.detach()))
        trace.zero_conv_norm.append(zero_conv_norm(controlnet))
        magnitudes = residual_magnitudes(residuals)
        trace.residual.append(sum(magnitudes) / len(magnitudes))
        trace.output_change.append(float((prediction.detach() - base).abs().mean()))
        if step == steps:
            break
        optimizer_.zero_grad()
        loss.backward()
        optimizer_.step()
    controlnet.zero_grad(set_to_none=True)  # gradients and optimizer state go with this function
    controlnet.eval()
    return trace


def gradient_norms(controlnet: "ControlNetModel") -> dict[str, float]:
    """Gradient norm of each part of the ControlNet after ``backward()`` (0.0 where there is none).

    Parts: the zero convolutions on the residuals (``controlnet_down_blocks`` + ``controlnet_mid_block``),
    the hint encoder's last conv (also a zero conv), the rest of the hint encoder, and the trainable copy
    of the UNet encoder (everything else).
    """
    parts = {"residual zero convs": 0.0, "hint encoder zero conv": 0.0, "hint encoder (rest)": 0.0, "trainable copy": 0.0}
    for name, param in controlnet.named_parameters():
        if name.startswith(("controlnet_down_blocks", "controlnet_mid_block")):
            part = "residual zero convs"
        elif name.startswith("controlnet_cond_embedding.conv_out"):
            part = "hint encoder zero conv"
        elif name.startswith("controlnet_cond_embedding"):
            part = "hint encoder (rest)"
        else:
            part = "trainable copy"
        if param.grad is not None:
            parts[part] += float((param.grad.float() ** 2).sum())
    return {part: value**0.5 for part, value in parts.items()}


def guess_mode_scales(num_residuals: int = 13) -> tuple[torch.Tensor, torch.Tensor]:
    """Guess mode's per-residual scales: diffusers' ``torch.logspace(-1, 0, n)`` and the original
    implementation's ``0.825 ** (n - 1 - i)`` (lllyasviel/ControlNet, ``cldm/cldm.py``)."""
    diffusers_scales = torch.logspace(-1, 0, num_residuals)
    original_scales = torch.tensor([0.825 ** (num_residuals - 1 - i) for i in range(num_residuals)])
    return diffusers_scales, original_scales


def paper_resolution_weights(sides: list[int]) -> torch.Tensor:
    """The paper's CFG resolution weighting (§3.4): residual ``i`` of side ``h_i`` gets ``w_i = H / h_i``, ``H`` the
    largest side (64 at 512 px: w = 1 for the 64x64 blocks ... 8 for the 8x8 ones). The released code replaced it
    by a smooth ramp (``guess_mode_scales``)."""
    if not sides or any(not isinstance(h, int) or h < 1 for h in sides):
        raise ValueError(f"sides must be the residuals' sides in latent pixels (positive whole numbers), not {sides!r}.")
    return torch.tensor([max(sides) / h for h in sides])


def scale_residuals(
    residuals: tuple[list[torch.Tensor], torch.Tensor], conditioning_scale: float = 1.0, block_scales: list[float] | None = None
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Multiply every residual by ``conditioning_scale`` and residual ``i`` also by ``block_scales[i]``.

    ``controlnet_conditioning_scale`` in the pipeline is the first factor; per-residual factors are what
    guess mode applies (see ``guess_mode_scales``).
    """
    down, mid = residuals
    count = len(down) + 1
    block_scales = [1.0] * count if block_scales is None else list(block_scales)
    if len(block_scales) != count:
        raise ValueError(f"{count} residuals but {len(block_scales)} block scales: give one per residual.")
    scaled = [r * conditioning_scale * s for r, s in zip([*down, mid], block_scales)]
    return scaled[:-1], scaled[-1]


def residual_sources(controlnet: "ControlNetModel") -> list[str]:
    """Where each residual comes from in the trainable copy, read from the module structure.

    One per ``controlnet_down_blocks`` entry (``conv_in``, then every layer of every down block, then
    its downsampler), then ``mid_block``: 12 + 1 for SD1.5.
    """
    sources = ["conv_in"]
    for i, block in enumerate(controlnet.down_blocks):
        sources += [f"down_blocks.{i}.layer{j}" for j in range(len(block.resnets))]
        if block.downsamplers is not None:
            sources.append(f"down_blocks.{i}.downsample")
    sources.append("mid_block")
    return sources


def residual_shapes(controlnet: "ControlNetModel", inputs: Inputs) -> list[tuple[int, ...]]:
    """Shapes (B, C, H, W) of every residual, taken with forward hooks on the zero convolutions during a
    real forward pass (on the meta device this costs no memory and no compute)."""
    shapes: list[tuple[int, ...]] = []
    convs = [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block]
    handles = [conv.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape))) for conv in convs]
    try:
        with torch.no_grad():
            control_residuals(controlnet, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def block_profile(name: str, count: int = 13) -> list[float]:
    """Per-residual scales by name: ``uniform`` (all 1), ``guess mode`` (``logspace(-1, 0)``: deep blocks
    count most), ``only highest resolution`` (the first third), ``only mid block``."""
    if name == "uniform":
        return [1.0] * count
    if name == "guess mode":
        return guess_mode_scales(count)[0].tolist()
    if name == "only highest resolution":
        return [1.0 if i < count // 3 else 0.0 for i in range(count)]
    if name == "only mid block":
        return [0.0] * (count - 1) + [1.0]
    raise ValueError(f"Unknown profile {name!r}: use uniform, guess mode, only highest resolution or only mid block.")


def scaled_magnitudes(
    residuals: tuple[list[torch.Tensor], torch.Tensor], conditioning_scale: float, block_scales: list[float] | None = None
) -> list[float]:
    """``residual_magnitudes`` after ``scale_residuals``: what the locked UNet actually receives."""
    return residual_magnitudes(scale_residuals(residuals, conditioning_scale, block_scales))
