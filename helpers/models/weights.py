"""Saved weights, read back: the safetensors file a model was loaded from, read one tensor at a time with plain
reads, and a bit-for-bit comparison of a model with it (notebook 02's "the locked UNet never changes")."""

from __future__ import annotations

import json

import torch


def weights_file(source: str, subfolder: str | None = None, filename: str = "diffusion_pytorch_model.safetensors") -> str:
    """Path of the safetensors file a model was loaded from: a local folder, or a Hub repository in the
    Hugging Face cache (where ``from_pretrained`` put it)."""
    from pathlib import Path

    local = Path(source, subfolder or "", filename)
    if local.exists():
        return str(local)
    from huggingface_hub import hf_hub_download

    return hf_hub_download(source, filename, subfolder=subfolder)


_SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
                       "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def saved_tensors(path: str):
    """Yield ``(name, tensor)`` from a safetensors file, one tensor at a time, with plain reads.

    Plain reads rather than a memory map: a second mapping of a file the model is already mapped from
    would count its pages twice in the process's memory (RSS). Format: an 8-byte little-endian header
    length, a JSON header (dtype, shape, byte offsets per tensor), then the data.
    """
    with open(path, "rb") as file:
        header_size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_size))
        start = 8 + header_size
        for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0] if item[0] != "__metadata__" else -1):
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            file.seek(start + begin)
            data = bytearray(file.read(end - begin))
            tensor = torch.frombuffer(data, dtype=_SAFETENSORS_DTYPES[info["dtype"]]) if data else torch.empty(0, dtype=_SAFETENSORS_DTYPES[info["dtype"]])
            yield name, tensor.reshape(info["shape"])


def differs_from_saved(model: torch.nn.Module, source: str, subfolder: str | None = None) -> list[str]:
    """Names of ``model``'s tensors that are not bit-identical (``torch.equal``, same dtype) to the saved
    weights it was loaded from, or missing there; ``[]`` when nothing changed. One tensor in memory at a time."""
    state = model.state_dict()
    unchanged = {name for name, saved in saved_tensors(weights_file(source, subfolder))
                 if name in state and state[name].dtype == saved.dtype and torch.equal(state[name], saved)}
    return [name for name in state if name not in unchanged]
