"""Evaluation generation throughput: transformers' generate one example at a time against the
engine's batched generation with the key-value cache (jobs/engine/generation.py).

256 generated prompts of 8-64 tokens (deterministic text, varied lengths) on builtin-small (4
layers, width 256, context 512, vocabulary padded to 50,304, random weights from seed 0 as the
catalog builds it), greedy, 32 new tokens each. Examples per second for
  (a) one `model.generate(do_sample=False)` call per example, with its cache, end-of-text as
      the padding id;
  (b) `generate_batch` at each batch size of --batch-sizes (16 and 32);
in each of --runs runs (alternating, on the same warm model), then the median and spread
[lowest-highest] of each and of the ratio (b) / (a). Also how many batched outputs equal
generate's token for token (greedy on random weights: a near-tie may flip one now and then).

    .venv/bin/python bench/eval_throughput.py                  # CPU: minutes on 2 cores
    .venv/bin/python bench/eval_throughput.py --runs 1 --examples 64
    .venv/bin/python bench/eval_throughput.py --device cuda --dtype bf16 --batch-sizes 32,64

Every example generates its full --max-new-tokens (nothing stops early on random weights), so
(a) and (b) do the same work.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import logging as hf_logging  # noqa: E402

from jobs.engine.config import TrainConfig  # noqa: E402
from jobs.engine.constants import GPT2_VOCAB_SIZE, padded_vocab_size  # noqa: E402
from jobs.engine.generation import generate_batch  # noqa: E402
from jobs.engine.modelling import build_model  # noqa: E402
from jobs.engine.tokenizer import gpt2_tokenizer  # noqa: E402

# The catalog's built-in shapes (jobs/catalog/services.py BUILTIN_MODELS).
MODELS = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256},
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 256, "n_positions": 512},
}
BUILTIN_SEED = 0  # as jobs/playground/loading.py: the same random weights on every load
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when "
    "question answer: what is the capital city of country river mountain 12 345 , . ?"
).split()


def make_prompts(tokenizer, n, low, high, seed=0):
    """n texts of low..high tokens each (about: a decoded cut may tokenise a token apart)."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(n):
        length = rng.randint(low, high)
        ids = tokenizer(" ".join(rng.choice(WORDS) for _ in range(high)))["input_ids"]
        prompts.append(tokenizer.decode(ids[:length]))
    return prompts


def load_model(name, device, dtype, tokenizer):
    shape = {**MODELS[name], "vocab_size": padded_vocab_size(GPT2_VOCAB_SIZE)}
    with torch.random.fork_rng():
        torch.manual_seed(BUILTIN_SEED)
        model = build_model(TrainConfig(model_config=shape), tokenizer)
    return model.to(device=device, dtype=dtype).eval()


def one_at_a_time(model, tokenizer, prompts, max_new_tokens, device):
    """(seconds, new-token lists): one transformers generate call per prompt."""
    outputs = []
    start = time.perf_counter()
    with torch.no_grad():
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt").to(device)
            out = model.generate(
                **ids,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.eos_token_id,
            )
            outputs.append(out[0, ids["input_ids"].shape[1] :].tolist())
    return time.perf_counter() - start, outputs


def batched(model, tokenizer, prompts, max_new_tokens, batch_size):
    """(seconds, new-token lists) of generate_batch."""
    start = time.perf_counter()
    results = generate_batch(
        model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    return time.perf_counter() - start, [r.token_ids for r in results]


def spread(values, unit=""):
    return f"{statistics.median(values):,.2f}{unit} [{min(values):,.2f}-{max(values):,.2f}{unit}]"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="small")
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--min-tokens", type=int, default=8, help="shortest prompt")
    parser.add_argument("--max-tokens", type=int, default=64, help="longest prompt")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-sizes", default="16,32", help="comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="auto", help="auto (cuda when there), cpu, cuda")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: its default")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    tokenizer = gpt2_tokenizer()
    model = load_model(args.model, device, dtype, tokenizer)
    prompts = make_prompts(tokenizer, args.examples, args.min_tokens, args.max_tokens)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(
        f"builtin-{args.model}, {args.examples} prompts of {args.min_tokens}-{args.max_tokens} "
        f"tokens, {args.max_new_tokens} new tokens, greedy, {args.dtype}; device {device} "
        f"({name or platform.machine()}), torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, transformers {transformers.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    # Warm-up: first calls allocate and (on CUDA) pick kernels.
    one_at_a_time(model, tokenizer, prompts[:2], 4, device)
    batched(model, tokenizer, prompts[: max(sizes)], 4, max(sizes))

    single_rates, rates = [], {size: [] for size in sizes}
    for run in range(args.runs):
        seconds, reference = one_at_a_time(model, tokenizer, prompts, args.max_new_tokens, device)
        single_rates.append(args.examples / seconds)
        line = [f"run {run + 1}: generate one at a time {single_rates[-1]:,.2f} examples/s"]
        for size in sizes:
            seconds, outputs = batched(model, tokenizer, prompts, args.max_new_tokens, size)
            rates[size].append(args.examples / seconds)
            same = sum(a == b for a, b in zip(outputs, reference, strict=True))
            line.append(
                f"batch {size} {rates[size][-1]:,.2f} examples/s "
                f"({rates[size][-1] / single_rates[-1]:.2f}x, {same}/{args.examples} "
                f"outputs equal)"
            )
        print("; ".join(line) + f"; load average {os.getloadavg()[0]:.2f}", flush=True)

    print(f"median [spread] over {args.runs} run(s), examples/s:")
    print(f"  generate one at a time: {spread(single_rates)}")
    for size in sizes:
        ratios = [b / a for a, b in zip(single_rates, rates[size], strict=True)]
        print(f"  generate_batch, batch {size}: {spread(rates[size])}; ratio {spread(ratios, 'x')}")


if __name__ == "__main__":
    main()
