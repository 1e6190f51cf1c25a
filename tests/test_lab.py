"""`make lab` serves the notebooks: start it headless on 127.0.0.1, ask it for the notebook lists, stop it."""

from __future__ import annotations

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


@pytest.mark.skipif(not (ROOT / ".venv" / ".installed").exists(), reason="needs `make setup` (make test does it)")
def test_make_lab_serves_the_notebooks_and_the_learner_copies():
    """The repository is the server's root, so a workshop learner reaches learner/ as well as notebooks/ and docs/;
    JupyterLab opens in LAB_FOLDER (notebooks/ unless told)."""
    port = free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token="
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so make and jupyter stop together
        text=True,
    )
    try:
        listing = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/notebooks", timeout=2) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"JupyterLab did not answer on port {port}"
        names = {item["name"] for item in listing["content"]}
        assert {"00_setup.ipynb", "01_canny.ipynb"} <= names, names
        for folder in ("learner", "docs"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/{folder}", timeout=5) as response:
                assert {"00_setup.ipynb", "glossary.md"} & {item["name"] for item in json.load(response)["content"]}, folder
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:  # the default URL: the notebooks
            assert response.status == 200 and response.url.endswith("/lab/tree/notebooks") and b"JupyterLab" in response.read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert "Starting JupyterLab in notebooks/, with the repository as its root" in output
    assert f"http://127.0.0.1:{port}/lab" in output


@pytest.mark.skipif(not (ROOT / ".venv" / ".installed").exists(), reason="needs `make setup` (make test does it)")
def test_make_lab_speaks_chinese_when_asked_and_leaves_english_alone():
    """LAB_LANGUAGE=zh installs the pinned language pack and starts JupyterLab with settings of its own whose locale
    is zh_CN (its settings API says so); the English settings are untouched, so an English JupyterLab started beside
    it (the browser tests) stays English. LAB_FOLDER opens the Chinese edition."""
    port = free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token="
    server = subprocess.Popen(["make", "--no-print-directory", "lab", "LAB_LANGUAGE=zh", "LAB_FOLDER=notebooks/zh", f"LAB_ARGS={args}"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        found, deadline = None, time.monotonic() + 180  # the first time, the language pack is installed (seconds)
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/translation-extension:plugin", timeout=2) as r:
                    found = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert found is not None, "JupyterLab did not answer"
        assert found["settings"]["locale"] == "zh_CN"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.url.endswith("/lab/tree/notebooks/zh")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/api/translations/zh_CN", timeout=5) as response:
            assert json.load(response)["data"], "the language pack is installed"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=20)
    assert not (ROOT / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json").exists()
    assert not (Path.home() / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "translation-extension").exists()
