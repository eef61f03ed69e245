"""Metrics beyond loss: token accuracy on training and validation, validation perplexity, and a
final evaluation that reads every validation row."""

import math

import pytest
import torch

from jobs.engine import data, evaluation, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import gpt2_tokenizer
from tests.jobs.engine.test_engine import config, text_examples


class Recorder(Callbacks):
    def __init__(self):
        self.logs, self.evals = [], []

    def on_log(self, metrics):
        self.logs.append(metrics)

    def on_evaluate(self, step, eval_loss, epoch, metrics=None):
        self.evals.append({"step": step, "eval_loss": eval_loss, **(metrics or {})})


def by_hand(model, rows):
    """Loss and accuracy over every row, one row at a time, with plain torch."""
    model.eval()
    losses, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for i in range(len(rows)):
            ids, labels, _, _ = data.collate(rows, torch.tensor([i]), torch.device("cpu"))
            logits = model(input_ids=ids).logits[0, :-1]
            target = labels[0, 1:]
            keep = target != data.IGNORE_INDEX
            losses += torch.nn.functional.cross_entropy(
                logits[keep], target[keep], reduction="sum"
            ).item()
            correct += int((logits[keep].argmax(-1) == target[keep]).sum())
            count += int(keep.sum())
    return losses / count, correct / count


def test_training_logs_token_accuracy_and_the_final_pass_reads_every_validation_row(tmp_path):
    examples = text_examples(400)
    # Evaluations during training read 4 rows; the final one must read them all. In fp32, as
    # the evaluation by hand below.
    cfg = config(
        tmp_path, epochs=2, learning_rate=1e-2, eval_steps=10, eval_max_rows=4, precision="fp32"
    )
    recorder = Recorder()
    result = loop.train(cfg, examples, callbacks=recorder)

    _, eval_rows, _ = loop.prepare_rows(cfg, gpt2_tokenizer(), examples, None)
    assert len(eval_rows) > 4
    loss, accuracy = by_hand(result.model, eval_rows)

    assert result.eval_loss == pytest.approx(loss, rel=1e-4)
    assert result.eval_accuracy == pytest.approx(accuracy, abs=1e-6)
    assert result.eval_perplexity == pytest.approx(math.exp(loss), rel=1e-4)
    final = recorder.evals[-1]
    assert final["step"] == result.step and final["eval_accuracy"] == result.eval_accuracy
    assert len(recorder.evals) == result.step // 10 + (result.step % 10 != 0)
    # Words drawn at random from 17: a model that learned them guesses about 1 in 17 right,
    # where an untrained one guesses 1 in 50,257.
    assert 0.04 < result.eval_accuracy <= 1
    accuracies = [m["train_accuracy"] for m in recorder.logs]
    assert all(0 <= a <= 1 for a in accuracies)
    assert accuracies[-1] > accuracies[0]
    assert result.train_accuracy == accuracies[-1]


def test_token_accuracy_counts_only_labelled_tokens():
    logits = torch.zeros(1, 4, 5)
    logits[0, 0, 2] = logits[0, 1, 3] = logits[0, 2, 1] = 1  # predicts 2, 3, 1 for tokens 1..3
    labels = torch.tensor([[9, 2, data.IGNORE_INDEX, 4]])
    correct, counted = evaluation.token_hits(logits, labels).tolist()
    assert (correct, counted) == (1, 2)
