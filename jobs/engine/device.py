"""Where and how fast the engine runs: device, precision, compilation, CPU threads, and the
figures measured about the device (peak memory, model FLOPs utilisation). No Django here."""

import os
import resource
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

import torch

from jobs.engine import cpu_features
from jobs.engine.constants import peak_bf16_flops

if TYPE_CHECKING:
    from jobs.engine.config import TrainConfig
    from jobs.engine.data import Batch


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def pick_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32. "auto" is bf16 on a GPU that supports it
    (fp16 on an older one) and on a CPU with bf16 instructions (cpu_features), fp32 otherwise."""
    precision = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(precision, precision)
    if precision == "auto":
        if device.type == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "bf16" if cpu_features.has_bf16() else "fp32"
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def autocast(
    device: torch.device, amp_dtype: torch.dtype | None
) -> torch.autocast | nullcontext[None]:
    return torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext()


def compile_backend(cfg: "TrainConfig", device: torch.device) -> str | None:
    """The torch.compile backend to use, or None not to compile.

    cfg.compile is "auto" (compile on CUDA only: on a CPU compiling costs more than it saves),
    a yes/no word, or a backend name ("inductor", "aot_eager")."""
    value = str(cfg.compile).lower()
    if value == "auto":
        return "inductor" if device.type == "cuda" else None
    if value in ("0", "false", "no", "off", ""):
        return None
    return "inductor" if value in ("1", "true", "yes", "on") else value


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def peak_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def model_flops_utilisation(
    tokens_per_second: float, flops_per_token: float, name: str
) -> float | None:
    """Share of the device's dense bf16 peak the model's own FLOPs use, or None when the
    device is not in the table of peaks (a CPU, an unknown GPU)."""
    peak = peak_bf16_flops(name)
    if not peak or not tokens_per_second:
        return None
    return tokens_per_second * flops_per_token / peak


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


THREAD_ROUNDS = 3  # timed steps per candidate thread count, alternated
THREAD_MARGIN = 0.9  # more threads must take at most this share of one thread's time
SLOW_STEP_S = 10.0  # a step this slow decides after one round: measuring more costs too much


def choose_num_threads(cfg: "TrainConfig", step: Callable[["Batch"], None], batch: "Batch") -> int:
    """The CPU thread count for this run: cfg.num_threads, or measured on the run's own step.

    `step(batch)` is one forward and backward pass of the real training step on a real batch
    (the first of the first epoch: the run's batch size, width and precision). 1 thread and
    all of them are timed in turns, a warm-up each then THREAD_ROUNDS rounds, compared by median;
    more threads win only when clearly faster (THREAD_MARGIN), so that noise from other
    processes does not flip the choice from run to run. Small models on small machines often
    run faster on one thread: the work per operation is too small to pay for splitting it.
    Random state is left untouched; the caller clears the gradients."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
        return cfg.num_threads
    candidates = sorted({1, available_cpus()})
    if len(candidates) == 1:
        torch.set_num_threads(1)
        return 1
    timings: dict[int, list[float]] = {n: [] for n in candidates}
    with torch.random.fork_rng(devices=[]):
        for n in candidates:  # warm-up: allocators, kernels, the threads' pool
            torch.set_num_threads(n)
            step(batch)
        for _ in range(THREAD_ROUNDS):
            for n in candidates:
                torch.set_num_threads(n)
                start = time.perf_counter()
                step(batch)
                timings[n].append(time.perf_counter() - start)
            if max(t[-1] for t in timings.values()) > SLOW_STEP_S:
                break
    median = {n: sorted(t)[len(t) // 2] for n, t in timings.items()}
    many = candidates[-1]
    best = many if median[many] <= THREAD_MARGIN * median[1] else 1
    torch.set_num_threads(best)
    return best
