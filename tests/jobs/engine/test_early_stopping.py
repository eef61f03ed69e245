"""Early stopping and the best model in the engine: a run whose eval loss climbs after a few
steps (it learns "green" where the validation rows say "blue", at a rate that overshoots)
stops after `early_stopping_patience` evaluations, keeps the best checkpoint whatever the
pruning limit, and exports the best weights or the last ones as asked."""

import pytest

from jobs.datasets.reader import format_segments
from jobs.engine import loop
from jobs.engine.callbacks import Callbacks
from tests.jobs.engine.test_engine import config

TRAIN = [
    format_segments("prompt_completion", {"prompt": "Q: colour of sky?", "completion": " green"})
] * 16
EVAL = [
    format_segments("prompt_completion", {"prompt": "Q: colour of sky?", "completion": " blue"})
] * 4


class Evaluations(Callbacks):
    def __init__(self):
        self.losses = {}

    def on_evaluate(self, step, eval_loss, epoch, metrics=None):
        self.losses[step] = eval_loss


def overfitting_run(tmp_path, **overrides):
    values = {
        "kind": "prompt_completion",
        "epochs": 10,
        "eval_steps": 2,
        "save_steps": 0,
        "learning_rate": 1e-2,
        "lr_scheduler": "constant",
        "warmup_ratio": 0.0,
    }
    evaluations = Evaluations()
    result = loop.train(config(tmp_path, **{**values, **overrides}), TRAIN, EVAL, evaluations)
    return result, evaluations.losses


def checkpoint_steps(tmp_path):
    return sorted(int(p.name.removeprefix("step-")) for p in (tmp_path / "checkpoints").iterdir())


def test_the_run_stops_after_patience_evaluations_without_improvement(tmp_path):
    result, losses = overfitting_run(
        tmp_path, early_stopping_patience=3, exported_model="best", early_stopping_min_delta=0.01
    )
    best = min(losses, key=losses.get)
    assert result.early_stopped
    assert result.step == best + 3 * 2 < result.total_steps
    assert result.best_step == best and result.best_eval_loss == losses[best]
    assert max(losses) == result.step  # no evaluation after the stop


def test_the_exported_model_is_the_best_one_when_asked(tmp_path):
    # fp32: the exported model is evaluated again below in fp32, to 1e-4.
    result, losses = overfitting_run(tmp_path, exported_model="best", precision="fp32")
    best = min(losses, key=losses.get)
    assert best < result.step and losses[best] < result.eval_loss
    assert result.exported_step == best
    eval_rows, _ = loop.data.build_rows(
        EVAL, result.tokenizer, kind="prompt_completion", block_size=32
    )
    cfg = config(tmp_path, kind="prompt_completion")
    exported = loop.evaluate(result.model, eval_rows, cfg, loop.pick_device("cpu"), None)[
        "eval_loss"
    ]
    assert exported == pytest.approx(losses[best], rel=1e-4)


def test_the_last_model_is_exported_when_asked(tmp_path):
    result, losses = overfitting_run(tmp_path, exported_model="last")
    assert result.exported_step == result.step
    assert result.eval_loss == losses[result.step] > result.best_eval_loss


def test_the_best_checkpoint_is_never_pruned(tmp_path):
    result, losses = overfitting_run(
        tmp_path, exported_model="last", save_steps=2, save_total_limit=1
    )
    best = min(losses, key=losses.get)
    # The newest checkpoint (the final model is not one) and the best, however old.
    assert checkpoint_steps(tmp_path) == [best, result.step - 2]
