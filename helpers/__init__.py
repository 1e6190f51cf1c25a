"""Helpers for the ControlNet tutorial notebooks: one flat namespace for learners (``import helpers``).

The package is layered by role; each layer imports only from the ones below it (``tests/test_layout.py``):

- ``helpers.files``: where the package's own files are (shipped tiny models, demo images, saved tables).
- ``helpers.i18n``: the language the helpers print, draw and raise in (``set_language("zh")``: gettext catalogs and a
  Chinese font shipped in ``data/``), beside ``files`` at the bottom.
- ``helpers.models``: SD1.5-shaped models: configs and builders, assembly, anatomy, saved weights, the offline
  tokenizer, random tiny models, and the registry of the trained worlds' models.
- ``helpers.hub``: the Hugging Face Hub: repository ids, the network and offline rule, loading without noise.
- the learner's surface, here at the top level: ``modes`` (hub or tiny), ``devices``, ``images``, ``canny``,
  ``arguments`` (checked before a model runs), ``pipeline`` (loading, generating), ``optimizations``, ``recipes``
  (notebook 05's benchmarks), ``concepts`` (the paper's claims as functions), ``conditions`` (scribbles, regions),
  ``fidelity`` (edge F1, sweeps), ``feedback`` (the exercises' checks and the reveal after a prediction), ``family``
  (the ControlNet family on the meta device), ``check`` (``python -m helpers.check``), ``prefetch``
  (``python -m helpers.prefetch``).
- ``helpers.tiny``: the tiny trained worlds (circles, shapes), their scores and training (``python -m helpers.tiny.train``).
- ``helpers.ui``: figures, widgets and a drawing canvas, thin wiring over the functions below.

The repository's own tooling (benchmarks, the rehearsal, the T4 estimates, the Hub-shaped cache) lives in ``tools/``
and is not installed. Importing this package is fast, changes nothing in the process, and touches no network;
diffusers is imported only when needed. See docs/architecture.md.
"""

from helpers.canny import auto_thresholds, canny_control_image, canny_edges, canny_stages, edge_density
from helpers.devices import DeviceError, describe_device, pick_device, pick_dtype
from helpers.feedback import check_exercise, reveal
from helpers.fidelity import canny_fidelity, fidelity_sweep
from helpers.hub.loading import quiet_hub_load
from helpers.i18n import language, set_language
from helpers.images import ImageError, data_path, load_portrait, load_rgb_image, resize_for_pipeline
from helpers.models.weights import differs_from_saved
from helpers.modes import MODE_ENV, ModeChoice, ModeError, choose_mode, quick
from helpers.optimizations import apply_optimizations
from helpers.pipeline import default_image_size, demo_picture, generate, load_controlnet_pipeline, model_sources

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
    "canny_fidelity",
    "canny_stages",
    "check_exercise",
    "choose_mode",
    "data_path",
    "default_image_size",
    "demo_picture",
    "describe_device",
    "differs_from_saved",
    "edge_density",
    "fidelity_sweep",
    "generate",
    "language",
    "load_controlnet_pipeline",
    "load_portrait",
    "load_rgb_image",
    "model_sources",
    "pick_device",
    "pick_dtype",
    "quick",
    "quiet_hub_load",
    "reveal",
    "set_language",
    "resize_for_pipeline",
]
