"""Early stopping and the best model: which evaluation was the best so far, whether the run
should stop for want of improvement, and which checkpoint holds the best weights. No Django.

The figures live on the loop's state (best_step, best_eval_loss, evals_without_improvement), so
they are saved in every checkpoint and a resumed run goes on counting where it stopped.
"""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.engine.config import RunState, TrainConfig


def track_evaluation(
    state: "RunState", cfg: "TrainConfig", eval_loss: float | None
) -> tuple[bool, bool]:
    """Record an evaluation at state.step; returns (is_new_best, stop_early).

    The best is the lowest eval loss seen. Patience counts the evaluations that did not beat
    the best by at least early_stopping_min_delta; early_stopping_patience of them in a row
    stop the run (0: never)."""
    if eval_loss is None:
        return False, False
    best = state.best_eval_loss
    is_new_best = best is None or eval_loss < best
    counts = best is None or eval_loss < best - cfg.early_stopping_min_delta
    if is_new_best:
        state.best_eval_loss, state.best_step = eval_loss, state.step
    state.evals_without_improvement = 0 if counts else state.evals_without_improvement + 1
    patience = cfg.early_stopping_patience
    return is_new_best, bool(patience) and state.evals_without_improvement >= patience


def wants_best_checkpoint(
    cfg: "TrainConfig", is_new_best: bool, step: int, total_steps: int
) -> bool:
    """A new best before the last step is saved, so that the best weights can be exported."""
    return cfg.exported_model == "best" and is_new_best and step < total_steps


def best_checkpoint_to_export(
    cfg: "TrainConfig", state: "RunState", checkpoints: Path
) -> Path | None:
    """The folder whose weights replace the last ones in the exported model, or None to export
    the weights as they are (the last step was the best, or the user asked for the last)."""
    if cfg.exported_model != "best" or state.best_step in (None, state.step):
        return None
    folder = checkpoints / f"step-{state.best_step:08d}"
    return folder if (folder / "weights.safetensors").exists() else None
