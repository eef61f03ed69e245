"""The training engine on its own (no Django): data preparation, parity with the HF Trainer,
checkpoint/resume and LoRA export. A tiny random GPT-2 keeps each test to seconds."""

import random

import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainingArguments,
    set_seed,
)

from jobs.datasets.reader import format_segments
from jobs.engine import data, export, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import gpt2_tokenizer

TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 128}
WORDS = (
    "the cat sat on a mat while dogs ran over green hills under blue skies and birds sang".split()
)


def text_examples(n, seed=0):
    rng = random.Random(seed)
    return [
        format_segments("text", {"text": " ".join(rng.choice(WORDS) for _ in range(12))})
        for _ in range(n)
    ]


def config(tmp_path, **overrides):
    values = {
        "model_config": TINY,
        "max_seq_length": 32,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.1,
        "lr_scheduler": "linear",
        "weight_decay": 0.0,
        "eval_steps": 0,
        "save_steps": 0,
        "output_dir": str(tmp_path),
        "num_threads": 1,
    }
    return loop.TrainConfig(**{**values, **overrides})


class StopAt(Callbacks):
    def __init__(self, step):
        self.step, self.current, self.logged = step, 0, []

    def on_step(self, progress):
        self.current = progress["step"]

    def on_log(self, metrics):
        self.logged.append(metrics["step"])

    def should_stop(self):
        return "cancelled" if self.current >= self.step else None


def test_prompt_completion_rows_carry_loss_only_on_the_completion():
    tokenizer = gpt2_tokenizer()
    examples = [
        format_segments(
            "prompt_completion", {"prompt": "Capital of France?", "completion": " Paris"}
        )
    ]
    rows, dropped = data.build_rows(examples, tokenizer, kind="prompt_completion", block_size=64)
    labels = [t for t in rows.labels[0].tolist() if t != data.IGNORE_INDEX]
    assert dropped == 0
    assert tokenizer.decode(labels) == " Paris<|endoftext|>"


def test_prompt_completion_examples_never_share_a_row():
    tokenizer = gpt2_tokenizer()
    examples = [
        format_segments("prompt_completion", {"prompt": f"Q{i}?", "completion": f" A{i}"})
        for i in range(5)
    ]
    rows, _ = data.build_rows(examples, tokenizer, kind="prompt_completion", block_size=64)
    assert len(rows) == 5
    for i in range(5):
        text = tokenizer.decode(rows.input_ids[i, : rows.lengths[i]].tolist())
        assert text == "".join(segment for segment, _ in examples[i])


def test_plain_text_is_packed_into_full_blocks_separated_by_end_of_text():
    tokenizer = gpt2_tokenizer()
    rows, _ = data.build_rows(text_examples(40), tokenizer, kind="text", block_size=32)
    assert all(length == 32 for length in rows.lengths[:-1].tolist())
    eos_count = int(
        (rows.input_ids == tokenizer.eos_token_id)
        .logical_and(rows.labels != data.IGNORE_INDEX)
        .sum()
    )
    assert eos_count == 40


def blocks_of(rows):
    return sorted(
        tuple(row[:n].tolist()) for row, n in zip(rows.input_ids, rows.lengths, strict=True)
    )


def test_packed_text_holds_out_a_tenth_of_its_blocks_whatever_the_seed(tmp_path):
    tokenizer = gpt2_tokenizer()
    everything, _ = data.build_rows(text_examples(200), tokenizer, kind="text", block_size=32)
    for seed in (1, 2, 3):
        cfg = config(tmp_path, kind="text", seed=seed)
        train, held, _ = loop.prepare_rows(cfg, tokenizer, text_examples(200), None)
        assert len(held) == int(len(everything) * 0.1)
        assert sorted(blocks_of(train) + blocks_of(held)) == blocks_of(everything)


def test_final_eval_loss_is_within_two_percent_of_the_hf_trainer(tmp_path):
    examples = text_examples(160)
    cfg = config(tmp_path, epochs=2, learning_rate=1e-2)
    result = loop.train(cfg, examples)

    tokenizer = gpt2_tokenizer()
    train_rows, eval_rows, _ = loop.prepare_rows(cfg, tokenizer, examples, None)
    set_seed(cfg.seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), **TINY))
    # GPT-2's config names no loss_type, and then the Trainer divides the summed loss by every
    # label, including the first of each row that nothing predicts: its loss reads 1/32 low.
    model.loss_type = "ForCausalLM"
    args = TrainingArguments(
        output_dir=str(tmp_path / "trainer"),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=1e-2,
        warmup_steps=0.1,
        lr_scheduler_type="linear",
        weight_decay=0.0,
        seed=cfg.seed,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        logging_strategy="no",
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=as_records(train_rows),
        eval_dataset=as_records(eval_rows),
    )
    trainer.train()
    trainer_eval_loss = trainer.evaluate()["eval_loss"]

    assert result.step == trainer.state.global_step
    assert result.eval_loss == pytest.approx(trainer_eval_loss, rel=0.02)
    assert result.eval_loss < 9.0  # it learned: random weights start near ln(50257) = 10.8


def as_records(rows):
    records = []
    for i in range(len(rows)):
        n = int(rows.lengths[i])
        mask = [1] * n + [0] * (rows.input_ids.shape[1] - n)
        records.append(
            {
                "input_ids": rows.input_ids[i],
                "labels": rows.labels[i],
                "attention_mask": torch.tensor(mask),
            }
        )
    return records


def test_resume_continues_the_global_step_and_matches_an_uninterrupted_run(tmp_path):
    examples = text_examples(50)
    straight = loop.train(config(tmp_path / "straight", save_steps=4, epochs=2), examples)

    interrupted_cfg = config(tmp_path / "interrupted", save_steps=4, epochs=2)
    first = loop.train(interrupted_cfg, examples, callbacks=StopAt(5))
    assert first.stopped and first.step == 5
    second_run = StopAt(10_000)
    resumed = loop.train(interrupted_cfg, examples, callbacks=second_run)

    assert resumed.step == straight.step
    assert min(second_run.logged) > 4  # the newest checkpoint was at step 4
    assert resumed.eval_loss == pytest.approx(straight.eval_loss, rel=1e-4)


def test_checkpoints_beyond_the_limit_are_deleted_and_none_is_left_half_written(tmp_path):
    loop.train(config(tmp_path, save_steps=2, save_total_limit=2, epochs=2), text_examples(60))
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert len(names) == 2
    assert all(name.startswith("step-") for name in names)


def test_lora_exports_an_adapter_and_a_merged_model_that_loads_offline(tmp_path):
    examples = text_examples(40)
    result = loop.train(config(tmp_path, method="lora", lora_r=4, lora_alpha=8), examples)
    folder = tmp_path / "final"
    merged = export.export_model(
        result.model, result.tokenizer, folder, method="lora", model_card="# card\n"
    )
    samples = export.generate_samples(merged, result.tokenizer, ["the cat"], max_new_tokens=5)

    assert (folder / "adapter" / "adapter_config.json").exists()
    loaded = AutoModelForCausalLM.from_pretrained(folder / "model")
    assert sum(p.numel() for p in loaded.parameters()) == sum(
        p.numel() for p in merged.parameters()
    )
    assert samples[0]["prompt"] == "the cat" and samples[0]["output"]
