"""The tiny trained worlds a CPU can learn: fill circles and flat shapes, their held-out examples and scores, and
training a base model and a ControlNet on them (``python -m helpers.tiny.train``). Above the learner's surface, below
``helpers.ui``. What notebooks 06, 07 and 08 use is here by name: ``from helpers import tiny``."""

from helpers.tiny.evaluate import (
    TrainingLog,
    colour_accuracy,
    control_fidelity,
    follow_sketch,
    generate_circles,
    generate_examples,
    held_out_figures,
    load_base,
    score_pictures,
    stock_pipeline,
)
from helpers.tiny.worlds import CIRCLES, SHAPE_COLOURS, SHAPES, TEST_SEED, VALIDATION_SEED, WORLDS, Example, World, world

__all__ = [
    "CIRCLES", "SHAPES", "SHAPE_COLOURS", "TEST_SEED", "VALIDATION_SEED", "WORLDS", "Example", "TrainingLog", "World", "colour_accuracy",
    "control_fidelity", "follow_sketch", "generate_circles", "generate_examples", "held_out_figures", "load_base", "score_pictures",
    "stock_pipeline", "train_controlnet", "world",
]


def __getattr__(name: str):
    """``train_controlnet`` on first use: importing the trainer here would run it twice under
    ``python -m helpers.tiny.train`` (runpy warns when a package imported the module it is asked to run)."""
    if name == "train_controlnet":
        from helpers.tiny.train import train_controlnet

        return train_controlnet
    raise AttributeError(f"module 'helpers.tiny' has no attribute {name!r}")
