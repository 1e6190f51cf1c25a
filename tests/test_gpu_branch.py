"""The recommended recipe's GPU-only branch, run on a CPU: everything but the device itself.

``apply_recommended_recipe`` takes this branch only on a CUDA GPU, where no test of this repository runs; so the
same switches (``apply_gpu_switches``) are applied here to the tiny pipeline, compiled with ``torch.compile``'s
``aot_eager`` backend (the same tracing as on a GPU, without generating kernels), and a generation must then give
the picture of the untouched pipeline. ``tools/gpu_check.sh`` runs this file on the real GPU before timing anything.
"""

import numpy as np
import pytest
import torch

from helpers import canny_control_image, generate, load_portrait, resize_for_pipeline
from helpers.optimizations import apply_gpu_switches, fuse_controlnet_qkv

PROMPT = "a portrait, best quality"


@pytest.fixture
def own_pipe(tiny_model_dirs):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline, UniPCMultistepScheduler

    base, controlnet_dir = tiny_model_dirs
    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipe = StableDiffusionControlNetPipeline.from_pretrained(base, controlnet=ControlNetModel.from_pretrained(controlnet_dir, use_safetensors=True),
                                                             use_safetensors=True).to(device)
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def control():
    return resize_for_pipeline(canny_control_image(load_portrait("tiny", max_side=64)), 64)


def picture(pipe, control) -> np.ndarray:
    return np.asarray(generate(pipe, PROMPT, control, steps=2, seed=3)[0], dtype=np.int16)


def attention_layers(model):
    from diffusers.models.attention_processor import Attention

    return [m for m in model.modules() if isinstance(m, Attention)]


def test_diffusers_own_controlnet_fusing_fuses_nothing(own_pipe):
    """Why ``fuse_controlnet_qkv`` exists: diffusers 0.42's ``ControlNetModel.fuse_qkv_projections`` skips SD1.5's
    ``Attention`` layers. When an upgrade fixes that, this test fails: then use diffusers' call again."""
    own_pipe.controlnet.fuse_qkv_projections()
    layers = attention_layers(own_pipe.controlnet)
    assert layers and not any(layer.fused_projections for layer in layers)


def test_fused_controlnet_gives_the_same_picture(own_pipe, control):
    before = picture(own_pipe, control)
    fused = fuse_controlnet_qkv(own_pipe.controlnet)
    layers = attention_layers(own_pipe.controlnet)
    assert fused == len(layers) > 0
    assert all(layer.fused_projections for layer in layers)
    assert all(hasattr(layer, "to_qkv") or hasattr(layer, "to_kv") for layer in layers)
    # fp32 on a CPU: one matmul instead of three sums in another order (differences of 1 level at most)
    assert np.abs(picture(own_pipe, control) - before).max() <= 1


def test_gpu_switches_compiled_then_a_picture(own_pipe, control):
    before = picture(own_pipe, control)
    backend = "inductor" if torch.cuda.is_available() else "aot_eager"
    done = apply_gpu_switches(own_pipe, compile=True, backend=backend)
    assert done[0].startswith("attention: SDPA with fused QKV projections (UNet, VAE, ControlNet: ")
    assert "memory layout: channels_last" in done
    assert all(layer.fused_projections for model in (own_pipe.unet, own_pipe.controlnet) for layer in attention_layers(model))
    assert type(own_pipe.unet).__name__ == "OptimizedModule" and type(own_pipe.controlnet).__name__ == "OptimizedModule"
    assert np.abs(picture(own_pipe, control) - before).max() <= 1


def test_gpu_switches_can_leave_the_controlnet_unfused(own_pipe):
    done = apply_gpu_switches(own_pipe, compile=False, fuse_controlnet=False)
    assert done == ["attention: SDPA with fused QKV projections (UNet, VAE)"]
    assert not any(layer.fused_projections for layer in attention_layers(own_pipe.controlnet))
    assert all(layer.fused_projections for layer in attention_layers(own_pipe.unet))


def test_the_recommended_recipe_takes_the_gpu_branch_on_a_cuda_device(own_pipe, control, monkeypatch):
    """``apply_recommended_recipe`` decides by ``pipe.device``: reported as CUDA here, it must apply the GPU switches
    (the branch that crashed on every GPU when the ControlNet's fusing failed), then the pipeline still draws."""
    from diffusers import DiffusionPipeline, PNDMScheduler

    from helpers.optimizations import apply_recommended_recipe

    before = picture(own_pipe, control)
    own_pipe.scheduler = PNDMScheduler.from_config(own_pipe.scheduler.config)
    with monkeypatch.context() as gpu:
        gpu.setattr(DiffusionPipeline, "device", property(lambda self: torch.device("cuda")))
        done = apply_recommended_recipe(own_pipe, compile=False, verbose=False)
    assert done[0] == "scheduler: UniPCMultistepScheduler (use 20 steps)"
    assert done[1].startswith("attention: SDPA with fused QKV projections (UNet, VAE, ControlNet: ")
    assert all(layer.fused_projections for layer in attention_layers(own_pipe.controlnet))
    assert np.abs(picture(own_pipe, control) - before).max() <= 1
