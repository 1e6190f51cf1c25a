#!/usr/bin/env bash
# The prepared GPU check, one command on a machine with an NVIDIA GPU (nothing is downloaded):
#   0. tests/test_gpu_branch.py on the GPU: the recommended recipe's GPU switches (fused QKV projections, the
#      ControlNet's included; channels_last; torch.compile with inductor) on the tiny pipeline, then a picture
#      equal to the unoptimized one; nothing is timed when that fails;
#   1. make rehearse at the notebooks' own settings (512 px, 20 steps): hub mode against the Hub-shaped
#      cache, with each notebook's peak GPU memory checked against a T4's budget (14 GB);
#   2. the full-size recipes benchmark (SD1.5 + ControlNet, random weights), saved to data/bench/gpu_full.json
#      labelled with the GPU; the recommended recipe's speed-up over the blog recipe is printed last.
# RECIPES=all runs every recipe (compiling ones take a minute or two each).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RECIPES=${RECIPES:-blog,blog-bf16,blog-model-offload,blog-4-per-prompt,recommended,recommended-controlnet-unfused}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU visible to torch: install a CUDA build (README, GPU and Colab)')"
nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv
HF_HUB_OFFLINE=1 "$PY" -m pytest tests/test_gpu_branch.py -q -p no:cacheprovider
status=0
PYTHONUNBUFFERED=1 "$PY" tools/rehearse.py || status=$?
only=(); [ "$RECIPES" = all ] || only=(--only "$RECIPES")
PYTHONUNBUFFERED=1 "$PY" tools/bench.py --json data/bench/gpu_full.json recipes --size full --device cuda --repeats 2 "${only[@]}"
exit $status
