# Two commands do everything, each with its own set-up on a fresh machine (Python 3.11+, pip, no GPU):
#   make lab    set up .venv, then start JupyterLab in notebooks/ (LAB_FOLDER=learner: the learner copies)
#   make test   set up .venv, then run every unit test and execute every notebook (offline tiny mode)
# Set-up is skipped when .venv is up to date with pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU wheel by default (small, installs in seconds); for a GPU: make lab TORCH_SPEC="torch"
# or install your CUDA build of torch into .venv first (see README, "GPU and Colab").
TORCH_SPEC ?= torch==2.13.0
# Extra JupyterLab arguments, e.g. LAB_ARGS="--no-browser --ip=127.0.0.1 --port=8899"
LAB_ARGS ?=
# The folder JupyterLab opens in: notebooks/ (the full notebooks, solutions hidden) or learner/ (a workshop's copies,
# exercises to solve: make lab LAB_FOLDER=learner). Its root is the repository, so both, and docs/, stay reachable.
LAB_FOLDER ?= notebooks
# JupyterLab's own menus and dialogs: en, or zh (Simplified Chinese, its language pack installed on first use). The
# notebooks' language is their own: the Chinese edition is in notebooks/zh/ and learner/zh/.
LAB_LANGUAGE ?= en
# Chinese menus come from settings of their own (JUPYTERLAB_SETTINGS_DIR): an English JupyterLab started beside it,
# or later, is untouched.
LAB_SETTINGS_ZH := $(VENV)/lab-settings-zh
STAMP  := $(VENV)/.installed

.PHONY: setup lab test browser unit notebooks rehearse train-distributed bench bench-notebooks bench-recipes strip learner translations clean

$(STAMP): pyproject.toml
	@start=$$(date +%s); set -e; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"; \
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"; \
	echo "$$(( $$(date +%s) - start )) seconds for make setup" > $(STAMP); \
	cat $(STAMP)

setup: $(STAMP)

lab: setup
	@test -d "$(LAB_FOLDER)" || { echo "LAB_FOLDER=$(LAB_FOLDER): no such folder here (notebooks, learner, notebooks/zh or learner/zh)"; exit 2; }
	@case "$(LAB_LANGUAGE)" in \
	  zh) $(BIN)/python -m pip install --quiet -e ".[zh]" && mkdir -p $(LAB_SETTINGS_ZH)/@jupyterlab/translation-extension && \
	      echo '{"locale": "zh_CN"}' > $(LAB_SETTINGS_ZH)/@jupyterlab/translation-extension/plugin.jupyterlab-settings ;; \
	  en) ;; \
	  *) echo "LAB_LANGUAGE=$(LAB_LANGUAGE): en or zh"; exit 2 ;; \
	esac
	@echo "Starting JupyterLab in $(LAB_FOLDER)/, with the repository as its root: notebooks/, learner/ and docs/ are all reachable (the URL with its token is printed below; Ctrl-C stops it)."
	$(if $(filter zh,$(LAB_LANGUAGE)),JUPYTERLAB_SETTINGS_DIR=$(LAB_SETTINGS_ZH)) TRANSFORMERS_VERBOSITY=$${TRANSFORMERS_VERBOSITY:-error} exec $(BIN)/jupyter lab --allow-root --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/$(LAB_FOLDER) $(LAB_ARGS)

# Offline, tiny models, short training runs (CONTROLNET_TUTORIAL_QUICK): the same result on any machine.
TEST_ENV := CONTROLNET_TUTORIAL_MODE=tiny HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error CONTROLNET_TUTORIAL_QUICK=1

# Two pytest workers, each test file (or notebook) whole on one worker, one torch thread per process: on CI's
# 2 cores one worker alone used ~0.7 of a core (kernels start, JupyterLab and the browser wait); two threads per
# worker would oversubscribe the cores. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2

test: setup browser
	$(BIN)/ruff check helpers tools tests conftest.py
	$(BIN)/python tools/translations.py --check
	$(TEST_ENV) OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=300 -p no:cacheprovider --durations=12 \
		-n $(TEST_WORKERS) --dist loadfile

# The learner's path, rehearsed offline (tools/learner_path.py): a clean clone, a fresh environment whose kernel runs
# each notebook's Colab install cell (non-editable, from the repository's address redirected to the clone), then
# every notebook from another folder in hub mode against a Hub-shaped cache (SD1.5 + the Canny, scribble
# and segmentation ControlNets at full size, random weights (one ControlNet file, hard-linked), written by
# tools/hub_cache.py, ~7 GB in ~/.cache/controlnet-tutorial); time and
# peak memory per notebook in artifacts/rehearsal.json. Fails when a notebook fails or breaks a budget.
REHEARSE_ARGS ?=
rehearse: setup
	$(BIN)/python tools/rehearse.py $(REHEARSE_ARGS)

# One ControlNet trained by one process, then by two sharing each batch (accelerate over gloo on CPUs, world size 2
# checked): the weights must agree to 1e-4 (tools/train_distributed.py); figures in artifacts/distributed.json.
train-distributed: setup
	$(BIN)/python tools/train_distributed.py $(DISTRIBUTED_ARGS)

# Debian's Chromium for the real-browser test (skipped with a reason where it cannot be installed).
browser:
	@bash tools/install_browser.sh

unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests

notebooks: setup
	$(TEST_ENV) $(BIN)/python -m pytest notebooks --nbmake --nbmake-timeout=300

bench: setup
	$(TEST_ENV) $(BIN)/python tools/bench.py

# Each notebook as make test runs it (TEST_ENV, one torch thread), one at a time, against the 60 s budget.
bench-notebooks: setup
	$(BIN)/python tools/bench.py --json artifacts/notebook-times-ci.json ci-notebooks

# On a GPU: full SD1.5 + ControlNet size, random weights (no download); on a CPU: tiny size.
bench-recipes: setup
	$(TEST_ENV) $(BIN)/python tools/bench.py --json artifacts/bench-recipes.json recipes \
		$$($(BIN)/python -c "import torch; print('--size full' if torch.cuda.is_available() else '--size tiny')")

clean:
	rm -rf $(VENV) artifacts .pytest_cache

strip: setup
	$(BIN)/python tools/strip_notebooks.py

# Learner copies (solutions removed) in learner/, generated from notebooks/; and the Chinese edition's (learner/zh/).
learner: setup
	$(BIN)/python tools/learner_copies.py
	$(BIN)/python tools/translations.py

# The Chinese edition (tools/translations.py): catalogs in translations/zh/ updated, notebooks/zh/ and learner/zh/
# rebuilt, the helpers' catalog compiled into data/locale and its font cut from fonts-noto-cjk where it lacks a character.
translations: setup
	$(BIN)/python tools/translations.py
