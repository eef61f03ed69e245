"""GPU training throughput of the engine: GPT-2 124M (random initial weights), 1024-token rows.

It goes through the same code path as a job (jobs.engine.loop.train), with its CUDA
defaults: bf16 autocast, TF32 matmuls, fused AdamW and torch.compile on fixed batch shapes, and
the vocabulary padded to 50,304 as for built-in models. Target on one H100 or H200: at least
350,000 tokens/s (a plain compiled PyTorch loop with the vocabulary padded measured 351k on an
H100). bench/gpu_check.sh runs it after the CUDA tests.

    python bench/gpu_throughput.py                  # batch 16 x 1024, 60 steps
    python bench/gpu_throughput.py --batch 32 --steps 80

Tokens/s is reported per logging window (every 10 steps); the first windows include
torch.compile's warm-up, so the figure is the median of the windows after the first two. MFU is
that figure × FLOPs per token ÷ the device's dense bf16 peak
(jobs.engine.constants.PEAK_BF16_FLOPS).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from jobs.engine import loop  # noqa: E402
from jobs.engine.callbacks import Callbacks  # noqa: E402
from jobs.engine.constants import GPT2_VOCAB_SIZE, padded_vocab_size  # noqa: E402
from jobs.engine.device import model_flops_utilisation  # noqa: E402
from jobs.engine.modelling import training_flops_per_token  # noqa: E402

GPT2_124M = {
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "n_positions": 1024,
    "vocab_size": padded_vocab_size(GPT2_VOCAB_SIZE),
}
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when"
).split()


class Windows(Callbacks):
    def __init__(self):
        self.tokens_per_second = []

    def on_start(self, info):
        print(f"start: {info}", flush=True)

    def on_log(self, metrics):
        self.tokens_per_second.append(metrics["tokens_per_second"])
        print(
            f"step {metrics['step']:4d}  loss {metrics['train_loss']:.3f}  "
            f"{metrics['tokens_per_second']:,.0f} tokens/s",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--compile", default="auto")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit(
            "No CUDA device: this benchmark needs a GPU (see bench/train_throughput.py for CPU)."
        )

    rng = random.Random(0)
    words_needed = args.steps * args.batch * args.seq  # about one token per word, a little spare
    text = [
        [(" ".join(rng.choice(WORDS) for _ in range(1000)), True)]
        for _ in range(words_needed // 1000 + 1)
    ]
    cfg = loop.TrainConfig(
        model_config=GPT2_124M,
        max_seq_length=args.seq,
        batch_size=args.batch,
        epochs=1,
        learning_rate=6e-4,
        eval_steps=0,
        save_steps=0,
        log_steps=10,
        output_dir=tempfile.mkdtemp(),
        device="cuda",
        precision=args.precision,
        compile=args.compile,
        resume=False,
    )
    windows = Windows()
    result = loop.train(cfg, text, eval_examples=[], callbacks=windows)
    steady = windows.tokens_per_second[2:] or windows.tokens_per_second
    tokens_per_second = statistics.median(steady)
    per_token = training_flops_per_token(result.model, cfg)
    mfu = model_flops_utilisation(tokens_per_second, per_token, result.device)
    print(
        f"device: {result.device}; batch {args.batch} x {args.seq}; steps: {result.step}; "
        f"peak memory: {result.peak_memory_bytes / 2**30:.1f} GiB"
    )
    print(
        f"steady tokens/s (median of {len(steady)} windows after warm-up): "
        f"{tokens_per_second:,.0f}; FLOPs per token {per_token / 1e9:.3f} G; "
        f"MFU {'n/a (no peak figure for this device)' if mfu is None else f'{mfu:.1%}'}"
    )


if __name__ == "__main__":
    main()
