"""Where this package's own files are: the shipped tiny models, the demo images and the saved tables.

``data/`` is installed as the subpackage ``helpers.data`` (pyproject.toml's ``package-dir``), so one rule
holds for every way of installing: ``pip install -e .`` finds the checkout's ``data/``; ``pip install .``
or ``pip install git+https://...`` (Colab's install cell) copies it into site-packages beside the code.
No environment variable and no clone is needed, and a notebook may run from any folder. Why ship 22 MB
of data in the wheel: the tiny models are what makes tiny mode work offline, and a learner who installed
the package and has no clone beside it would otherwise find nothing (a learner's Colab runtime has no
checkout; a copy found relative to ``__file__`` is not there after a non-editable install).

Folders built on first use (the random tiny models, the Hub-shaped cache) are written with ``staged_folder``, so a
half-written one is never taken as ready.

The repository itself (notebooks, tools, tests) is not part of the package: ``repository_root`` finds a
checkout for the repository's own tooling (benchmarks, rehearsal, estimates), and says clearly when there
is none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

CACHE_ENV = "CONTROLNET_TUTORIAL_CACHE"


def cache_dir() -> Path:
    """Where the folders built on first use live (the random tiny models, the Hub-shaped cache):
    ``$CONTROLNET_TUTORIAL_CACHE`` or ``~/.cache/controlnet-tutorial``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "controlnet-tutorial"))



class NoCheckoutError(RuntimeError):
    """Repository-only tooling was asked for from an installed copy that has no checkout beside it."""


def data_dir() -> Path:
    """The installed ``data/`` folder: demo images, ``models/`` (the tiny models), ``bench/`` (saved tables)."""
    from helpers import data

    return Path(data.__file__).resolve().parent


def models_dir() -> Path:
    """The shipped tiny models (``data/models``: base models, ControlNets, their training curves)."""
    return data_dir() / "models"


def repository_root() -> Path:
    """The repository checkout this package was installed from in editable mode (``pip install -e .``):
    the folder that holds ``notebooks/`` and ``pyproject.toml``. Raises ``NoCheckoutError`` otherwise."""
    root = data_dir().parent
    if not ((root / "notebooks").is_dir() and (root / "pyproject.toml").is_file()):
        raise NoCheckoutError(
            f"No repository checkout around {data_dir()}: this is an installed copy of the package. The repository's "
            "own tools (benchmarks of notebooks, the rehearsal, the estimates' counting) run from a clone "
            "with `pip install -e .`."
        )
    return root


def is_ready(root: Path) -> bool:
    """Whether ``staged_folder`` finished writing ``root``."""
    return (Path(root) / "READY").exists()


@contextlib.contextmanager
def staged_folder(root: Path, note: str) -> Iterator[Path]:
    """Write the folder ``root`` in one step: yield a staging folder beside it to fill; when the block ends, mark it
    ``READY`` (with ``note``) and rename it to ``root``, so a reader never takes a half-written folder as ready. If
    another process finished ``root`` first, its folder stands and this one is dropped; on an error nothing stays."""
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
    try:
        yield staging
        (staging / "READY").write_text(note + "\n")
        staging.rename(root)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not is_ready(root):
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
