"""Loss, token accuracy and perplexity: of one batch (for the step) and over validation rows."""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from jobs.engine import data, fused_loss
from jobs.engine.config import LanguageModel
from jobs.engine.device import autocast

if TYPE_CHECKING:
    from jobs.engine.config import TrainConfig


def loss_and_hits(
    model: LanguageModel,
    forward: Callable[..., Any],
    fused: bool,
    input_ids: torch.Tensor,
    mask: torch.Tensor | None,
    labels: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's mean loss and its [correct, predicted] token counts."""
    if fused:
        return fused_loss.loss_and_hits(model, input_ids, mask, labels)
    out = forward(input_ids=input_ids, attention_mask=mask, labels=labels, use_cache=False)
    return out.loss, token_hits(out.logits, labels)


@torch.no_grad()
def token_hits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[correct, predicted]: how many labelled tokens the model's top choice got right, and how
    many labelled tokens there were (token i is predicted from the logits at i - 1)."""
    target = labels[:, 1:]
    counted = target != data.IGNORE_INDEX
    correct = (logits[:, :-1].argmax(-1) == target) & counted
    return torch.stack([correct.sum(), counted.sum()]).float()


@torch.no_grad()
def evaluate(
    model: LanguageModel,
    rows: data.Rows,
    cfg: "TrainConfig",
    device: torch.device,
    amp_dtype: torch.dtype | None,
    *,
    max_rows: int | None = None,
    fused: bool = False,
) -> dict[str, float | None]:
    """eval_loss (mean per predicted token), eval_accuracy and eval_perplexity over the first
    `max_rows` validation rows, or all of them (uncompiled: no recompiles)."""
    model.eval()
    total, hits = 0.0, torch.zeros(2, device=device)
    for index in data.batches(rows, batch_size=cfg.batch_size, shuffle=False, limit=max_rows):
        input_ids, labels, mask, _ = data.collate(rows, index, device)
        with autocast(device, amp_dtype):
            loss, batch_hits = loss_and_hits(model, model, fused, input_ids, mask, labels)
        total += float(loss) * float(batch_hits[1])
        hits += batch_hits
    model.train()
    correct, count = (float(v) for v in hits)
    if not count:
        return {"eval_loss": None, "eval_accuracy": None, "eval_perplexity": None}
    mean = total / count
    return {
        "eval_loss": mean,
        "eval_accuracy": correct / count,
        "eval_perplexity": math.exp(mean) if mean < 700 else None,  # beyond: a float overflows
    }
