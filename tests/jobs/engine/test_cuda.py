"""The CUDA path (bf16 autocast, TF32, fused AdamW, torch.compile with fixed shapes), each test
beside its CPU twin so the logic is proven where there is no GPU.

Django-free on purpose: bench/gpu_check.sh runs `pytest -m cuda` on a GPU machine that has torch
and transformers but no database, with `--noconftest -p no:django`. So no fixture from
tests/conftest.py, and no import from jobs outside jobs.training and jobs.engine.constants.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from jobs.engine import export, loop
from jobs.engine.callbacks import Callbacks

ROOT = Path(__file__).resolve().parents[3]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
ON_EACH_DEVICE = pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, CUDA])]
)
# A built-in model's shape (padded vocabulary) with a little more width than builtin-tiny.
SMALL = {"n_layer": 2, "n_head": 4, "n_embd": 128, "n_positions": 128, "vocab_size": 50304}
WORDS = "the cat sat on a mat while dogs ran over green hills under blue skies and birds".split()


def text_examples(n, seed=0):
    rng = random.Random(seed)
    return [[(" ".join(rng.choice(WORDS) for _ in range(16)), True)] for _ in range(n)]


def settings(tmp_path, device, **overrides):
    values = {
        "model_config": SMALL,
        "max_seq_length": 32,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "eval_steps": 0,
        "save_steps": 0,
        "output_dir": str(tmp_path),
        "device": device,
        "num_threads": 1,
    }
    return {**values, **overrides}


class Started(Callbacks):
    def on_start(self, info):
        self.info = info


@ON_EACH_DEVICE
def test_a_job_trains_checkpoints_exports_reloads_and_generates(tmp_path, device):
    cfg = loop.TrainConfig(**settings(tmp_path, device, save_steps=5))
    started = Started()
    result = loop.train(cfg, text_examples(400), callbacks=started)
    folder = tmp_path / "final"
    export.export_model(result.model, result.tokenizer, folder, method="full", model_card="#\n")
    reloaded = AutoModelForCausalLM.from_pretrained(folder / "model").to(device)
    samples = export.generate_samples(reloaded, result.tokenizer, ["the cat"], max_new_tokens=8)

    assert (tmp_path / "checkpoints").glob("step-*")
    assert result.train_rows % cfg.batch_size  # a short last batch: padded with empty rows
    assert result.step == result.total_steps and result.eval_loss < 7.0  # from ~10.8
    assert samples[0]["output"].strip()
    if device == "cuda":
        assert started.info["precision"] == "bfloat16" and started.info["compile"] == "inductor"
        assert result.device.startswith("NVIDIA") and result.peak_memory_bytes > 0


CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from jobs.engine import loop
from jobs.engine.callbacks import Callbacks

class Slowly(Callbacks):
    def on_step(self, progress):
        print(progress["step"], flush=True)
        time.sleep(0.3)  # room for the parent to kill it mid-run

cfg = loop.TrainConfig(**json.loads(sys.argv[2]))
loop.train(cfg, json.loads(open(sys.argv[3]).read()), callbacks=Slowly())
"""


def run_until_killed(cfg_values, examples_file, kill_after_step):
    """Run the engine in a child process and SIGKILL it once it has passed a checkpoint."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT), json.dumps(cfg_values), str(examples_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    for line in child.stdout:
        if int(line) >= kill_after_step or time.monotonic() > deadline:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return child.returncode


@ON_EACH_DEVICE
def test_a_run_killed_with_sigkill_resumes_from_its_newest_checkpoint(tmp_path, device):
    values = settings(tmp_path / "run", device, save_steps=3)
    examples_file = tmp_path / "examples.json"
    examples_file.write_text(json.dumps(text_examples(400)))

    assert run_until_killed(values, examples_file, kill_after_step=7) == -signal.SIGKILL
    saved = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step-*"))
    started = Started()
    resumed = loop.train(loop.TrainConfig(**values), text_examples(400), callbacks=started)

    assert saved and saved[-1] == "step-00000006"
    assert started.info["resumed_from"] == 6 and started.info["start_step"] == 6
    assert resumed.step == resumed.total_steps > 6


@pytest.mark.parametrize(
    "device",
    [  # bf16 autocast is emulated on a CPU: slow there
        pytest.param("cpu", marks=pytest.mark.slow),
        pytest.param("cuda", marks=[pytest.mark.cuda, CUDA]),
    ],
)
def test_bf16_eval_loss_is_within_three_percent_of_fp32_on_the_same_seed(tmp_path, device):
    losses = {}
    for precision in ("fp32", "bf16"):
        values = settings(tmp_path / precision, device, precision=precision)
        losses[precision] = loop.train(loop.TrainConfig(**values), text_examples(400)).eval_loss
    assert losses["fp32"] < 7.0  # it learned, so the comparison means something
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.03)
