"""CPU training throughput: the engine against a plain Hugging Face Trainer script.

Both train the same model (same random initial weights), on the same packed rows, with the
same hyperparameters (AdamW, cosine schedule with warmup, weight decay, gradient clipping at 1,
no evaluation or checkpoints while timed). Tokens/s is tokens trained on divided by the wall
time of the training loop (first step to last), measured the same way for both.

    .venv/bin/python bench/train_throughput.py   # built-in tiny model: minutes on 2 cores
    .venv/bin/python bench/train_throughput.py --model small --steps 20
    .venv/bin/python bench/train_throughput.py --precision fp32   # the engine without bf16

The Trainer runs as a plain script would: fp32, PyTorch's default thread count (--trainer-bf16
gives it bf16 autocast too). The engine runs as a job would: its precision "auto" (bf16 on a
CPU with bf16 instructions, fp32 otherwise) and a thread count it measures.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from transformers import (  # noqa: E402
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers import logging as hf_logging  # noqa: E402

from jobs.engine import (
    data,  # noqa: E402
    loop,  # noqa: E402
)
from jobs.engine.callbacks import Callbacks  # noqa: E402
from jobs.engine.tokenizer import gpt2_tokenizer  # noqa: E402

MODELS = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256},
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 256, "n_positions": 512},
}
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when"
).split()


def examples(n_tokens, seed=0):
    rng = random.Random(seed)
    return [
        [(" ".join(rng.choice(WORDS) for _ in range(40)), True)] for _ in range(n_tokens // 40 + 1)
    ]


class Started(Callbacks):
    fused_loss = precision = None

    def on_start(self, info):
        self.fused_loss, self.precision = info["fused_loss"], info["precision"]


class LoopTimer(TrainerCallback):
    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - self.start


def run_trainer(cfg, rows, threads, bf16=False):
    torch.set_num_threads(threads)
    set_seed(cfg.seed)
    tokenizer = gpt2_tokenizer()
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), **cfg.model_config))
    width = rows.input_ids.shape[1]
    masks = (torch.arange(width)[None, :] < rows.lengths[:, None]).long()
    records = [
        {"input_ids": rows.input_ids[i], "labels": rows.labels[i], "attention_mask": masks[i]}
        for i in range(len(rows))
    ]
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        num_train_epochs=1,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio,
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=bf16,
        disable_tqdm=True,
        logging_strategy="no",
    )
    timer = LoopTimer()
    Trainer(model=model, args=args, train_dataset=records, callbacks=[timer]).train()
    return rows.num_tokens / timer.seconds


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--trainer-threads", type=int, default=0, help="0: PyTorch's default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fused-loss", default="auto", help="the engine's fused_loss: auto, off (the plain head)"
    )
    parser.add_argument("--precision", default="auto", help="the engine's: auto, fp32, bf16")
    parser.add_argument("--trainer-bf16", action="store_true", help="the Trainer in bf16 too")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    default_threads = torch.get_num_threads()
    cfg = loop.TrainConfig(
        model_config=MODELS[args.model],
        max_seq_length=args.seq,
        batch_size=args.batch,
        epochs=1,
        eval_steps=0,
        save_steps=0,
        output_dir=tempfile.mkdtemp(),
        device="cpu",
        fused_loss=args.fused_loss,
        precision=args.precision,
    )
    # The engine packs these examples itself; the Trainer gets the very rows it packs.
    text = examples(args.steps * args.batch * args.seq - args.seq)
    rows, _ = data.build_rows(text, gpt2_tokenizer(), kind="text", block_size=args.seq)
    print(
        f"model={args.model} seq={args.seq} batch={args.batch} steps={args.steps} "
        f"cpus={loop.available_cpus()} load average {os.getloadavg()[0]:.2f}"
    )
    threads = args.trainer_threads or default_threads
    # Other processes share the machine: alternate the two and keep each one's best run.
    trainer_runs, engine_runs = [], []
    for repeat in range(args.repeats):
        trainer_runs.append(run_trainer(cfg, rows, threads, bf16=args.trainer_bf16))
        info = Started()
        result = loop.train(cfg, text, eval_examples=[], callbacks=info)
        engine_runs.append(result.tokens_per_second)
        print(
            f"run {repeat + 1}: HF Trainer ({threads} threads, "
            f"{'bf16' if args.trainer_bf16 else 'fp32'}) {trainer_runs[-1]:,.0f} tokens/s; "
            f"engine ({result.num_threads} threads, {info.precision}, "
            f"fused loss {info.fused_loss}, {result.step} steps) {engine_runs[-1]:,.0f} tokens/s; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    best_trainer, best_engine = max(trainer_runs), max(engine_runs)
    print(
        f"best of {args.repeats}: HF Trainer {best_trainer:,.0f} tokens/s, "
        f"engine {best_engine:,.0f} tokens/s"
    )
    print(f"engine / Trainer = {best_engine / best_trainer:.2f}")


if __name__ == "__main__":
    main()
