"""Training on several processes (accelerate, gloo on CPUs) trains the same ControlNet as one process: the per-example
randomness that makes it so, the guard against a launch that forms no group, and the two-process run itself
(tools/train_distributed.py, what `make train-distributed` runs)."""

from __future__ import annotations

import json

import pytest
import torch

from helpers.tiny import base_training as B
from helpers.tiny import train as T
from helpers.tiny.evaluate import load_base
from helpers.tiny.worlds import CIRCLES


def test_a_batch_split_in_two_draws_the_same_randomness_as_the_whole():
    """With example seeds, the loss of a whole batch is the mean of its two halves' losses (what two processes each
    compute), to float precision; the generator of the process plays no part."""
    from diffusers import ControlNetModel

    vae, text_encoder, tokenizer, unet = load_base(CIRCLES.base_dir)
    torch.manual_seed(0)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=CIRCLES.hint_channels)
    batch = next(iter(B.batches(CIRCLES.dataset(seed=0), 8, seed=0)))
    seeds = [B.example_seed(0, 7, i) for i in batch["index"].tolist()]
    text = text_encoder(B.tokenize(tokenizer, batch["prompt"]))[0]

    def loss(part: slice) -> torch.Tensor:
        torch.manual_seed(int(torch.randint(0, 1000, ())))  # the process's own generator: it must not matter
        with torch.no_grad():
            return B.diffusion_loss(vae, text[part], unet, B.noise_scheduler(), batch["pixel_values"][part], controlnet, batch["conditioning"][part],
                                    example_seeds=seeds[part])

    whole, halves = loss(slice(0, 8)), (loss(slice(0, 4)) + loss(slice(4, 8))) / 2
    assert torch.allclose(whole, halves, rtol=1e-5, atol=0) and whole > 0
    assert B.example_seed(0, 7, 3) == B.example_seed(0, 7, 3) != B.example_seed(0, 8, 3) != B.example_seed(1, 7, 3)


def test_a_launch_whose_processes_form_no_group_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # what `accelerate launch` sets; this process is alone in its group
    with pytest.raises(RuntimeError, match=r"2 processes were launched but they do not form one group \(1 seen\): on CPUs, set ACCELERATE_USE_CPU=1"):
        T.train_controlnet(steps=1, batch_size=2, progress=False)


def test_two_processes_train_the_same_controlnet_as_one(tmp_path):
    """The make train-distributed run: 50 steps, a global batch of 16 split in two, over gloo; world size 2 asserted."""
    import train_distributed

    out = tmp_path / "distributed.json"
    assert train_distributed.main(["--steps", "50", "--batch-size", "16", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["processes"] == 2 and [run["processes"] for run in result["runs"]] == [1, 2]
    assert [run["steps"] for run in result["runs"]] == [50, 50] and all(run["seconds_per_step"] > 0 for run in result["runs"])
    assert result["relative_parameter_difference"] <= 1e-4
    assert result["runs"][0]["final_loss"] == pytest.approx(result["runs"][1]["final_loss"], rel=1e-4)
