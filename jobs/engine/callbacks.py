"""The hooks between the training loop and whoever runs it.

The engine calls these and nothing else; the platform (JobCallbacks in
jobs/training/recording.py) turns them into database rows, a benchmark or a test overrides the
ones it needs. Every method is a no-op here.
"""

from typing import Any


class Callbacks:
    def on_start(self, info: dict[str, Any]) -> None:
        """Once, before the first step. info: total_steps, start_step, device, num_threads,
        train_rows, eval_rows, tokens_per_epoch, resumed_from (a step or None), warnings."""

    def on_tokenise(self, progress: dict[str, Any]) -> None:
        """While the data is tokenised, after each chunk: split ("training", "validation"),
        done and total examples (total None when unknown); once more at the end of each split
        with end=True and cached (whether the tokens came from the cache)."""

    def on_step(self, progress: dict[str, Any]) -> None:
        """After every optimizer step: step, total_steps, epoch, tokens_seen, elapsed_seconds.

        Called often: anything slow here slows training."""

    def on_log(self, metrics: dict[str, Any]) -> None:
        """Every log interval: step, epoch, train_loss, train_accuracy, learning_rate,
        grad_norm and tokens_per_second."""

    def on_evaluate(
        self,
        step: int,
        eval_loss: float | None,
        epoch: float,
        metrics: dict[str, float | None] | None = None,
    ) -> None:
        """After each evaluation on the validation rows, at `step` (`epoch` epochs done).
        metrics: eval_accuracy and eval_perplexity."""

    def on_checkpoint(self, step: int, path: str, size_bytes: int, eval_loss: float | None) -> None:
        """A complete checkpoint now exists at path (renamed into place)."""

    def on_checkpoint_removed(self, step: int, path: str) -> None:
        """An old checkpoint was deleted to respect the limit on how many are kept."""

    def on_warning(self, message: str) -> None:
        """Something the user should know that does not stop training."""

    def should_stop(self) -> str | None:
        """Return a reason (str) to stop after the current step, or None to go on."""
        return None
