#!/usr/bin/env bash
# Fill a folder with the wheels bench/gpu_check.sh may need on a GPU machine without network:
# what gancore needs and such machines' images often lack (pydantic and its parts, tomli-w,
# torch-fidelity), for the target's Python (default 3.12) on x86_64 Linux.
#
#   bash bench/gpu_wheels.sh [DIR] [PYTHON_VERSION]      # default bench/wheels 3.12
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-bench/wheels}
PYV=${2:-3.12}
mkdir -p "$DIR"
python3 -m pip download -q --only-binary=:all: --no-deps --python-version "$PYV" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d "$DIR" \
  pydantic pydantic-core annotated-types typing-inspection typing-extensions tomli-w \
  torch-fidelity pluggy typer rich safetensors
ls "$DIR"
