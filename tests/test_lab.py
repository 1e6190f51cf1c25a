"""`make lab` serves the notebooks: start it headless on 127.0.0.1, ask it for the notebook lists, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def make_lab(*make_args: str, answers: str, wait_s: float = 90):
    """``make lab`` with ``make_args``, headless on a free port of 127.0.0.1, in a process group of its own (make and
    jupyter stop together); yields ``(base_url, first)``: the JSON of ``answers`` (a path) once the server gives it,
    and a dict whose ``"output"`` is everything make printed, filled in when it has stopped."""
    port = free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token="
    server = subprocess.Popen(["make", "--no-print-directory", "lab", *make_args, f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True, text=True)
    base, printed = f"http://127.0.0.1:{port}", {}
    try:
        first, deadline = None, time.monotonic() + wait_s
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(base + answers, timeout=2) as response:
                    first = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert first is not None, f"JupyterLab did not answer on port {port}"
        yield base, first, printed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            printed["output"], _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            printed["output"], _ = server.communicate()


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.url, json.load(response) if "json" in response.headers.get("Content-Type", "") else response.read()


@pytest.mark.skipif(not (ROOT / ".venv" / ".installed").exists(), reason="needs `make setup` (make test does it)")
def test_make_lab_serves_the_notebooks_and_the_learner_copies():
    """The repository is the server's root, so a workshop learner reaches learner/ as well as notebooks/ and docs/;
    JupyterLab opens in LAB_FOLDER (notebooks/ unless told)."""
    with make_lab(answers="/api/contents/notebooks") as (base, listing, printed):
        names = {item["name"] for item in listing["content"]}
        assert {"00_setup.ipynb", "01_canny.ipynb"} <= names, names
        for folder in ("learner", "docs"):
            assert {"00_setup.ipynb", "glossary.md"} & {item["name"] for item in get(f"{base}/api/contents/{folder}")[1]["content"]}, folder
        url, page = get(base + "/")  # the default URL: the notebooks
        assert url.endswith("/lab/tree/notebooks") and b"JupyterLab" in page
    assert "Starting JupyterLab in notebooks/, with the repository as its root" in printed["output"]
    assert f"{base}/lab" in printed["output"]


@pytest.mark.skipif(not (ROOT / ".venv" / ".installed").exists(), reason="needs `make setup` (make test does it)")
def test_make_lab_speaks_chinese_when_asked_and_leaves_english_alone():
    """LAB_LANGUAGE=zh installs the pinned language pack and starts JupyterLab with settings of its own whose locale
    is zh_CN (its settings API says so); the English settings are untouched, so an English JupyterLab started beside
    it (the browser tests) stays English. LAB_FOLDER opens the Chinese edition."""
    # the first time, the language pack is installed (seconds)
    with make_lab("LAB_LANGUAGE=zh", "LAB_FOLDER=notebooks/zh", answers="/lab/api/settings/@jupyterlab/translation-extension:plugin",
                  wait_s=180) as (base, found, _):
        assert found["settings"]["locale"] == "zh_CN"
        assert get(base + "/")[0].endswith("/lab/tree/notebooks/zh")
        assert get(base + "/lab/api/translations/zh_CN")[1]["data"], "the language pack is installed"
    assert not (ROOT / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json").exists()
    assert not (Path.home() / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "translation-extension").exists()
