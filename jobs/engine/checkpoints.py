"""Checkpoints: everything needed to continue a run exactly. No Django here.

A checkpoint is a folder step-NNNNNNNN holding the trainable weights (safetensors), the
optimizer, the scheduler, the gradient scaler, the random state and the loop's counters
(state.json). It is written under a hidden temporary name and renamed, so a folder named
step-N is always complete, even when the process was killed while writing.
"""

import json
import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from jobs.engine.config import LanguageModel

if TYPE_CHECKING:
    from jobs.engine.config import RunState


def save_checkpoint(
    checkpoints: Path,
    model: LanguageModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    state: "RunState",
) -> tuple[Path, int]:
    """Write into a hidden temporary folder, then rename: a folder named step-N is complete."""
    final = checkpoints / f"step-{state.step:08d}"
    tmp = checkpoints / f".tmp-step-{state.step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }
    save_file(trainable, tmp / "weights.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(
        {"scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": _rng_state()},
        tmp / "trainer.pt",
    )
    counters = {**state.__dict__, "vocab_size": model.config.vocab_size}
    (tmp / "state.json").write_text(json.dumps(counters))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return final, sum(f.stat().st_size for f in final.iterdir())


def complete_checkpoints(checkpoints: Path) -> list[Path]:
    """Complete checkpoint folders, oldest first."""
    if not checkpoints.is_dir():
        return []
    found = [
        p
        for p in checkpoints.iterdir()
        if p.name.startswith("step-") and (p / "state.json").exists()
    ]
    return sorted(found, key=lambda p: int(p.name.removeprefix("step-")))


def prune_checkpoints(
    checkpoints: Path, *, keep: int, protect: int | None = None
) -> list[tuple[int, Path]]:
    """Delete the oldest complete checkpoints beyond `keep`, never the one at step `protect`
    (the best so far); returns [(step, path)] removed."""
    removed = []
    existing = complete_checkpoints(checkpoints)
    for path in existing[: max(0, len(existing) - keep)]:
        if protect is not None and path.name == f"step-{protect:08d}":
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append((int(path.name.removeprefix("step-")), path))
    return removed


def saved_vocab_size(checkpoints: Path, default: int) -> int | None:
    """The vocabulary the newest checkpoint was trained with, so a resumed run rebuilds the
    same shapes. Checkpoints written before built-in models padded their vocabulary name none:
    they were trained with the tokenizer's own size, `default`."""
    existing = complete_checkpoints(checkpoints)
    if not existing:
        return None
    return json.loads((existing[-1] / "state.json").read_text()).get("vocab_size", default)


def resume(
    checkpoints: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    state: "RunState",
    device: torch.device,
) -> int | None:
    """Load the newest complete checkpoint, if any, into everything; returns its step or None."""
    for leftover in checkpoints.glob(".tmp-*") if checkpoints.is_dir() else []:
        shutil.rmtree(leftover, ignore_errors=True)  # a run killed while writing
    existing = complete_checkpoints(checkpoints)
    if not existing:
        return None
    path = existing[-1]
    load_weights(path, model)
    optimizer.load_state_dict(
        torch.load(path / "optimizer.pt", map_location=device, weights_only=True)
    )
    extra = torch.load(path / "trainer.pt", weights_only=True)
    scheduler.load_state_dict(extra["scheduler"])
    scaler.load_state_dict(extra["scaler"])
    _set_rng_state(extra["rng"])
    counters = json.loads((path / "state.json").read_text())
    counters.pop("vocab_size", None)
    state.__dict__.update(counters)
    return state.step


def load_weights(folder: Path, model: torch.nn.Module) -> None:
    """Copy a checkpoint's trainable weights into `model` (the best ones, before export)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in load_file(folder / "weights.safetensors").items():
            params[name].copy_(tensor)


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
