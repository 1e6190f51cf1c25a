"""ControlNet anatomy: its zero convolutions, found by name, how demo models get them "trained", and where each of
its residuals joins the locked UNet's decoder.

A module of its own because the loader, the tiny models, the Hub-shaped cache and the paper's proofs all
need it, and it needs nothing of theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from diffusers import ControlNetModel, UNet2DConditionModel


def zero_convolutions(controlnet: "ControlNetModel") -> list[tuple[str, torch.nn.Conv2d]]:
    """The ControlNet's "zero convolutions": (name, module) pairs, in the order they act.

    The hint encoder's last conv (``controlnet_cond_embedding.conv_out``), one 1x1 conv per down
    residual (``controlnet_down_blocks.*``, 12 in SD1.5) and one for the mid block.
    """
    convs = [("controlnet_cond_embedding.conv_out", controlnet.controlnet_cond_embedding.conv_out)]
    convs += [(f"controlnet_down_blocks.{i}", conv) for i, conv in enumerate(controlnet.controlnet_down_blocks)]
    convs.append(("controlnet_mid_block", controlnet.controlnet_mid_block))
    return convs


def activate_zero_convolutions(controlnet: "ControlNetModel", std: float = 0.05, seed: int = 0) -> None:
    """Fill the zero convolutions with small random weights (normal, ``std``), in place.

    Why: a ControlNet straight from ``ControlNetModel.from_unet`` has its zero convolutions at exactly
    0, so it adds exactly nothing and the control image cannot change the picture. That is the
    paper's design: training starts from the unchanged pretrained model. A trained ControlNet has
    non-zero values there; random-weight demo models cannot be trained, so this gives them the
    *shape* of a trained one, so the control image visibly matters. Never use it on real weights.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, conv in zero_convolutions(controlnet):
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * std)


def skip_targets(unet: "UNet2DConditionModel") -> list[str]:
    """Where each ControlNet residual joins ``unet`` (one per ``helpers.concepts.residual_sources`` entry): residual i
    is added to skip connection i, which a decoder resnet consumes. diffusers' UNet hands each up block the last
    ``len(resnets)`` skips still unused, and each resnet takes the last of those first: the first residual (the
    highest resolution) feeds the decoder's very last resnet. The last residual is added to the mid block's output."""
    count = 1 + sum(len(block.resnets) + (block.downsamplers is not None) for block in unet.down_blocks)
    targets, unused = [""] * count, list(range(count))
    for j, block in enumerate(unet.up_blocks):
        taken, unused = unused[-len(block.resnets):], unused[: -len(block.resnets)]
        for k in range(len(block.resnets)):
            targets[taken[-1 - k]] = f"up_blocks.{j}.resnets.{k}"
    return targets + ["mid_block output"]
