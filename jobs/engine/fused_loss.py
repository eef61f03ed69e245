"""The language-model head and its cross-entropy in one pass, a chunk of tokens at a time.

A GPT-2's training step on a CPU spends much of its time on the vocabulary: the head writes
batch × T × 50,257 logits, the loss copies them to fp32, takes their log-softmax and writes the
gradient of each, every pass a walk through memory far larger than the caches. Here the logits
of a few hundred tokens at a time are made, turned into loss, accuracy and gradients while they
are still in cache, and dropped; only labelled positions are computed at all (a prompt's tokens
never reach the head). The gradients of the hidden states and of the head's weight are computed
in the forward pass and scaled in the backward one. The loss is the same mean over labelled
tokens as transformers' ForCausalLM loss, in fp32.

The three matmuls (logits, the hidden states' gradient, the weight's gradient) run in the
autocast dtype when one is active, as autocast would run the head: bf16 operands and results,
with the softmax, the loss and the sums of the gradients in fp32. On a CPU with bf16
instructions (AVX512-BF16, AMX) they are about three times faster than in fp32. Each chunk
reuses the same buffers: a fresh 50 MB tensor costs more in page faults than the softmax over it.

Used on CPU, uncompiled, for GPT-2-architecture models (engine.TrainConfig.fused_loss), in
training steps and evaluations alike.
No Django here.
"""

from typing import TYPE_CHECKING, Any

import torch
from torch.autograd.function import FunctionCtx

from jobs.engine.config import LanguageModel
from jobs.engine.constants import (
    FUSED_LOSS_CHUNK_TOKENS as CHUNK_TOKENS,  # 256 × 50,257 fp32: 51 MB
)

if TYPE_CHECKING:
    from jobs.engine.config import TrainConfig

IGNORE_INDEX = -100


def supports(model: LanguageModel) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base.config, "model_type", "") == "gpt2" and hasattr(base, "lm_head")


def loss_and_hits(
    model: LanguageModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    labels: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean loss over labelled tokens, [correct, predicted]) for a batch, with gradients that
    flow through the transformer and the head's weight when backward() is called (with
    gradients disabled, as in evaluation, none are computed). A token is correct when it is
    the model's top choice (argmax: the first of tied logits)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = base.transformer(
        input_ids=input_ids, attention_mask=attention_mask, use_cache=False
    ).last_hidden_state
    targets = labels[:, 1:]
    where = (targets != IGNORE_INDEX).nonzero(as_tuple=True)
    device = hidden.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    with torch.autocast(device, enabled=False):  # the head's casts are explicit
        loss, correct = _HeadCrossEntropy.apply(
            hidden,
            base.lm_head.weight,
            where,
            targets[where],
            dtype or torch.float32,
            torch.is_grad_enabled(),
        )
    hits = torch.stack([correct, torch.tensor(float(len(where[0])))])
    return loss, hits


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        where: tuple[torch.Tensor, ...],
        targets: torch.Tensor,
        dtype: torch.dtype,
        grads: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        count = len(targets)
        picked = hidden[:, :-1][where]  # [labelled tokens, width]
        grad_picked = torch.zeros_like(picked) if grads and hidden.requires_grad else None
        grad_weight = torch.zeros_like(weight) if grads and weight.requires_grad else None
        total, correct = torch.zeros((), dtype=torch.float64), torch.zeros(())
        inputs, matrix = picked.to(dtype), weight.to(dtype)  # the matmuls' operands
        size = (min(CHUNK_TOKENS, count), weight.shape[0])
        fp32: dict[str, Any] = {"dtype": torch.float32, "device": hidden.device}
        # The matmuls' results (logits, then gradients), the logits in fp32, their softmax.
        logits = torch.empty(size, dtype=dtype, device=hidden.device)
        scores = logits if dtype == torch.float32 else torch.empty(size, **fp32)
        probs = torch.empty(size, **fp32)
        for start in range(0, count, CHUNK_TOKENS):
            h = inputs[start : start + CHUNK_TOKENS]
            t = targets[start : start + CHUNK_TOKENS]
            n, rows = len(t), torch.arange(len(t))
            torch.mm(h, matrix.T, out=logits[:n])
            top, choice = logits[:n].max(-1)
            top, picked_logit = top.float(), logits[:n][rows, t].float()
            correct += (choice == t).sum()
            if scores is not logits:
                scores[:n].copy_(logits[:n])
            torch.softmax(scores[:n], -1, out=probs[:n])
            # log-sum-exp = top - log(softmax of the top logit), which is at least 1 / vocabulary.
            log_norm = top - probs[:n][rows, choice].log()
            total += (log_norm - picked_logit).sum(dtype=torch.float64)
            if grad_picked is None and grad_weight is None:
                continue  # evaluation: the loss is all it needs
            # d(loss summed over the chunk)/d(logits) = softmax − one-hot; the mean's 1 / count
            # is applied to the two sums below.
            probs[rows, t] -= 1
            grad = probs[:n]
            if dtype != torch.float32:
                grad = logits[:n].copy_(probs[:n])
            if grad_picked is not None:
                grad_picked[start : start + n] = grad @ matrix
            if grad_weight is not None:
                if dtype == torch.float32:
                    grad_weight.addmm_(grad.T, h)
                else:
                    grad_weight += grad.T @ h
        grad_hidden = None
        if grad_picked is not None:
            grad_hidden = torch.zeros_like(hidden)
            grad_hidden[:, :-1][where] = grad_picked / max(count, 1)
        if grad_weight is not None:
            grad_weight /= max(count, 1)
        # torch documents None as accepted here (and skipped); its stubs ask for Tensors only.
        ctx.save_for_backward(grad_hidden, grad_weight)  # type: ignore[arg-type]
        ctx.mark_non_differentiable(correct)
        loss = (total / max(count, 1)).to(hidden.dtype)
        return loss, correct

    @staticmethod
    def backward(
        ctx: FunctionCtx, grad_loss: torch.Tensor, _grad_correct: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        # Set on the ctx autograd passes to backward; FunctionCtx's stubs do not declare it.
        grad_hidden, grad_weight = ctx.saved_tensors  # type: ignore[attr-defined]
        return (
            None if grad_hidden is None else grad_hidden * grad_loss,
            None if grad_weight is None else grad_weight * grad_loss,
            None,
            None,
            None,
            None,
        )


def wanted(
    cfg: "TrainConfig",
    model: LanguageModel,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    backend: str | None,
) -> bool:
    """Whether the step computes the head and loss in one chunked pass (this module)."""
    value = str(cfg.fused_loss).lower()
    if value in ("0", "false", "no", "off"):
        return False
    plain = amp_dtype in (None, torch.bfloat16)
    if value == "auto" and (device.type != "cpu" or not plain or backend):
        return False
    return supports(model)
