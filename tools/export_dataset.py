"""A tiny world's training data as a Hugging Face dataset in parquet, the layout diffusers'
``examples/controlnet/train_controlnet.py`` loads with ``--train_data_dir``: columns ``image`` (the target picture),
``conditioning_image`` (its control image) and ``text`` (its prompt), that script's default column names.

    python tools/export_dataset.py --world circles --count 1000 --out exported/circles
    # -> exported/circles/data/train-00000-of-00001.parquet (+ README.md saying where it came from)

The examples are the ones the tiny trainer draws from (``world.example(index, seed=0)``), so the same task can be
trained at full size on a GPU with diffusers' script (README, "Training at scale").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COLUMNS = ("image", "conditioning_image", "text")  # train_controlnet.py's --image_column, --conditioning_image_column, --caption_column


def export(world_name: str, count: int, out: Path, seed: int = 0) -> Path:
    """Write ``count`` examples of the world as ``out/data/train-00000-of-00001.parquet``; the file's path."""
    from datasets import Dataset, Features, Image, Value
    from PIL import Image as PILImage

    from helpers.tiny.worlds import world

    chosen = world(world_name)
    examples = [chosen.example(index, seed) for index in range(count)]
    features = Features({"image": Image(), "conditioning_image": Image(), "text": Value("string")})
    table = Dataset.from_dict({
        "image": [PILImage.fromarray(e.target) for e in examples],
        "conditioning_image": [PILImage.fromarray(e.control) for e in examples],
        "text": [e.prompt for e in examples],
    }, features=features)
    path = out / "data" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(str(path))
    (out / "README.md").write_text(  # the card's configs name the file and its split: no guessing by the loader
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n---\n"
        f"# The {world_name} world, {count} training examples\n\nMade by `python tools/export_dataset.py --world {world_name} --count {count}` "
        f"(examples 0..{count - 1} of seed {seed}). Columns: {', '.join(COLUMNS)}. Load with `datasets.load_dataset('{out}')`, or train with\n"
        f"diffusers' `examples/controlnet/train_controlnet.py --train_data_dir {out}`.\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="circles", choices=("circles", "shapes"))
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="0: the examples the tiny trainer draws from")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    path = export(args.world, args.count, args.out, args.seed)
    print(f"{args.count} examples of {args.world} written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
