"""Sampling a causal language model one token at a time, for the playground and the
OpenAI-compatible API alike: text arrives in pieces as it is produced (streaming), stop strings
end a choice, a seed makes sampling repeatable, and token counts are exact.

A plain loop over the model with its key-value cache rather than `model.generate`: it needs no
streamer thread, checks stop strings on the decoded text, and only ever picks ids of the GPT-2
vocabulary, even from a model whose vocabulary was padded for speed.

Imported only where models run (the inference pool), never by the web process's URLconf.
"""

import inspect
from dataclasses import dataclass

import torch

from jobs.engine.constants import GPT2_VOCAB_SIZE
from jobs.engine.generation import GREEDY_BELOW, answer_budget


@dataclass
class Choice:
    text: str
    finish_reason: str  # "stop" (end of text or a stop string) or "length"
    tokens: int  # tokens the model produced, the end-of-text token included


def prompt_ids(model, tokenizer, prompt, max_tokens):
    """(input ids, max_tokens) that fit the model's context together: the answer gets at most
    three quarters of it, and a long prompt keeps its end."""
    context = model.config.max_position_embeddings
    max_tokens = answer_budget(context, max_tokens)
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"][:, -(context - max_tokens) :]
    if ids.shape[1] == 0:  # an empty prompt starts from the end-of-text token, as GPT-2 does
        ids = torch.tensor([[tokenizer.eos_token_id]])
    return ids, max_tokens


def sample(
    model, tokenizer, input_ids, *, max_tokens, temperature, top_p, stop, generator, on_text=None
):
    """One choice. `on_text(piece)` receives the text as it grows, never a piece a stop string
    could still cut off or half a multi-byte character."""
    eos = tokenizer.eos_token_id
    hold = max((len(s) for s in stop), default=1) - 1
    produced, text, sent, finish = [], "", 0, "length"
    ids, past, cache_arg = input_ids, None, _cache_argument(model)
    with torch.inference_mode():
        for _ in range(max_tokens):
            out = model(input_ids=ids, use_cache=True, **{cache_arg: past})
            past = getattr(out, cache_arg)
            token = _pick(out.logits[0, -1], temperature, top_p, generator)
            produced.append(token)
            if token == eos:
                finish = "stop"
                break
            text = tokenizer.decode(produced, skip_special_tokens=True)
            cut = _first_stop(text, stop)
            if cut is not None:
                text, finish = text[:cut], "stop"
                break
            ids = torch.tensor([[token]])
            ready = len(text) - hold - (1 if text.endswith("\ufffd") else 0)
            if on_text and ready > sent:
                on_text(text[sent:ready])
                sent = ready
    if on_text and len(text) > sent:
        on_text(text[sent:])
    return Choice(text=text, finish_reason=finish, tokens=len(produced))


def _cache_argument(model):
    # transformers 5 renamed the key-value cache from past_key_values to cache.
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _pick(logits, temperature, top_p, generator):
    # Only GPT-2's own ids: a padded vocabulary's extra rows are not tokens.
    logits = logits[: min(logits.shape[0], GPT2_VOCAB_SIZE)].float()
    if temperature < GREEDY_BELOW:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest set of likeliest tokens whose mass reaches top_p (at least one).
        sorted_probs = sorted_probs * ((torch.cumsum(sorted_probs, 0) - sorted_probs) < top_p)
        return int(order[torch.multinomial(sorted_probs, 1, generator=generator)])
    return int(torch.multinomial(probs, 1, generator=generator))


def _first_stop(text, stop):
    found = [text.find(s) for s in stop if s and s in text]
    return min(found) if found else None


def make_generator(seed):
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
