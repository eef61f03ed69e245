"""Early stopping and the best model on each device: on CUDA the run is compiled and in bf16,
and the best weights loaded back before export must still be the best ones.

Django-free like test_cuda.py (bench/gpu_check.sh's `--noconftest -p no:django`): examples are
written as segments here rather than through jobs.datasets."""

import pytest
import torch

from jobs.engine import data, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import EOS

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
ON_EACH_DEVICE = pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, CUDA])]
)
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 128, "vocab_size": 50304}


def qa(answer, n):
    return [[("Q: colour of sky?\n", False), (f" {answer}{EOS}", True)]] * n


class Evaluations(Callbacks):
    def __init__(self):
        self.losses = {}

    def on_evaluate(self, step, eval_loss, epoch, metrics=None):
        self.losses[step] = eval_loss


@ON_EACH_DEVICE
def test_an_overfitting_run_stops_early_and_exports_its_best_weights(tmp_path, device):
    cfg = loop.TrainConfig(
        model_config=TINY,
        kind="prompt_completion",
        max_seq_length=32,
        batch_size=4,
        epochs=10,
        learning_rate=1e-2,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        eval_steps=2,
        save_steps=0,
        early_stopping_patience=3,
        exported_model="best",
        output_dir=str(tmp_path),
        device=device,
        num_threads=1,
    )
    evaluations = Evaluations()
    result = loop.train(cfg, qa("green", 16), qa("blue", 4), evaluations)
    losses = evaluations.losses
    best = min(losses, key=losses.get)
    assert result.early_stopped and result.step == best + 6 < result.total_steps
    assert result.exported_step == best and (tmp_path / "checkpoints" / f"step-{best:08d}").is_dir()
    rows, _ = data.build_rows(qa("blue", 4), result.tokenizer, kind=cfg.kind, block_size=32)
    target = loop.pick_device(device)
    amp = loop.pick_precision(cfg.precision, target)
    exported = loop.evaluate(result.model, rows, cfg, target, amp)["eval_loss"]
    assert exported == pytest.approx(losses[best], rel=1e-3)
