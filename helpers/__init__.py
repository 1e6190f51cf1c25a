"""Helpers for the ControlNet tutorial notebooks.

Modules, one job each:

- ``modes``: hub or tiny (offline) models, decided in one place.
- ``devices``: GPU or CPU, float16 or float32.
- ``images``: loading and sizing input images; bundled demo data.
- ``canny``: Canny edge maps, the ControlNet's control image.
- ``tiny``: small SD1.5-shaped models built from configs, for offline use.
- ``sd15``: SD1.5's and its ControlNets' Hub ids and configs, in one place.
- ``hub_cache``: a Hub-shaped offline cache of those repositories (random weights).
- ``hub``: hub mode's plumbing: weights in the local cache?, loading quietly offline, the safety checker's note.
- ``anatomy``: a ControlNet's zero convolutions, by name.
- ``assembly``: the one place where parts become a stock diffusers pipeline (our own models, no safety checker).
- ``arguments``: a learner's arguments checked before a model runs, with errors that name the argument.
- ``files``: where the package's own files are (shipped tiny models, demo images, saved tables), installed or not.
- ``pipeline``: loading the ControlNet pipeline, generation.
- ``optimizations``: the speed and memory switches (attention, offload, fused QKV, compile) and the recommended recipe.
- ``concepts``: the paper's claims (locked copy, trainable copy, zero convolutions) as functions.
- ``weights``: saved safetensors weights read back, and a bit-for-bit comparison of a model with them.
- ``circles``, ``shapes``: small data worlds a CPU can train on (fill circles; shapes with Canny controls).
- ``worlds``: each world with its tiny trained models' sizes, folders and score.
- ``train``: training a tiny text-to-image model and a ControlNet on a world (``python -m helpers.train``).
- ``evaluate``: loading the trained tiny models, generating with them, their control fidelity; sweeps, sketches.
- ``fidelity``: control fidelity, edge F1 with a stated tolerance (as ControlNet++ measures it).
- ``conditions``: conditions beyond Canny (a scribble, painted regions) and the ControlNet for each, per mode.
- ``plots``, ``widgets``, ``sketchpad``: figures, thin ipywidgets wiring over the functions above, a drawing canvas.
- ``check``, ``prefetch``: ``python -m helpers.check`` (install check), ``python -m helpers.prefetch``.
- ``bench``: ``python -m helpers.bench``, timings of notebooks, the pipeline and the recipes.
- ``measure``: what the benchmarks measure with: machine, timings, FLOPs, matmul rate, full-size SD1.5 from configs.
- ``estimates``: the work each notebook does in hub mode (counted in the rehearsal's kernels), priced on a T4.

Importing this package is fast and touches no network; diffusers is imported only when needed.
"""

import os as _os

# transformers warns at import that torchvision is absent (it is not needed here); keep notebooks quiet.
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from .canny import auto_thresholds, canny_control_image, canny_edges, canny_stages, edge_density
from .devices import DeviceError, pick_device, pick_dtype
from .images import ImageError, data_path, load_portrait, load_rgb_image, resize_for_pipeline
from .modes import MODE_ENV, ModeChoice, ModeError, choose_mode
from .optimizations import apply_optimizations
from .pipeline import demo_picture, generate, load_controlnet_pipeline

__version__ = "0.1.0"
__all__ = [
    "MODE_ENV",
    "DeviceError",
    "ImageError",
    "ModeChoice",
    "ModeError",
    "apply_optimizations",
    "auto_thresholds",
    "canny_control_image",
    "canny_edges",
    "canny_stages",
    "choose_mode",
    "data_path",
    "demo_picture",
    "edge_density",
    "generate",
    "load_controlnet_pipeline",
    "load_portrait",
    "load_rgb_image",
    "pick_device",
    "pick_dtype",
    "resize_for_pipeline",
]
