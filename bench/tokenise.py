"""Tokenising a large dataset: speed, and the worker's memory for data.

Generates a JSONL file of plain text (--mb megabytes of random English words, default 500),
then, in a fresh process per run: streams it through the engine's tokeniser into a TokenStore
(jobs/engine/data.py), reads it back from the cache the way a job does, and trains 20 steps of
builtin-tiny on it. Prints per run: examples, tokens, tokenising tokens/s, the store's bytes per
token, and the process's peak RSS (with the RSS before tokenising, so the data's share shows);
then the median and range over the runs.

    .venv/bin/python bench/tokenise.py                  # 500 MB, 3 runs
    .venv/bin/python bench/tokenise.py --mb 50 --runs 3
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when "
    "training model data token learning network language weights gradient batch memory"
).split()
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256}


def generate(path, megabytes, seed=0):
    """Lines of {"text": ...}, 200 to 2,000 characters each, until the file holds `megabytes`."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < target:
            lines = []
            for _ in range(1000):
                words = rng.choices(WORDS, k=rng.randint(40, 400))
                lines.append(json.dumps({"text": " ".join(words)}) + "\n")
            out.write("".join(lines))


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def current_rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_run(path, cache_dir, steps):
    """Tokenise into the cache, then train `steps` steps reading it back; print one JSON line."""
    from jobs.datasets.segments import format_segments
    from jobs.engine import data, loop
    from jobs.engine.callbacks import Callbacks
    from jobs.engine.tokenizer import gpt2_tokenizer

    def read():
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                yield format_segments("text", json.loads(line))

    class StopAfter(Callbacks):
        step = 0

        def on_step(self, progress):
            self.step = progress["step"]

        def should_stop(self):
            return "bench done" if self.step >= steps else None

    tokenizer = gpt2_tokenizer()
    examples = data.Examples(read=read, key="bench")
    before = current_rss()
    start = time.perf_counter()
    store, cached = data.load_or_tokenise(examples, tokenizer, kind="text", cache_dir=cache_dir)
    seconds = time.perf_counter() - start
    after_tokenising = peak_rss()
    cfg = loop.TrainConfig(
        model_config=TINY,
        max_seq_length=256,
        batch_size=8,
        eval_steps=0,
        save_steps=0,
        output_dir=tempfile.mkdtemp(),
        data_cache_dir=cache_dir,
        device="cpu",
    )
    result = loop.train(cfg, examples, callbacks=StopAfter())
    store_bytes = sum(f.stat().st_size for f in Path(cache_dir).rglob("*") if f.is_file())
    print(
        json.dumps(
            {
                "examples": len(store),
                "tokens": store.num_tokens,
                "cached": cached,
                "tokenise_seconds": seconds,
                "tokens_per_second": store.num_tokens / seconds,
                "store_bytes_per_token": store_bytes / store.num_tokens,
                "rss_before": before,
                "peak_rss_tokenising": after_tokenising,
                "peak_rss": peak_rss(),
                "steps": result.step,
                "train_tokens_per_second": result.tokens_per_second,
            }
        ),
        flush=True,
    )


def summary(name, values, fmt):
    median = statistics.median(values)
    return f"{name} median {fmt(median)} [{fmt(min(values))}–{fmt(max(values))}]"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--one-run", nargs=2, metavar=("FILE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        one_run(*args.one_run, args.steps)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-tokenise-"))
    path = folder / "data.jsonl"
    start = time.perf_counter()
    generate(path, args.mb)
    size = path.stat().st_size
    print(
        f"generated {size / 1e6:,.0f} MB in {time.perf_counter() - start:.0f} s; cpus "
        f"{len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    runs = []
    for i in range(args.runs):
        cache = tempfile.mkdtemp(dir=folder)  # a fresh cache: every run tokenises
        out = subprocess.run(
            [sys.executable, __file__, "--one-run", str(path), cache, "--steps", str(args.steps)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        run = json.loads(out.strip().splitlines()[-1])
        runs.append(run)
        print(
            f"run {i + 1}: {run['examples']:,} examples, {run['tokens']:,} tokens in "
            f"{run['tokenise_seconds']:.0f} s = {run['tokens_per_second']:,.0f} tokens/s; store "
            f"{run['store_bytes_per_token']:.2f} bytes/token; "
            f"RSS before {run['rss_before'] / 2**20:,.0f} MiB, "
            f"peak while tokenising {run['peak_rss_tokenising'] / 2**20:,.0f} MiB, peak with "
            f"{run['steps']} training steps {run['peak_rss'] / 2**20:,.0f} MiB; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    mib = lambda v: f"{v / 2**20:,.0f} MiB"  # noqa: E731
    print(summary("tokenising tokens/s", [r["tokens_per_second"] for r in runs], "{:,.0f}".format))
    print(summary("peak RSS while tokenising", [r["peak_rss_tokenising"] for r in runs], mib))
    grew = [r["peak_rss_tokenising"] - r["rss_before"] for r in runs]
    print(summary("  of which tokenising added", grew, mib))
    per_token = [g / r["tokens"] for g, r in zip(grew, runs, strict=True)]
    print(summary("  that is, bytes per token", per_token, "{:.2f}".format))
    print(summary("peak RSS with training", [r["peak_rss"] for r in runs], mib))


if __name__ == "__main__":
    main()
