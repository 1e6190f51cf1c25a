"""The ControlNet family measured without downloading a byte: each model of ``helpers.models.family`` built on the
meta device (shapes, no memory), its parameters counted against its base model's, the FLOPs of one denoising step at
its native size counted by ``torch.utils.flop_counter.FlopCounterMode`` (it works on meta tensors), and a step
priced on a T4 and an H200 as a labelled estimate (``GPUS``, ``utilisation``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from helpers.concepts import count_parameters
from helpers.models.family import FAMILY, MEMBERS, Member


@dataclass(frozen=True)
class GPU:
    name: str
    peak_tflops: float  # dense float16/bfloat16 tensor throughput
    memory_gb: float
    source: str


GPUS = {
    "T4": GPU("T4", 65.0, 15.0, "NVIDIA T4 datasheet: 65 TFLOP/s float16 (tensor cores), 16 GB (15 usable on Colab)"),
    "H200": GPU("H200", 790.0, 141.0, "this project's H200 reference (data/bench/h200_reference.json): ~790 TFLOP/s bfloat16 "
                                     "(NVIDIA's datasheet says 989 dense)"),
}
# The share of the peak a denoising step reaches. Measured for SD1.5 + ControlNet at 512 px with guidance: 6% on the
# H200 (0.92 s per 20-step picture, launch-bound at batch 2: data/bench/h200_reference.json), 16% on a T4 (diffusers'
# published 4.89 steps/s x 2.17 TFLOP per step, tools/estimates.py). Larger steps (1024 px, big transformers) keep the
# GPU busier: 35% is an assumption for them, not a measurement.
MEASURED_UTILISATION = {"T4": 0.16, "H200": 0.06}
ASSUMED_UTILISATION = 0.35
T4_USABLE_GB = 13.0  # 15 GB less room for activations, the VAE and CUDA's own: the weights must fit in this
SMALL_STEP_TFLOP = 5.0  # a step below this many TFLOP is priced at the measured SD1.5 utilisation


@contextlib.contextmanager
def quiet_diffusers():
    """diffusers' warnings silenced for a while (building XS models warns of float32 modules it then lists as none)."""
    from diffusers.utils import logging

    before = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(before)


def build(member: Member, part: str, base: torch.nn.Module | None = None) -> torch.nn.Module:
    """The ``"control"`` or ``"base"`` model of ``member`` on the meta device (no weights, no memory). ControlNet-XS is
    sized from its base model, as diffusers builds it: pass ``base`` when it is built already."""
    import diffusers

    with torch.device("meta"):
        if part == "control" and member.control_class != "ControlNetXSAdapter":
            return getattr(diffusers, member.control_class).from_config(member.control_config)
        base = base if base is not None else getattr(diffusers, member.base_class).from_config(member.base_config)
        return base if part == "base" else diffusers.ControlNetXSAdapter.from_unet(base, size_ratio=member.extra["size_ratio"])


def _meta_inputs(member: Member, base: torch.nn.Module, batch: int) -> tuple[dict, dict]:
    """Keyword arguments of one base forward and one control forward at the native size (meta tensors), their widths
    read from the base model's config. Text lengths: 77 CLIP tokens; SD3 adds 256 T5 tokens, Flux has 512, Qwen 256."""
    config, side, latent = base.config, member.native, member.native // 8
    t = torch.full((batch,), 500.0)
    r = lambda *shape: torch.empty(*shape)  # noqa: E731
    if member.base_class == "UNet2DConditionModel":
        inputs = {"sample": r(batch, config.in_channels, latent, latent), "timestep": t, "encoder_hidden_states": r(batch, 77, config.cross_attention_dim)}
        if config.addition_embed_type == "text_time":  # SDXL: the pooled text and 6 size numbers, each embedded in addition_time_embed_dim
            pooled = config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim
            inputs["added_cond_kwargs"] = {"text_embeds": r(batch, pooled), "time_ids": r(batch, 6)}
        control = dict(inputs, controlnet_cond=r(batch, 3, side, side))
        if member.control_class == "ControlNetUnionModel":
            control.update(controlnet_cond=[control["controlnet_cond"]], control_type=r(batch, member.extra["control_types"]), control_type_idx=[0])
        return inputs, control
    if member.base_class == "SD3Transformer2DModel":
        inputs = {"hidden_states": r(batch, config.in_channels, latent, latent), "encoder_hidden_states": r(batch, 77 + 256, config.joint_attention_dim),
                  "pooled_projections": r(batch, config.pooled_projection_dim), "timestep": t}
        return inputs, dict(inputs, controlnet_cond=r(batch, config.in_channels, latent, latent))
    tokens = (latent // 2) ** 2  # 2x2 patches of 16-channel latents: in_channels (64) values per token
    if member.base_class == "FluxTransformer2DModel":
        inputs = {"hidden_states": r(batch, tokens, config.in_channels), "encoder_hidden_states": r(batch, 512, config.joint_attention_dim),
                  "pooled_projections": r(batch, config.pooled_projection_dim), "timestep": t / 1000, "img_ids": r(tokens, 3), "txt_ids": r(512, 3),
                  "guidance": torch.full((batch,), 3.5)}
        return inputs, dict(inputs, controlnet_cond=r(batch, tokens, config.in_channels))
    inputs = {"hidden_states": r(batch, tokens, config.in_channels), "encoder_hidden_states": r(batch, 256, config.joint_attention_dim),
              "encoder_hidden_states_mask": torch.ones(batch, 256, dtype=torch.long), "timestep": t / 1000,
              "img_shapes": [[(1, latent // 2, latent // 2)]] * batch}
    extra = member.control_config.get("extra_condition_channels", 0)
    return inputs, dict(inputs, controlnet_cond=r(batch, tokens, config.in_channels + extra))


def _tflop(call) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops() / 1e12


@dataclass(frozen=True)
class Measured:
    """One member's figures: parameters (millions) and TFLOP per denoising step (all passes), at its native size."""

    key: str
    base_params_m: float
    control_params_m: float
    base_tflop: float
    control_tflop: float  # per step; for a T2I-Adapter 0: it runs once per picture (``once_tflop``)
    once_tflop: float = 0.0

    @property
    def control_share(self) -> float:
        return self.control_params_m / self.base_params_m

    def weights_gb(self, bytes_per_parameter: int = 2) -> float:
        return (self.base_params_m + self.control_params_m) * 1e6 * bytes_per_parameter / 1e9


def measure(member: Member | str) -> Measured:
    """Count ``member``'s parameters and its step's FLOPs on the meta device: a few seconds, no memory, no download."""
    import diffusers

    if isinstance(member, str):
        from helpers.arguments import one_of

        member = MEMBERS[one_of("member", member, tuple(MEMBERS))]
    with quiet_diffusers():
        base = build(member, "base")
        control = build(member, "control", base)
    with torch.device("meta"), torch.no_grad(), quiet_diffusers():  # inputs, and what the forward passes make, on meta too
        base_inputs, control_inputs = _meta_inputs(member, base, member.passes)
        base_tflop = _tflop(lambda: base(**base_inputs))
        if member.once_per_image:  # the adapter encodes the control image once; its features are reused at every step
            once, step = _tflop(lambda: control(torch.empty(1, control.config.in_channels, member.native, member.native))), 0.0
        elif member.control_class == "ControlNetXSAdapter":  # base and control run interleaved, as one model
            joined = diffusers.UNetControlNetXSModel.from_unet(base, control)
            once, step = 0.0, _tflop(lambda: joined(**control_inputs)) - base_tflop
        else:
            once, step = 0.0, _tflop(lambda: control(**control_inputs))
    return Measured(member.key, count_parameters(base) / 1e6, count_parameters(control) / 1e6, base_tflop, step, once)


def utilisation(measured: Measured, gpu: str) -> tuple[float, str]:
    """The share of ``gpu``'s peak a step is priced at, and whether it was measured or assumed."""
    if measured.base_tflop + measured.control_tflop < SMALL_STEP_TFLOP:
        return MEASURED_UTILISATION[gpu], "measured (SD1.5 at 512 px)"
    return ASSUMED_UTILISATION, "assumed"


def step_seconds(measured: Measured, gpu: str) -> float | None:
    """Estimated seconds per denoising step on ``gpu`` ("T4" or "H200"), or None where the weights do not fit in
    float16 (a T4: ``T4_USABLE_GB``). An estimate from counted FLOPs, a datasheet peak and a stated utilisation."""
    device = GPUS[gpu]
    if gpu == "T4" and measured.weights_gb() > T4_USABLE_GB:
        return None
    share, _ = utilisation(measured, gpu)
    return (measured.base_tflop + measured.control_tflop) / (device.peak_tflops * share)


def family_table(members=FAMILY) -> list[dict]:
    """One row per member: what a learner compares at a glance (``measure`` for each, then the estimates)."""
    rows = []
    for member in members:
        m = measure(member)
        rows.append({"key": member.key, "model": member.title, "class": member.control_class, "hub_id": member.hub_id, "base": member.base_id,
                     "native": member.native, "base_params_m": m.base_params_m, "control_params_m": m.control_params_m,
                     "control_share": m.control_share, "base_tflop": m.base_tflop, "control_tflop": m.control_tflop, "once_tflop": m.once_tflop,
                     "t4_step_s": step_seconds(m, "T4"), "h200_step_s": step_seconds(m, "H200"), "weights_gb_fp16": m.weights_gb(),
                     "utilisation": utilisation(m, "H200")[1], "unverified": member.unverified})
    return rows
