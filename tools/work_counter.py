"""Counting, inside a notebook's kernel, the denoising work it does at full size: what the T4 estimates price
(``tools/estimates.py``). The rehearsal loads this file into every kernel it starts (``install``) and reads ``WORK``
at the end.

Counted through ``torch.nn.modules.module.register_module_forward_hook``, a hook on every module call: each
forward pass of a Stable-Diffusion-1.5-sized UNet or ControlNet (cross-attention width 768; the tiny models are
left out) in units of one 512x512 step with classifier-free guidance (a batch of 2 latents of 64x64), each
full-size VAE decode in 512x512 pictures, and how many such UNets and ControlNets ran.

``dry=True`` (the ``--count-work`` run): every full-size UNet and ControlNet answers zeros of the right shapes outside
training (counting needs the calls, not their results; a real pass at full size takes seconds on a CPU).
"""

from __future__ import annotations

import torch
from torch.nn.modules.module import register_module_forward_hook

WORK = {"unet": 0.0, "controlnet": 0.0, "vae_decode": 0.0, "unet_models": 0, "controlnet_models": 0}
_seen: set[int] = set()
_handles: list = []
_restore: list = []  # (class, its real forward) for uninstall


def kind(module: torch.nn.Module) -> str | None:
    """``"unet"``, ``"controlnet"`` or ``"vae_decode"`` for a full-size SD1.5 model (a VAE's decoder), else None."""
    name, config = type(module).__name__, getattr(module, "config", None)
    if name in ("UNet2DConditionModel", "ControlNetModel") and getattr(config, "cross_attention_dim", None) == 768:
        return "unet" if name == "UNet2DConditionModel" else "controlnet"
    if name == "Decoder" and module.conv_in.out_channels == 512 and module.conv_out.in_channels == 128:
        return "vae_decode"
    return None


def _sample(args: tuple, kwargs: dict) -> torch.Tensor | None:
    return args[0] if args else kwargs.get("sample")


def _count(module: torch.nn.Module, args: tuple, kwargs: dict, output) -> None:
    key, sample = kind(module), _sample(args, kwargs)
    if key is None or sample is None:
        return
    b, _, h, w = sample.shape
    WORK[key] += b * h * w / ((1 if key == "vae_decode" else 2) * 64 * 64)
    if key != "vae_decode" and id(module) not in _seen:
        _seen.add(id(module))
        WORK[key + "_models"] += 1


def zeros_like_output(module: torch.nn.Module, sample: torch.Tensor, return_dict: bool):
    """What a UNet or ControlNet returns for ``sample``, as zeros: the same types and shapes, no compute."""
    if type(module).__name__ == "UNet2DConditionModel":
        from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

        return UNet2DConditionOutput(sample=torch.zeros_like(sample)) if return_dict else (torch.zeros_like(sample),)
    from diffusers.models.controlnets.controlnet import ControlNetOutput

    channels, layers = module.config.block_out_channels, module.config.layers_per_block
    b, _, h, w = sample.shape
    shapes = [(channels[0], h, w)]
    for i, c in enumerate(channels):
        shapes += [(c, h >> i, w >> i)] * layers + ([(c, h >> (i + 1), w >> (i + 1))] if i < len(channels) - 1 else [])
    down = tuple(sample.new_zeros(b, *shape) for shape in shapes)
    mid = sample.new_zeros(b, channels[-1], h >> (len(channels) - 1), w >> (len(channels) - 1))
    return ControlNetOutput(down_block_res_samples=down, mid_block_res_sample=mid) if return_dict else (down, mid)


def _answer_zeros() -> None:
    """Dry runs: full-size UNets and ControlNets answer zeros outside training, from their first call. Their forward
    is replaced on the class (a hook cannot skip the forward it was called from); the counting hook still sees each
    call, since a call still goes through ``Module.__call__``."""
    import functools

    from diffusers import ControlNetModel, UNet2DConditionModel

    for cls in (UNet2DConditionModel, ControlNetModel):
        real = cls.forward

        @functools.wraps(real)
        def forward(self, *args, _real=real, **kwargs):
            if kind(self) is None or torch.is_grad_enabled():  # tiny models, and training (notebook 02), run for real
                return _real(self, *args, **kwargs)
            return zeros_like_output(self, _sample(args, kwargs), kwargs.get("return_dict", True))

        cls.forward = forward
        _restore.append((cls, real))


def install(dry: bool = False) -> None:
    """Start counting in this process (once); ``dry``: see the module docstring."""
    if _handles:
        return
    _handles.append(register_module_forward_hook(_count, with_kwargs=True))
    if dry:
        _answer_zeros()


def uninstall() -> None:
    """Stop counting and answering zeros (the counts stay)."""
    while _handles:
        _handles.pop().remove()
    while _restore:
        cls, real = _restore.pop()
        cls.forward = real
