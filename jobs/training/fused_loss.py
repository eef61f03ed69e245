"""The language-model head and its cross-entropy in one pass, a chunk of tokens at a time.

A GPT-2's training step on a CPU spends much of its time on the vocabulary: the head writes
batch × T × 50,257 logits, the loss copies them to fp32, takes their log-softmax and writes the
gradient of each, every pass a walk through memory far larger than the caches. Here the logits
of a few hundred tokens at a time are made, turned into loss, accuracy and gradients while they
are still in cache, and dropped; only labelled positions are computed at all (a prompt's tokens
never reach the head). The gradients of the hidden states and of the head's weight are computed
in the forward pass and scaled in the backward one. The loss is the same mean over labelled
tokens as transformers' ForCausalLM loss, in fp32.

Used on CPU, in fp32, uncompiled, for GPT-2-architecture models (engine.TrainConfig.fused_loss),
in training steps and evaluations alike.
No Django here.
"""

import torch

from jobs.constants import FUSED_LOSS_CHUNK_TOKENS as CHUNK_TOKENS  # 256 × 50,257 fp32: 51 MB

IGNORE_INDEX = -100


def supports(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base.config, "model_type", "") == "gpt2" and hasattr(base, "lm_head")


def loss_and_hits(model, input_ids, attention_mask, labels):
    """(mean loss over labelled tokens, [correct, predicted]) for a batch, with gradients that
    flow through the transformer and the head's weight when backward() is called."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = base.transformer(
        input_ids=input_ids, attention_mask=attention_mask, use_cache=False
    ).last_hidden_state
    targets = labels[:, 1:]
    where = (targets != IGNORE_INDEX).nonzero(as_tuple=True)
    loss, correct = _HeadCrossEntropy.apply(hidden, base.lm_head.weight, where, targets[where])
    hits = torch.stack([correct, torch.tensor(float(len(where[0])))])
    return loss, hits


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, where, targets):
        count = len(targets)
        picked = hidden[:, :-1][where]  # [labelled tokens, width]
        grad_picked = torch.zeros_like(picked) if hidden.requires_grad else None
        grad_weight = torch.zeros_like(weight) if weight.requires_grad else None
        total, correct = torch.zeros((), dtype=torch.float64), torch.zeros(())
        for start in range(0, count, CHUNK_TOKENS):
            h = picked[start : start + CHUNK_TOKENS]
            t = targets[start : start + CHUNK_TOKENS]
            rows = torch.arange(len(t))
            logits = h.float() @ weight.float().T
            correct += (logits.argmax(-1) == t).sum()
            lse = torch.logsumexp(logits, dim=-1)
            total += (lse - logits[rows, t]).sum(dtype=torch.float64)
            # d(mean loss)/d(logits) = (softmax − one-hot) / count, made in place.
            probs = logits.sub_(lse[:, None]).exp_()
            probs[rows, t] -= 1
            probs /= count
            if grad_picked is not None:
                grad_picked[start : start + CHUNK_TOKENS] = probs @ weight
            if grad_weight is not None:
                grad_weight.addmm_(probs.T, h)
        grad_hidden = None
        if grad_picked is not None:
            grad_hidden = torch.zeros_like(hidden)
            grad_hidden[:, :-1][where] = grad_picked
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.mark_non_differentiable(correct)
        loss = (total / max(count, 1)).to(hidden.dtype)
        return loss, correct

    @staticmethod
    def backward(ctx, grad_loss, _grad_correct):
        grad_hidden, grad_weight = ctx.saved_tensors
        return (
            None if grad_hidden is None else grad_hidden * grad_loss,
            None if grad_weight is None else grad_weight * grad_loss,
            None,
            None,
        )
