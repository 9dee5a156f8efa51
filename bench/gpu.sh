#!/usr/bin/env bash
# Training throughput of the train-lm model on CPU only vs the GPU(s), and the CPU→GPU speed-up.
#   bench/gpu.sh [STEPS]        (needs the train extra with a CUDA build of TensorFlow: pip install tensorflow[and-cuda])
# Runs bench/model_bench.py device three times on synthetic token windows (no data needed):
# CPU (CUDA_VISIBLE_DEVICES=-1, float32), GPU float32, GPU mixed_float16 + XLA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
STEPS=${1:-50}
run() { "$PY" bench/model_bench.py device --steps "$STEPS" --set "$@" | tail -n 1; }
cpu=$(CUDA_VISIBLE_DEVICES=-1 run precision=float32 jit_compile=false)
echo "cpu:               $cpu"
if ! "$PY" -c 'import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' 2>/dev/null; then
  echo "no GPU visible to TensorFlow: only the CPU figure above" >&2
  exit 0
fi
gpu=$(run precision=float32 jit_compile=auto)
echo "gpu float32:       $gpu"
mixed=$(run precision=mixed_float16 jit_compile=true)
echo "gpu mixed16 + XLA: $mixed"
"$PY" - "$cpu" "$gpu" "$mixed" <<'PY'
import json, sys
c, g, m = (json.loads(a)["tokens_per_s"] for a in sys.argv[1:])
print(f"tokens/s  cpu {c:,.0f}  gpu {g:,.0f}  gpu mixed_float16+XLA {m:,.0f}")
print(f"speed-up  gpu/cpu {g / c:.1f}x  gpu mixed/cpu {m / c:.1f}x")
PY
