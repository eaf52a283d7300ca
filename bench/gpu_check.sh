#!/usr/bin/env bash
# The GPU path, checked in one run of at most 5 minutes on a CUDA machine:
#   1. the tests marked `gpu` (tests/gpu): CUDA training under fp32/tf32/bf16/fp16/auto, exact
#      resume, sampling and evaluation through the CLI, DDP via torchrun over NCCL (2+ GPUs);
#   2. `gancore bench` of dcgan-32 and sagan: images/s under each `auto` numerics candidate;
#   3. bench/train_throughput.py for dcgan-32 and sagan against the PyTorch tutorial loop, with
#      peak GPU memory and the roofline, and the joint_d_pass technique as a variant timed alongside;
#   4. bench/data_throughput.py: the folder and prepared data paths (uint8 gathered on the GPU
#      or through pinned buffers) against the DCGAN-64 step.
#
#   bash bench/gpu_check.sh [WHEELS_DIR]
#
# It uses the machine's own Python (PYTHON, default python3) and torch (2.2 or later). Missing
# pure-Python dependencies are installed from WHEELS_DIR (default bench/wheels; fill it on a
# machine with network with bench/gpu_wheels.sh) with `pip install --no-index --no-deps`, and
# gancore itself from this checkout without build isolation: no network is needed. Without a
# GPU the same script runs its CPU parts (the gpu tests skip, saying why); GPU_CHECK_QUICK=1
# shortens the benches to seconds (what the test suite runs). Exits non-zero if a part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${1:-${GPU_CHECK_WHEELS:-bench/wheels}}
QUICK=${GPU_CHECK_QUICK:-0}
failed=()
t0=$(date +%s)

step() { echo; echo "== $* ($(( $(date +%s) - t0 )) s)"; }

step "environment"
"$PY" - <<'EOF'
import platform, sys
import torch
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {platform.machine()}")
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, capability {p.major}.{p.minor}")
else:
    print("no CUDA device: the gpu tests skip, the benches run on the CPU")
EOF

step "dependencies"
# module -> distribution, for what gancore needs beyond torch/numpy (pure Python but
# pydantic-core, whose wheel for this Python must be in the folder)
missing=$("$PY" - <<'EOF'
import importlib.util
need = {"pydantic": "pydantic", "pydantic_core": "pydantic-core",
        "annotated_types": "annotated-types", "typing_inspection": "typing-inspection",
        "typing_extensions": "typing-extensions", "pluggy": "pluggy",
        "safetensors": "safetensors", "rich": "rich", "typer": "typer", "tomli_w": "tomli-w",
        "matplotlib": "matplotlib", "scipy": "scipy", "torchmetrics": "torchmetrics",
        "packaging": "packaging", "PIL": "pillow", "pytest": "pytest"}
print(" ".join(dist for mod, dist in need.items() if importlib.util.find_spec(mod) is None))
EOF
)
if [ -n "$missing" ]; then
  echo "installing from $WHEELS: $missing"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --no-index --no-deps --find-links "$WHEELS" $missing \
    || { echo "cannot install $missing from $WHEELS (fill it with bench/gpu_wheels.sh)"; exit 2; }
else
  echo "all present"
fi
if ! "$PY" -c "import gancore.packs.loader, gancore.cli" 2>/dev/null; then
  echo "installing gancore from this checkout (no build isolation, no dependencies)"
  "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . \
    || { echo "cannot install gancore from $(pwd)"; exit 2; }
fi

if [ "$QUICK" = 1 ]; then SECONDS_EACH=0.1; ROUNDS=1; STEPS=1; WARMUP=1; MM=256; RECIPES="dcgan-32"
  DATA_ARGS="--images 48 --batch 16 --seconds 0.1 --rounds 1"
else SECONDS_EACH=3; ROUNDS=6; STEPS=5; WARMUP=10; MM=4096; RECIPES="dcgan-32 sagan"
  DATA_ARGS="--images 3000 --seconds 2 --rounds 2"; fi
export GANCORE_CACHE=${GANCORE_CACHE:-$(mktemp -d)}

step "tests marked gpu"
if [ "$QUICK" = 1 ]; then
  "$PY" -m pytest -q -m gpu tests/gpu -p no:cacheprovider -rs 2>&1 | tail -15 || failed+=("gpu tests")
else
  timeout 170 "$PY" -m pytest -q -m gpu tests/gpu -p no:cacheprovider -rs 2>&1 | tail -25 \
    || failed+=("gpu tests")
fi

for recipe in $RECIPES; do
  step "gancore bench $recipe"
  "$PY" -m gancore bench "$recipe" --set data.type=shapes --seconds "$SECONDS_EACH" --no-save \
    || failed+=("bench $recipe")
done

for recipe in $RECIPES; do
  step "train_throughput $recipe vs the tutorial loop"
  "$PY" bench/train_throughput.py --recipe "$recipe" --set data.type=shapes --rounds "$ROUNDS" \
    --steps "$STEPS" --warmup "$WARMUP" --single-rounds 0 --matmul-size "$MM" \
    --variant 'train.techniques=["joint_d_pass"]' || failed+=("throughput $recipe")
done

step "data_throughput: folder and prepared paths vs the dcgan-64 step"
# shellcheck disable=SC2086
"$PY" bench/data_throughput.py $DATA_ARGS || failed+=("data throughput")

step "done"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all parts passed"
