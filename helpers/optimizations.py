"""The speed and memory switches of notebook 05, in one place: attention implementations, CPU offload, fused QKV
projections, channels-last and ``torch.compile``, and the recommended recipe that combines what measured best.

Every switch is plain code on a loaded pipeline (``helpers.pipeline.load_controlnet_pipeline``). The GPU-only ones
(``apply_gpu_switches``) are device independent code, so tests/test_gpu_branch.py runs them on a CPU too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from helpers.devices import DeviceError, has_cuda, pick_dtype

if TYPE_CHECKING:  # diffusers takes seconds to import: only where needed
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

ATTENTION_CHOICES = ("sdpa", "plain", "xformers")


def xformers_available() -> bool:
    """True when the optional ``xformers`` package imports."""
    try:
        import xformers  # noqa: F401
    except Exception:  # a torch/xformers version mismatch raises more than ImportError
        return False
    return True


def apply_optimizations(
    pipe: "StableDiffusionControlNetPipeline",
    attention: str = "sdpa",
    cpu_offload: bool = False,
    strict: bool = False,
    verbose: bool = True,
) -> list[str]:
    """Apply the speed/memory switches of the tutorial in one place; return what was done, line by line.

    Args:
        attention: ``"sdpa"`` (PyTorch's fused scaled-dot-product attention, the default since
            torch 2), ``"plain"`` (the original, unfused attention: for comparison), or
            ``"xformers"`` (optional package; needs a CUDA GPU and a matching torch build).
        cpu_offload: ``enable_model_cpu_offload()``: keep each model on the CPU and move it to the GPU
            only while it runs. Needs a GPU.
        strict: raise ``DeviceError`` instead of printing a message and falling back when a switch
            cannot be used here.
    """
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    if attention not in ATTENTION_CHOICES:
        raise ValueError(f"Unknown attention {attention!r}: use one of {ATTENTION_CHOICES}.")
    done: list[str] = []

    def unavailable(message: str) -> None:
        if strict:
            raise DeviceError(message)
        done.append(message)

    if attention == "xformers":
        if not xformers_available():
            unavailable("xformers is not installed (pip install xformers, matching your torch and CUDA); using SDPA, which is as fast on torch 2.")
            attention = "sdpa"
        elif not has_cuda():
            unavailable("xformers needs a CUDA GPU; using SDPA.")
            attention = "sdpa"
        else:
            pipe.enable_xformers_memory_efficient_attention()
            done.append("attention: xformers memory-efficient attention")
    if attention in ("sdpa", "plain"):
        processor = AttnProcessor2_0() if attention == "sdpa" else AttnProcessor()
        for model in (pipe.unet, pipe.controlnet):
            model.set_attn_processor(processor)
        done.append("attention: " + ("SDPA (torch scaled_dot_product_attention)" if attention == "sdpa" else "plain (unfused)"))
    if cpu_offload:
        if has_cuda():
            pipe.enable_model_cpu_offload()
            done.append("model CPU offload: on (each model visits the GPU only while it runs)")
        else:
            unavailable("model CPU offload skipped: it needs a GPU (it moves models between CPU and GPU); on a CPU everything already sits in RAM.")
    if verbose:
        for line in done:
            print(line)
    return done


def compile_for_gpu(pipe: "StableDiffusionControlNetPipeline", mode: str = "reduce-overhead", backend: str = "inductor") -> list[str]:
    """channels-last memory layout (UNet, ControlNet, VAE) and ``torch.compile(mode=mode)`` for the UNet
    and the ControlNet, in place; returns what was done. GPU-only speed-ups: the first call compiles.

    ``backend``: ``"inductor"`` (the default, which generates GPU kernels) or another ``torch.compile`` backend
    such as ``"aot_eager"``, which traces the same graphs without generating code: the tests compile the tiny
    pipeline that way on a CPU, so that a GPU run meets no tracing surprise (``mode`` is inductor's only)."""
    for model in (pipe.unet, pipe.controlnet, pipe.vae):
        model.to(memory_format=torch.channels_last)
    options = {"mode": mode} if backend == "inductor" else {"backend": backend}
    pipe.unet = torch.compile(pipe.unet, **options)
    pipe.controlnet = torch.compile(pipe.controlnet, **options)
    how = f"mode={mode!r}" if backend == "inductor" else f"backend={backend!r}"
    return ["memory layout: channels_last", f"torch.compile({how}): UNet and ControlNet"]


def fuse_controlnet_qkv(controlnet: "ControlNetModel") -> int:
    """Fuse the query/key/value projections of every attention layer of ``controlnet`` (one matrix product
    instead of three) and switch it to ``FusedAttnProcessor2_0``; returns how many layers were fused.

    Why not ``controlnet.fuse_qkv_projections()``: in diffusers 0.42 it fuses only the newer
    ``AttentionModuleMixin`` layers, not SD1.5's ``Attention``, so nothing is fused and the fused processor then
    fails at the first step (``'Attention' object has no attribute 'to_qkv'``). This does what the UNet's own
    ``fuse_qkv_projections`` does: each ``Attention``'s ``fuse_projections(fuse=True)``."""
    from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0

    layers = [m for m in controlnet.modules() if isinstance(m, Attention)]
    for layer in layers:
        layer.fuse_projections(fuse=True)
    controlnet.set_attn_processor(FusedAttnProcessor2_0())
    return len(layers)


def apply_gpu_switches(pipe: "StableDiffusionControlNetPipeline", compile: bool = True, fuse_controlnet: bool = True,
                       backend: str = "inductor") -> list[str]:
    """The recommended recipe's GPU-only switches, in place (``apply_recommended_recipe`` calls this on a CUDA GPU):
    fused QKV projections (UNet, VAE and, unless ``fuse_controlnet`` is False, the ControlNet: the benchmarks
    compare both), then, if ``compile``, channels-last and ``torch.compile`` (``compile_for_gpu``). They are device
    independent code, so the tests run them on a CPU, compiled with ``backend="aot_eager"``."""
    pipe.fuse_qkv_projections(unet=True, vae=True)
    done = ["attention: SDPA with fused QKV projections (UNet, VAE)"]
    if fuse_controlnet:
        done[0] = done[0].replace("VAE)", f"VAE, ControlNet: {fuse_controlnet_qkv(pipe.controlnet)} layers)")
    if compile:
        done += compile_for_gpu(pipe, mode="reduce-overhead", backend=backend)  # CUDA graphs: one launch per step
    return done


def recommended_dtype(device: torch.device | str) -> torch.dtype:
    """``pick_dtype(device, "fastest")``: bfloat16 or float16 on a GPU (``devices.dtype_for_gpu``), float32 on a CPU."""
    return pick_dtype(device, "fastest")


def apply_recommended_recipe(pipe: "StableDiffusionControlNetPipeline", compile: bool = True, verbose: bool = True,
                             fuse_controlnet: bool = True) -> list[str]:
    """The fastest set of switches measured for the device, applied in place; returns what was done.

    Load the pipeline with ``dtype=recommended_dtype(device)`` first. Always: UniPC (20 steps are
    enough) and SDPA attention. On a CUDA GPU also: fused QKV projections, channels-last memory layout,
    and ``torch.compile`` with CUDA graphs (``mode="reduce-overhead"``) for the UNet and the ControlNet:
    at batch 2 the blog recipe is bound by kernel launches, which CUDA graphs remove. The first call
    then compiles (a minute or more); later calls are fast. On a CPU nothing else is applied: the
    other switches only help a GPU, and compiling would cost more than it saves in a notebook.
    ``fuse_controlnet=False`` leaves the ControlNet's attention unfused (a benchmark recipe compares the two).
    """
    from diffusers import UniPCMultistepScheduler

    done: list[str] = []
    if not isinstance(pipe.scheduler, UniPCMultistepScheduler):
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    done.append("scheduler: UniPCMultistepScheduler (use 20 steps)")
    if pipe.device.type != "cuda":
        done += apply_optimizations(pipe, attention="sdpa", verbose=False)
        done.append(f"CPU: {pipe.unet.dtype} kept; no compile, offload or channels-last (they help GPUs only)")
    else:
        done += apply_gpu_switches(pipe, compile=compile, fuse_controlnet=fuse_controlnet)
    if verbose:
        for line in done:
            print(line)
    return done
