"""Which device and which number format a pipeline runs in.

One rule, defined once (``pick_dtype``): half precision (float16, the blog's) on a CUDA GPU, full
precision (float32) on the CPU; ask for ``"fastest"`` and a GPU that runs bfloat16 natively (compute
capability 8.0 and up) gets bfloat16. float16 on a CPU either fails inside PyTorch ("LayerNorm not
implemented for 'Half'") or runs many times slower than float32, so asking for it there is an error with a
clear message, not a surprise deep inside diffusers.
"""

from __future__ import annotations

import torch

from helpers.i18n import _

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


BF16_NATIVE_CAPABILITY = (8, 0)  # Ampere (A100, RTX 30xx) and later: L4, H100, H200


class DeviceError(RuntimeError):
    """A device or number format that this machine cannot use, with what to do instead."""


def has_cuda() -> bool:
    """True when PyTorch sees a CUDA GPU."""
    return torch.cuda.is_available()


def pick_device(requested: str | None = None) -> torch.device:
    """Return the device to run on: ``requested`` if given and usable, else CUDA when present, else CPU.

    Raises:
        DeviceError: ``requested`` names a CUDA device but PyTorch has no GPU (a CPU-only wheel, or
            no driver), instead of torch's "Torch not compiled with CUDA enabled".
    """
    if requested is None:
        return torch.device("cuda" if has_cuda() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not has_cuda():
        raise DeviceError(
            _("Device {device} asked for, but PyTorch sees no CUDA GPU (torch {version}, CUDA build: {cuda}). On Colab choose Runtime > "
              "Change runtime type > GPU; locally install a CUDA build of torch (see README, 'GPU'); or leave the device unset to run on "
              "the CPU.").format(device=repr(requested), version=torch.__version__, cuda=torch.version.cuda is not None)
        )
    return device


def dtype_for_gpu(capability: tuple[int, int]) -> torch.dtype:
    """The fastest half precision for a GPU of this compute capability: bfloat16 where its tensor cores run it
    natively (8.0 and up): as fast as float16, and it cannot overflow. float16 below that, on a T4 (7.5) say,
    where ``torch.cuda.is_bf16_supported()`` also answers True but bfloat16 is emulated and slow."""
    return torch.bfloat16 if tuple(capability) >= BF16_NATIVE_CAPABILITY else torch.float16


def pick_dtype(device: torch.device | str, requested: str | torch.dtype | None = None) -> torch.dtype:
    """Return the floating-point format for ``device``: float16 on CUDA, float32 on CPU by default.

    Args:
        device: where the model will run.
        requested: ``None`` for the default; ``"fastest"`` for ``dtype_for_gpu`` on a GPU (float32 on a CPU,
            where half precision is slower or fails); or a dtype / name such as ``"float16"``, ``"bf16"``.

    Raises:
        DeviceError: float16 asked for on a CPU, or an unknown dtype name.
    """
    device = torch.device(device)
    if requested is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if requested == "fastest":
        return dtype_for_gpu(torch.cuda.get_device_capability(device)) if device.type == "cuda" else torch.float32
    if isinstance(requested, str):
        key = requested.lower().removeprefix("torch.")
        if key not in _DTYPES:
            raise DeviceError(_("Unknown dtype {dtype}; use one of {allowed}.").format(dtype=repr(requested), allowed=sorted(set(_DTYPES))))
        dtype = _DTYPES[key]
    else:
        dtype = requested
    if dtype == torch.float16 and device.type == "cpu":
        raise DeviceError(
            _("float16 was asked for on the CPU. Half precision is a GPU optimization: on a CPU some operations fail ('not implemented "
              "for Half') and the rest run slower than float32. Use dtype=None (float32 on CPU) or run on a GPU.")
        )
    return dtype


def describe_device(device: torch.device | str) -> str:
    """A one-line, human description such as ``'cuda: NVIDIA H200 (139.8 GiB)'`` or ``'cpu: 2 threads'``."""
    device = torch.device(device)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"cuda: {props.name} ({props.total_memory / 2**30:.1f} GiB)"
    return f"cpu: {torch.get_num_threads()} threads"
