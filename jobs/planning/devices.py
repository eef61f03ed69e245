"""The kinds of worker a job can run on: how fast and how large each is.

Estimates (estimates.py) price a job's work with these figures, and auto-configuration (rules.py)
sizes batches to the device's memory and picks the precision it supports. A kind that is not
listed (a new GPU) gets the figures of its family: "cpu", else CUDA.

Never initialise CUDA here: this runs in the web process, and forked workers must not inherit it.
"""

import sys
from typing import Any

import psutil
from django.conf import settings

from jobs.engine import cpu_features  # no torch: /proc/cpuinfo

# Sustained FLOP/s = peak × width / (width + width_half): narrow models spend their time in
# overheads, not matmuls. "peak" is what the loop reaches on wide models (fp32 on CPU, bf16
# with compile on CUDA, about 35% of the datasheet). CPU figures are fitted to the engine's
# fp32 loop timed on two idle cores here with two threads, batch 8 x 128 tokens, built-in
# models (padded vocabulary): 98 GFLOP/s for the 64-wide built-in, 127 for the 256-wide (the
# chunked head reusing its buffers; before it, 45 and 94). A busy machine is slower.
_CUDA: dict[str, Any] = {
    "peak_flops": 0.35 * 989e12,
    "width_half": 768,
    "memory_bytes": 80e9,
    "reserve_bytes": 1e9,
    "bf16": True,
    "supports": {"fp32": True, "bf16": True, "fp16": True},
    "batch": 16,
    "bandwidth": 2e12,
    "disk": 1e9,
    "step_seconds": 0.005,
    "optimizer_bytes": 40,
    "batch_seconds": 0.003,
    "batch_seconds_per_parameter": 0.0,
    "setup_seconds": 60.0,
    "startup_seconds": 40.0,
}
DEVICE_PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {
        "peak_flops": 141e9,
        "width_half": 28,
        "memory_bytes": None,
        "reserve_bytes": 0,
        # bf16 where the CPU has bf16 instructions (device_profile asks cpu_features, on this
        # machine, or CPU_BF16 says): elsewhere it is emulated, slower than fp32, and refused.
        "bf16": False,
        "supports": {"fp32": True, "bf16": False, "fp16": False},
        "batch": 8,
        # Overheads measured with one thread here, fwd+bwd and AdamW timed apart at several
        # batch shapes: a batch costs ~3 ms + 2 ns per parameter beyond its tokens (7 ms for
        # builtin-tiny, 34 ms for builtin-small); an AdamW step with clipping 6 ms and 21 ms
        # (~1.3 ns per parameter: 40 bytes at 30 GB/s, plus step_seconds).
        "bandwidth": 30e9,
        "disk": 0.5e9,
        "step_seconds": 0.002,
        "optimizer_bytes": 40,
        "batch_seconds": 0.003,
        "batch_seconds_per_parameter": 2e-9,
        # Outside the loop (process start, loading, tokenising, export, samples): 4.6-5.5 s
        # measured for builtin-tiny jobs; bigger models take longer, then history takes over.
        "setup_seconds": 6.0,
        "startup_seconds": 0.0,
    },
    "cuda": _CUDA,
    "h100": _CUDA,
    "h200": {**_CUDA, "memory_bytes": 141e9},
    "a100": {**_CUDA, "peak_flops": 0.35 * 312e12},
    "l4": {**_CUDA, "peak_flops": 0.35 * 121e12, "memory_bytes": 24e9},
    "t4": {
        **_CUDA,
        "peak_flops": 0.35 * 65e12,
        "memory_bytes": 16e9,
        "bf16": False,
        "supports": {"fp32": True, "bf16": False, "fp16": True},
    },
}
# Speed of a precision relative to the profile's peak (fp32 on CUDA runs as TF32). CPU bf16:
# the engine's loop (bf16 autocast, chunked head in bf16) against fp32 on two cores with
# AVX512-BF16 here, batch 8 x 128: 1.22x for builtin-tiny, 1.40x for builtin-small (their
# padded vocabulary of 50,304 suits fp32 too; with GPT-2's 50,257 the gain is 1.5x).
PRECISION_SPEED = {
    "cpu": {"fp32": 1.0, "bf16": 1.3, "fp16": 1.0},
    "cuda": {"fp32": 0.5, "bf16": 1.0, "fp16": 1.0},
}


def device_family(kind: str) -> str:
    """ "cpu" or "cuda": the family whose figures a kind of worker shares."""
    return "cpu" if kind == "cpu" else "cuda"


def device_profile(kind: str | None = None) -> dict[str, Any]:
    """The profile of a kind of worker, with its device memory in bytes resolved."""
    kind = kind or settings.WORKER_KIND
    profile = dict(DEVICE_PROFILES.get(kind) or DEVICE_PROFILES[device_family(kind)])
    profile["kind"] = kind
    profile["family"] = device_family(kind)
    if profile["family"] == "cpu" and cpu_features.has_bf16():
        profile["bf16"] = True
        profile["supports"] = {**profile["supports"], "bf16": True}
    profile["memory_bytes"] = _device_memory(profile)
    return profile


def _device_memory(profile: dict[str, Any]) -> int:
    configured = getattr(settings, "WORKER_DEVICE_MEMORY_MB", 0)
    if configured:
        return int(configured * 1024 * 1024)
    if profile["family"] == "cpu":
        return int(psutil.virtual_memory().available)
    torch = sys.modules.get("torch")  # only ask CUDA if this process already set it up
    if torch is not None and torch.cuda.is_initialized():
        return int(torch.cuda.mem_get_info()[1])
    return int(profile["memory_bytes"])
