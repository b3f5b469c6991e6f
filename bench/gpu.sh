#!/usr/bin/env bash
# GPU scoring benchmark (issue 6): bert-base- and MiniLM-shaped models built from configs with
# random weights, 128 tokens, bf16 autocast, producer-thread tokenization, pinned memory.
# Run from the repository root on a GPU machine (about 1-2 minutes on an H100):
#     bash bench/gpu.sh
# Smoke test on any CPU:  bash bench/gpu.sh --device cpu --n 64 --batch-size 16
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch, transformers, tokenizers" 2>/dev/null; then
    echo "installing transformers + tokenizers for $PY (torch must already be there)" >&2
    "$PY" -m pip install --quiet "transformers>=4.45" tokenizers
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
exec "$PY" bench/gpu.py "$@"
