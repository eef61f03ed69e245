"""The chunked head-and-loss pass gives transformers' loss and gradients (full and LoRA, with
prompt tokens left out of the loss and padded rows), and token counts for accuracy."""

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from jobs.engine import data, evaluation, fused_loss
from jobs.engine.modelling import build_model
from jobs.engine.tokenizer import gpt2_tokenizer
from tests.jobs.engine.test_engine import TINY, config


def batch():
    torch.manual_seed(1)
    ids = torch.randint(0, 50257, (3, 40))
    labels = ids.clone()
    labels[0, :12] = data.IGNORE_INDEX  # a prompt: no loss
    labels[2, 30:] = data.IGNORE_INDEX  # padding
    mask = torch.ones_like(ids)
    mask[2, 30:] = 0
    return ids, labels, mask


def gradients(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk", [256, 16])  # 16: six chunks, the last one partial
@pytest.mark.parametrize("method", ["full", "lora"])
def test_the_fused_pass_matches_transformers_loss_and_gradients(
    tmp_path, monkeypatch, method, chunk
):
    monkeypatch.setattr(fused_loss, "CHUNK_TOKENS", chunk)
    torch.manual_seed(0)
    cfg = config(tmp_path, method=method, lora_r=4, lora_alpha=8)
    model = build_model(cfg, gpt2_tokenizer(), None)
    model.eval()  # no dropout: both passes see the same network
    ids, labels, mask = batch()

    expected = model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)
    expected.loss.backward()
    expected_grads = gradients(model)
    expected_hits = evaluation.token_hits(expected.logits, labels)
    model.zero_grad(set_to_none=True)

    loss, hits = fused_loss.loss_and_hits(model, ids, mask, labels)
    loss.backward()

    assert fused_loss.supports(model)
    assert loss.item() == pytest.approx(expected.loss.item(), rel=1e-6)
    assert hits.tolist() == expected_hits.tolist()
    grads = gradients(model)
    assert grads.keys() == expected_grads.keys()
    for name, grad in grads.items():
        scale = expected_grads[name].abs().max().item() or 1.0
        assert (grad - expected_grads[name]).abs().max().item() <= 1e-5 * scale, name


def test_ties_for_the_top_logit_count_as_argmax_does(tmp_path):
    torch.manual_seed(0)
    model = build_model(config(tmp_path), gpt2_tokenizer(), None)
    model.eval()
    with torch.no_grad():  # every token has the same head row: every logit ties
        model.lm_head.weight[1:] = model.lm_head.weight[0]
    ids, labels, mask = batch()
    labels[1, 20:25] = 0  # five targets are the first of the tied tokens

    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        loss, hits = fused_loss.loss_and_hits(model, ids, mask, labels)

    assert hits.tolist() == evaluation.token_hits(logits, labels).tolist()
    assert hits[0].item() == 5  # argmax picks token 0, not each tied target
    assert loss.item() == pytest.approx(math.log(model.config.vocab_size), rel=1e-5)


def test_another_architecture_keeps_the_plain_loss():
    model = GPT2LMHeadModel(GPT2Config(vocab_size=100, **TINY))
    model.config.model_type = "not-gpt2"
    assert not fused_loss.supports(model)
