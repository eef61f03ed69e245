"""Fixed batch shapes for compiled runs: padding changes neither the loss nor the gradient, a
run sees only a few shapes, and a compiled run compiles nothing after warming up."""

import random

import pytest
import torch
from torch._dynamo.utils import counters
from transformers import GPT2Config, GPT2LMHeadModel

from jobs.engine import data, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import gpt2_tokenizer

# Dropout off: a compiled and an eager run then compute the same numbers.
TINY = {
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 64,
    "n_positions": 128,
    "resid_pdrop": 0.0,
    "embd_pdrop": 0.0,
    "attn_pdrop": 0.0,
}
WORDS = "the cat sat on a mat while dogs ran over green hills under blue skies".split()
CPU = torch.device("cpu")


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def text_examples(n, seed=0):
    rng = random.Random(seed)
    return [[(words(rng, 12), True)] for _ in range(n)]


def qa_examples(n, seed=0):
    """Prompt/completion segments of varied lengths (3 to 40 words of prompt)."""
    rng = random.Random(seed)
    return [
        [
            (words(rng, rng.randint(3, 40)) + "?", False),
            (" " + words(rng, 2) + "<|endoftext|>", True),
        ]
        for _ in range(n)
    ]


def config(tmp_path, **overrides):
    values = {
        "model_config": TINY,
        "max_seq_length": 64,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "eval_steps": 0,
        "save_steps": 0,
        "output_dir": str(tmp_path),
        "num_threads": 1,
    }
    return loop.TrainConfig(**{**values, **overrides})


def loss_and_grads(model, batch):
    input_ids, labels, mask, _ = batch
    model.zero_grad(set_to_none=True)
    loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def test_a_short_last_batch_padded_to_the_full_batch_trains_like_its_real_rows_alone():
    tokenizer = gpt2_tokenizer()
    rows, _ = data.build_rows(qa_examples(5), tokenizer, kind="prompt_completion", block_size=64)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), **TINY)).eval()
    model.loss_type = "ForCausalLM"
    index = torch.tensor([0, 2, 4])  # three rows where the run's batch holds eight
    fixed = data.collate(rows, index, CPU, data.FixedShapes(8, 64, packed=False))

    plain_loss, plain_grads = loss_and_grads(model, data.collate(rows, index, CPU))
    padded_loss, padded_grads = loss_and_grads(model, fixed)

    assert fixed[0].shape[0] == 8 and fixed[2][3:].sum() == 5  # five empty rows, 1 token each
    assert fixed[3] == int(rows.lengths[index].sum())  # only real tokens are counted
    assert padded_loss == pytest.approx(plain_loss, rel=1e-6)
    for plain, padded in zip(plain_grads, padded_grads, strict=True):
        torch.testing.assert_close(padded, plain, rtol=1e-5, atol=1e-7)


def test_a_compiled_run_sees_one_shape_for_packed_text_and_power_of_two_widths_otherwise():
    tokenizer = gpt2_tokenizer()
    text, _ = data.build_rows(text_examples(50), tokenizer, kind="text", block_size=64)
    qa, _ = data.build_rows(qa_examples(60), tokenizer, kind="prompt_completion", block_size=64)

    def shapes(rows, packed):
        fixed = data.FixedShapes(4, 64, packed=packed)
        batches = data.batches(rows, batch_size=4, shuffle=True, seed=1)
        return {tuple(data.collate(rows, b, CPU, fixed)[0].shape) for b in batches}

    assert len(text) % 4 and shapes(text, packed=True) == {(4, 64)}  # last batch short
    assert shapes(qa, packed=False) <= {(4, 16), (4, 32), (4, 64)}
    assert len(shapes(qa, packed=False)) > 1  # the prompts' lengths do vary


class GraphCount(Callbacks):
    """Graphs torch.compile has made so far, after each step."""

    def __init__(self):
        self.after_step = []

    def on_step(self, progress):
        self.after_step.append(counters["stats"]["unique_graphs"])


def compiled_run(cfg, examples):
    torch._dynamo.reset()
    counters.clear()
    graphs = GraphCount()
    return loop.train(cfg, examples, callbacks=graphs), graphs.after_step


@pytest.mark.slow
def test_a_compiled_run_compiles_nothing_after_its_first_step(tmp_path):
    """Inductor itself (gcc is on this machine): on a CPU its first step takes seconds."""
    examples = text_examples(130)
    cfg = config(tmp_path / "compiled", compile="on", max_seq_length=32)
    train_rows, _, _ = loop.prepare_rows(cfg, gpt2_tokenizer(), examples, None)
    assert len(train_rows) % cfg.batch_size  # the last batch is smaller

    result, graphs = compiled_run(cfg, examples)
    eager = loop.train(config(tmp_path / "eager", compile="off", max_seq_length=32), examples)

    assert result.step == eager.step == len(graphs) >= 12
    assert graphs[0] >= 1 and graphs[-1] == graphs[0]
    assert result.eval_loss == pytest.approx(eager.eval_loss, rel=1e-3)


@pytest.mark.slow
def test_a_compiled_prompt_completion_run_compiles_one_graph_per_width_bucket(tmp_path):
    """The aot_eager backend goes through dynamo's guards like inductor, without its C++ build:
    which shapes recompile does not depend on the backend."""
    examples = qa_examples(80)
    cfg = config(tmp_path, kind="prompt_completion", compile="aot_eager")
    train_rows, _, _ = loop.prepare_rows(cfg, gpt2_tokenizer(), examples, None)
    fixed = data.FixedShapes(cfg.batch_size, cfg.max_seq_length, packed=False)
    batches = data.batches(train_rows, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    widths = {fixed.width(int(train_rows.lengths[b].max())) for b in batches}

    result, graphs = compiled_run(cfg, examples)

    assert result.step == len(batches) and len(widths) > 1
    assert graphs[-1] == len(widths)
