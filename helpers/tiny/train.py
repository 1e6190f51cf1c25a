"""Train a tiny Stable-Diffusion-shaped model and a ControlNet on a world of flat pictures, on a laptop CPU.

Three stages, each a command (seeded, with a progress bar; the ControlNet stage resumable), per world
(``helpers.tiny.worlds``: ``circles`` for notebook 06, ``shapes`` for tiny mode's pictures), each stage's steps
and batch size from ``TRAINING_STAGES``:

    python -m helpers.tiny.train vae        --world shapes   # -> data/models/shapes-base/vae
    python -m helpers.tiny.train base       --world shapes   # -> data/models/shapes-base
    python -m helpers.tiny.train controlnet --world shapes --checkpoints /tmp/ckpt   # -> data/models/shapes-controlnet
    python -m helpers.tiny.train evaluate   --world shapes   # VAE ceiling, base alone vs ControlNet: IoU and edge F1
    python -m helpers.tiny.train recipe     --world shapes   # every stage of the reference run in order (~80 min)

The VAE and the base model (text encoder + UNet) learn colours and kinds from prompts alone; the
ControlNet, trained on top of the frozen base, learns *where* things go from the control image.
``train_controlnet`` is the one to read: the paper's recipe adapted to a laptop in ~100 lines (notebook 06 names
each difference), with ``accelerate`` so that ``accelerate launch`` runs it on GPUs unchanged. The first two stages
and the pieces all three share live in ``helpers.tiny.base_training``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from helpers.models.registry import training_curve
from helpers.modes import quick
from helpers.tiny.base_training import batches, diffusion_loss, example_seed, forever, noise_scheduler, save_base, tokenize, train_base, train_vae
from helpers.tiny.evaluate import TrainingLog, control_fidelity, held_out_figures, load_base
from helpers.tiny.worlds import CIRCLES, CONTROLNET_EMPTY_PROMPTS, CONTROLNET_LR, TRAINING_STAGES, VALIDATION_SEED, WORLDS, World, recipe_commands
from helpers.tiny.worlds import world as world_named

# ---------------------------------------------------------------------------------------------------
# Stage 3: the ControlNet (the part to read)
# ---------------------------------------------------------------------------------------------------


def with_empty_prompts(prompts: list[str], indices, rate: float, seed: int, epoch: int) -> list[str]:
    """The batch's prompts with about ``rate`` of them replaced by "" (the paper's §3.3: half of them, so that the
    ControlNet must learn what the control image means, not lean on the prompt).

    Each example's choice is its own coin, seeded by ``(seed, epoch, index)``: it does not depend on which process
    or which batch the example lands in, so a run split over several processes drops the same prompts as one
    process would, and in every epoch an example gets a fresh coin."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"empty_prompt_rate must be between 0 and 1 (the paper uses 0.5), not {rate!r}")
    coins = [np.random.default_rng([seed, epoch, int(index)]).random() for index in indices]
    return ["" if coin < rate else prompt for prompt, coin in zip(prompts, coins)]


def train_controlnet(
    base_dir: Path | str | None = None,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 2e-4,
    seed: int = 0,
    init: str = "zero",
    empty_prompt_rate: float = 0.5,
    validate_every: int = 100,
    validation_size: int = 16,
    checkpoint_dir: Path | str | None = None,
    on_validation: Callable[[int, float, list], None] | None = None,
    progress: bool = True,
    world: World = CIRCLES,
):
    """Train a ControlNet on the world's data on top of the frozen base model in ``base_dir``.

    Args:
        base_dir: the base model folder (default: the world's shipped one).
        init: ``"zero"`` (the paper) or ``"random"`` (the ablation: zero convs randomly initialised).
        empty_prompt_rate: the share of training prompts replaced by "" (the paper's 0.5; ``with_empty_prompts``).
            Validation always uses the prompts: the circles' IoU needs the colours they name.
        validate_every: steps between control-fidelity measurements (the world's score, e.g. IoU of the
            generated disc with the target disc, on ``validation_size`` fixed examples, fixed noise, 20 UniPC steps);
            0: none, not even at the end.
        checkpoint_dir: if given, state is saved there every ``validate_every`` steps and a run restarted
            with the same folder resumes where it stopped.
        on_validation: called with ``(step, iou, images)`` after each validation (for live plots).
        world: what to train on (``helpers.tiny.worlds.CIRCLES`` or ``SHAPES``).

    Returns:
        ``(controlnet, log)``: the trained ``ControlNetModel`` and a ``TrainingLog``.

    Several processes (``accelerate launch``, ``make train-distributed``) share each batch of ``batch_size``: each
    takes its slice, and every example's randomness (empty prompt, VAE sample, noise, timestep) is seeded by the
    example and the step alone, so N processes train the same ControlNet as one, up to the order of float sums.
    """
    from accelerate import Accelerator, DataLoaderConfiguration
    from diffusers import ControlNetModel
    from tqdm.auto import tqdm

    from helpers.concepts import freeze, randomize_zero_convolutions

    if init not in ("zero", "random"):
        raise ValueError(f"init must be 'zero' or 'random', not {init!r}")
    with_empty_prompts([], [], empty_prompt_rate, seed, 0)  # a bad rate fails here, before anything loads
    accelerator = Accelerator(dataloader_config=DataLoaderConfiguration(split_batches=True))  # batch_size is the global batch
    launched = int(os.environ.get("WORLD_SIZE", accelerator.num_processes))
    if launched != accelerator.num_processes:  # e.g. a CPU launch without ACCELERATE_USE_CPU=1: N unrelated one-process runs
        raise RuntimeError(f"{launched} processes were launched but they do not form one group ({accelerator.num_processes} seen): on CPUs, "
                           "set ACCELERATE_USE_CPU=1 (tools/accelerate/cpu-2-processes.yaml says why)")
    if batch_size % accelerator.num_processes:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of the number of processes ({accelerator.num_processes}): each takes an equal slice")
    vae, text_encoder, tokenizer, unet = load_base(base_dir or world.base_dir)
    for model in (vae, text_encoder, unet):  # the locked copy
        freeze(model).to(accelerator.device)
    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=world.hint_channels)  # the trainable copy
    if init == "random":
        randomize_zero_convolutions(controlnet, seed=seed)
    optimizer = torch.optim.AdamW(controlnet.parameters(), lr=lr)
    loader = batches(world.dataset(seed=0), batch_size, seed)
    controlnet, optimizer, loader = accelerator.prepare(controlnet, optimizer, loader)
    scheduler, log, start = noise_scheduler(), TrainingLog(), 0
    if checkpoint_dir is not None and (Path(checkpoint_dir) / "log.json").exists():  # resume
        accelerator.load_state(str(checkpoint_dir))
        log = TrainingLog(**json.loads((Path(checkpoint_dir) / "log.json").read_text()))
        start = log.step[-1] + 1 if log.step else 0
    validation = world.examples(validation_size, VALIDATION_SEED)
    data, began = forever(loader), time.perf_counter() - (log.seconds[-1] if log.seconds else 0.0)
    log.processes = accelerator.num_processes
    for step in tqdm(range(start, steps), desc="ControlNet", initial=start, total=steps, disable=not progress or not accelerator.is_main_process):
        stepping = time.perf_counter()
        batch = next(data)
        indices = batch["index"].tolist()  # this process's slice of the global batch
        prompts = with_empty_prompts(batch["prompt"], indices, empty_prompt_rate, seed, epoch=step // len(loader))
        with torch.no_grad():
            text = text_encoder(tokenize(tokenizer, prompts).to(accelerator.device))[0]
        loss = diffusion_loss(vae, text, unet, scheduler, batch["pixel_values"], controlnet, batch["conditioning"],
                              example_seeds=[example_seed(seed, step, i) for i in indices])
        optimizer.zero_grad()
        accelerator.backward(loss)  # several processes: gradients averaged over them, as over one whole batch
        optimizer.step()
        log.step.append(step)
        log.loss.append(float(accelerator.reduce(loss.detach(), reduction="mean")))
        log.train_seconds += time.perf_counter() - stepping
        if validate_every and ((step + 1) % validate_every == 0 or step + 1 == steps):
            score = control_fidelity((vae, text_encoder, tokenizer, unet), accelerator.unwrap_model(controlnet), validation, world.guidance, world)
            log.val_step.append(step + 1)
            log.iou.append(score.iou)
            log.f1.append(score.f1)
            log.seconds.append(time.perf_counter() - began)
            if on_validation is not None:
                on_validation(step + 1, score.iou, score.images)
            if checkpoint_dir is not None:
                accelerator.save_state(str(checkpoint_dir), safe_serialization=True)
                (Path(checkpoint_dir) / "log.json").write_text(json.dumps(asdict(log)))
    return accelerator.unwrap_model(controlnet).eval(), log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.tiny.train", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("vae", "base", "controlnet", "evaluate", "recipe"),
                        help="recipe: every stage of the world in order, into --out (default data/models)")
    parser.add_argument("--world", choices=tuple(WORLDS), default="circles")
    parser.add_argument("--steps", type=int, default=None, help="default: the reference run's (TRAINING_STAGES)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the reference run's (TRAINING_STAGES)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", type=Path, default=None, help="the base model folder (default: the world's, in data/models)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--checkpoints", type=Path, default=None, help="controlnet: resumable checkpoint folder")
    parser.add_argument("--start-from", type=Path, default=None, help="base: go on training this saved base model")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: base 1e-3, controlnet the world's CONTROLNET_LR or 2e-4)")
    parser.add_argument("--validate-every", type=int, default=100, help="controlnet: steps between validations")
    parser.add_argument("--init", choices=("zero", "random"), default="zero")
    parser.add_argument("--empty-prompts", type=float, default=None, metavar="FRACTION",
                        help="controlnet: share of training prompts replaced by \"\" (default: the world's CONTROLNET_EMPTY_PROMPTS, else the paper's 0.5)")
    parser.add_argument("--json", type=Path, default=None, help="evaluate: also write the figures to this JSON file")
    args = parser.parse_args(argv)
    world = world_named(args.world)
    base = args.base or world.base_dir
    steps, batch_size = TRAINING_STAGES[world.name].get(args.stage, (None, 32))
    steps, batch_size = args.steps or steps, args.batch_size or batch_size
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    start = time.perf_counter()
    if args.stage == "recipe":
        import tempfile

        out = args.out or world.base_dir.parent
        with tempfile.TemporaryDirectory(prefix="controlnet-checkpoints-") as checkpoints:
            for command in recipe_commands(world, out, Path(checkpoints), quick_steps=quick(0, 2) or None):
                print("python -m helpers.tiny.train", " ".join(command), flush=True)
                main(command)
        print(f"{world.name}: every stage done in {time.perf_counter() - start:.0f} s; figures: python -m helpers.tiny.train evaluate --world {world.name}"
              f" --base {out / world.base_dir.name} --out {out / world.controlnet_dir.name}")
        return
    if args.stage == "vae":
        vae = train_vae(steps, batch_size, seed=args.seed, world=world)
        out = args.out or base
        vae.save_pretrained(out / "vae", safe_serialization=True)
        print(f"VAE saved to {out / 'vae'} in {time.perf_counter() - start:.0f} s")
    elif args.stage == "base":
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(base / "vae", use_safetensors=True)
        text_encoder, unet, tokenizer = train_base(vae, steps, batch_size, lr=args.lr or 1e-3, seed=args.seed, world=world, start_from=args.start_from)
        save_base(vae, text_encoder, unet, tokenizer, args.out or base)
        print(f"base model saved to {args.out or base} in {time.perf_counter() - start:.0f} s")
    elif args.stage == "controlnet":
        report = lambda s, v, _: print(f"step {s}: validation IoU {v:.3f}", flush=True)  # noqa: E731
        lr = args.lr or CONTROLNET_LR.get(world.name, 2e-4)
        empty = CONTROLNET_EMPTY_PROMPTS.get(world.name, 0.5) if args.empty_prompts is None else args.empty_prompts
        controlnet, log = train_controlnet(base, steps, batch_size, lr=lr, seed=args.seed, init=args.init, empty_prompt_rate=empty,
                                           validate_every=args.validate_every, checkpoint_dir=args.checkpoints, on_validation=report, world=world)
        from accelerate import PartialState

        if not PartialState().is_main_process:  # the other processes hold the same weights: one writes them
            return
        out = args.out or world.controlnet_dir
        controlnet.save_pretrained(out, safe_serialization=True)
        curve = {"how": f"python -m helpers.tiny.train controlnet --world {world.name} --steps {steps} --lr {lr:g} --seed {args.seed} --init {args.init}"
                        f" --empty-prompts {empty:g}" + (f" (on {log.processes} processes)" if log.processes > 1 else ""),
                 "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads per process",
                 "wall_seconds": time.perf_counter() - start, "log": asdict(log)}
        training_curve(out).write_text(json.dumps(curve))
        print(f"ControlNet saved to {out}; {log.processes} process(es), {log.train_seconds / max(len(log.step), 1):.3f} s per step;"
              f" jump (IoU >= 0.5) at step {log.jump_step()}; {time.perf_counter() - start:.0f} s")
    else:
        figures = held_out_figures(base, args.out or world.controlnet_dir, world=world)
        for key, value in figures.items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
        if args.json is not None:
            how = f"python -m helpers.tiny.train evaluate --world {world.name}" + (f" --out {args.out}" if args.out else "")
            args.json.write_text(json.dumps({"how": how, **figures}, indent=1) + "\n")


if __name__ == "__main__":
    main()
