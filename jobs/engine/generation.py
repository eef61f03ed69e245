"""Many prompts at once, for evaluations: batched generation with the key-value cache, and the
log-likelihood of reference answers.

A plain loop over the model rather than `model.generate`: each sequence of a batch stops on its
own (end-of-text or a stop string) while the others go on, finished sequences leave the batch
and its cache, and only ids of the GPT-2 vocabulary are ever picked, even from a model whose
vocabulary was padded (the rule of jobs/playground/sampling.py, which sits above the engine).

Prompts are sorted by length and left-padded, with the attention mask and explicit position
ids: GPT-2 adds a learned embedding per position, so each sequence must start at position 0 on
its first real token, or padding would change what it generates.
"""

import inspect
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from jobs.engine.config import LanguageModel
from jobs.engine.constants import GPT2_VOCAB_SIZE

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Temperatures under this pick the likeliest token (as the playground does): dividing the
# logits by a smaller one overflows to inf and leaves nothing to sample from.
GREEDY_BELOW = 0.01
# reference_loglik holds the logits of at most this many positions at once (x the vocabulary:
# 2048 x 50,304 fp32 logits are 412 MB); a batch of long references gets fewer rows.
LOGIT_POSITIONS = 2048


@dataclass
class GeneratedText:
    text: str  # the new text, cut before a stop string; no end-of-text token
    tokens: int  # new tokens produced, the stopping token included
    finish_reason: str  # "stop" (a stop token or string) or "length"
    seconds: float  # wall time of the batch it was generated in (shared by that batch)
    prompt_tokens: int  # tokens of the prompt the model saw (its end, when it was too long)
    token_ids: list[int] = field(default_factory=list)  # the new tokens


@dataclass
class ReferenceScore:
    logprob: float  # sum of the log-probabilities of the reference tokens, given the prompt
    tokens: int  # reference tokens counted
    mean_logprob: float  # logprob / tokens (nan for an empty reference)
    perplexity: float  # exp(-mean_logprob)


@dataclass
class _Settings:
    max_new_tokens: int
    temperature: float
    top_p: float
    stop: Sequence[str]
    stop_token_ids: frozenset[int]


@torch.no_grad()
def generate_batch(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    prompts: list[str],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop: Sequence[str] = (),
    stop_token_ids: Sequence[int] | None = None,
    device: torch.device | str | None = None,
) -> list[GeneratedText]:
    """One completion per prompt, in the prompts' order.

    1. Tokenise the prompts; one too long for the context keeps its end (the answer gets at
       most max_new_tokens, and at most three quarters of the context).
    2. Sort them by length and cut them into batches of `batch_size`.
    3. Generate each batch (`_generate`): greedy below GREEDY_BELOW, else temperature and top-p
       sampling from a generator seeded with `seed` (the same seed, batch size and device give
       the same texts).

    `stop_token_ids` defaults to the tokenizer's end-of-text token. The model runs in eval mode
    on `device` (its own when None; a model elsewhere is moved there)."""
    device, was_training = _prepare(model, device)
    try:
        ids, max_new = _prompt_ids(model, tokenizer, prompts, max_new_tokens)
        eos = tokenizer.eos_token_id
        settings = _Settings(
            max_new_tokens=max_new,
            temperature=temperature,
            top_p=top_p,
            stop=[s for s in stop if s],
            stop_token_ids=frozenset([eos] if stop_token_ids is None else stop_token_ids),
        )
        generator = _generator(device, seed)
        results: list[GeneratedText | None] = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), max(1, batch_size)):
            batch = order[start : start + max(1, batch_size)]
            texts = _generate(model, tokenizer, [ids[i] for i in batch], settings, generator)
            for index, text in zip(batch, texts, strict=True):
                results[index] = text
        return [r for r in results if r is not None]
    finally:
        model.train(was_training)


def answer_budget(context: int, max_new_tokens: int) -> int:
    """New tokens an answer may have in a context of `context` positions: at most three
    quarters of it, at least one; the prompt keeps its end in what is left (the playground's
    rule too, jobs.playground.sampling)."""
    return max(1, min(max_new_tokens, context - max(1, context // 4)))


def _prompt_ids(
    model: LanguageModel, tokenizer: "PreTrainedTokenizerBase", prompts: list[str], max_new: int
) -> tuple[list[list[int]], int]:
    context = model.config.max_position_embeddings
    max_new = answer_budget(context, max_new)
    keep = context - max_new
    encoded = tokenizer(prompts)["input_ids"] if prompts else []
    # An empty prompt starts from the end-of-text token, as GPT-2 does.
    return [list(ids[-keep:]) or [tokenizer.eos_token_id] for ids in encoded], max_new


def _generate(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    prompts: list[list[int]],
    settings: _Settings,
    generator: torch.Generator,
) -> list[GeneratedText]:
    """One batch. Each step feeds the live sequences' last tokens; a sequence that finishes
    leaves the batch, its cache rows with it."""
    started = time.perf_counter()
    device = generator.device
    ids, mask, positions = _left_padded(prompts, tokenizer.eos_token_id, device)
    width = ids.shape[1]
    # The whole mask at once: each step only widens the view by one column.
    mask = torch.cat([mask, mask.new_ones(len(prompts), settings.max_new_tokens)], dim=1)
    cache_key = _cache_keyword(model)
    # use_cache on each call: the engine builds its models with config.use_cache off.
    out = model(
        input_ids=ids,
        attention_mask=mask[:, :width],
        position_ids=positions,
        logits_to_keep=1,
        use_cache=True,
    )
    cache, positions = out[cache_key], positions[:, -1:]
    rows = [_Row() for _ in prompts]
    live = list(range(len(prompts)))  # indices into rows of the sequences still running
    for step in range(settings.max_new_tokens):
        picked = _pick(out.logits[:, -1], settings.temperature, settings.top_p, generator)
        tokens = picked.tolist()  # the step's one wait for the device
        keep = [
            k for k, token in enumerate(tokens) if rows[live[k]].add(token, settings, tokenizer)
        ]
        if not keep or step == settings.max_new_tokens - 1:
            break
        if len(keep) < len(live):
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, positions, picked = mask[index], positions[index], picked[index]
            live = [live[k] for k in keep]
        positions = positions + 1
        out = model(
            input_ids=picked[:, None],
            attention_mask=mask[:, : width + step + 1],
            position_ids=positions,
            use_cache=True,
            **{cache_key: cache},
        )
    seconds = time.perf_counter() - started
    return [
        row.result(tokenizer, settings, seconds, len(prompt))
        for row, prompt in zip(rows, prompts, strict=True)
    ]


class _Row:
    """One sequence's new tokens and, once it has finished, why and its text."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.finish: str | None = None
        self.text = ""

    def add(self, token: int, settings: _Settings, tokenizer: "PreTrainedTokenizerBase") -> bool:
        """Take the next token; False when the sequence has finished."""
        self.ids.append(token)
        if token in settings.stop_token_ids:
            self.finish, self.text = (
                "stop",
                _decode(tokenizer, self.ids[:-1]),
            )
            return False
        if settings.stop:  # decoding every step costs time: only when there is a string to find
            self.text = _decode(tokenizer, self.ids)
            cut = _first_stop(self.text, settings.stop)
            if cut is not None:
                self.finish, self.text = "stop", self.text[:cut]
                return False
        return len(self.ids) < settings.max_new_tokens

    def result(
        self,
        tokenizer: "PreTrainedTokenizerBase",
        settings: _Settings,
        seconds: float,
        prompt_tokens: int,
    ) -> GeneratedText:
        if self.finish is None and not settings.stop:
            self.text = _decode(tokenizer, self.ids)
        return GeneratedText(
            text=self.text,
            tokens=len(self.ids),
            finish_reason=self.finish or "length",
            seconds=seconds,
            prompt_tokens=prompt_tokens,
            token_ids=self.ids,
        )


def _decode(tokenizer: "PreTrainedTokenizerBase", ids: list[int]) -> str:
    # The end-of-text token is never part of a text; a list of ids decodes to one string.
    return str(tokenizer.decode(ids, skip_special_tokens=True))


def _first_stop(text: str, stop: Sequence[str]) -> int | None:
    found = [text.find(s) for s in stop if s in text]
    return min(found) if found else None


def _pick(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """The next token of each row, from its last logits (rows x vocabulary)."""
    # Only GPT-2's own ids: a padded vocabulary's extra rows are not tokens.
    logits = logits[:, : min(logits.shape[-1], GPT2_VOCAB_SIZE)].float()
    if temperature < GREEDY_BELOW:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p >= 1:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    # Keep the smallest set of likeliest tokens whose mass reaches top_p (at least one).
    sorted_probs = sorted_probs * ((torch.cumsum(sorted_probs, dim=-1) - sorted_probs) < top_p)
    choice = torch.multinomial(sorted_probs, 1, generator=generator)
    return order.gather(-1, choice).squeeze(-1)


@torch.no_grad()
def reference_loglik(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    prompts: list[str],
    references: list[str],
    *,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> list[ReferenceScore]:
    """How likely the model finds each reference as the continuation of its prompt.

    1. Tokenise prompts and references apart (as training does a prompt and its completion);
       an empty prompt becomes the end-of-text token; a pair too long for the context loses
       the start of its prompt, and then the end of its reference.
    2. Sort the pairs by length and left-pad them in batches: the references end on the right
       edge together, so the model computes the logits of those positions only (at most
       LOGIT_POSITIONS of them per batch).
    3. Sum the log-softmax (over the model's whole vocabulary, as the eval loss does) of each
       reference token given everything before it; prompt tokens are never counted."""
    if len(prompts) != len(references):
        raise ValueError("reference_loglik needs one reference per prompt")
    device, was_training = _prepare(model, device)
    try:
        pairs = _pair_ids(model, tokenizer, prompts, references)
        scores: list[tuple[float, int]] = [(0.0, 0)] * len(pairs)
        for batch in _score_batches(pairs, batch_size):
            sums = _score(model, [pairs[i] for i in batch], tokenizer.eos_token_id, device)
            for index, total in zip(batch, sums, strict=True):
                scores[index] = (total, len(pairs[index][1]))
        return [_reference_score(total, count) for total, count in scores]
    finally:
        model.train(was_training)


def _pair_ids(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    prompts: list[str],
    references: list[str],
) -> list[tuple[list[int], list[int]]]:
    context = model.config.max_position_embeddings
    prompt_ids = tokenizer(prompts)["input_ids"] if prompts else []
    reference_ids = tokenizer(references)["input_ids"] if references else []
    pairs = []
    for prompt, reference in zip(prompt_ids, reference_ids, strict=True):
        reference = list(reference[: context - 1])
        prompt = list(prompt[max(0, len(prompt) + len(reference) - context) :])
        pairs.append((prompt or [tokenizer.eos_token_id], reference))
    return pairs


def _score_batches(pairs: list[tuple[list[int], list[int]]], batch_size: int) -> list[list[int]]:
    """Indices of the pairs with a reference, by length, in batches of at most `batch_size`
    whose kept logits fit LOGIT_POSITIONS."""
    order = sorted(
        (i for i, (_, ref) in enumerate(pairs) if ref), key=lambda i: sum(map(len, pairs[i]))
    )
    batches: list[list[int]] = []
    widest = 0
    for index in order:
        widest_with = max(widest, len(pairs[index][1]) + 1)
        batch = batches[-1] if batches else []
        if (
            not batch
            or len(batch) >= batch_size
            or (len(batch) + 1) * widest_with > LOGIT_POSITIONS
        ):
            batches.append([index])
            widest = len(pairs[index][1]) + 1
        else:
            batch.append(index)
            widest = widest_with
    return batches


def _score(
    model: LanguageModel,
    pairs: list[tuple[list[int], list[int]]],
    pad_id: int,
    device: torch.device,
) -> list[float]:
    """The summed log-probability of each pair's reference tokens."""
    ids, mask, positions = _left_padded([p + r for p, r in pairs], pad_id, device)
    longest = max(len(r) for _, r in pairs)
    # The logits at position t predict the token at t + 1: keep one more than the references.
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        logits_to_keep=longest + 1,
        use_cache=False,
    )
    logits = out.logits[:, :-1].float()
    targets = ids[:, -longest:]
    picked = logits.gather(-1, targets[..., None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    lengths = torch.tensor([len(r) for _, r in pairs], device=device)
    counted = torch.arange(longest, device=device)[None, :] >= (longest - lengths)[:, None]
    # where, not a product: a padding position's logit may be anything, nan included.
    return torch.where(counted, picked, 0.0).sum(dim=-1).tolist()


def _reference_score(total: float, count: int) -> ReferenceScore:
    mean = total / count if count else math.nan
    return ReferenceScore(
        logprob=total, tokens=count, mean_logprob=mean, perplexity=math.exp(-mean)
    )


def _left_padded(
    sequences: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input ids, attention mask, position ids) of sequences padded on the left: each
    sequence's first real token is at position 0."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, width - len(sequence) :] = torch.tensor(sequence, dtype=torch.long)
        mask[row, width - len(sequence) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _prepare(model: LanguageModel, device: torch.device | str | None) -> tuple[torch.device, bool]:
    """(the device to run on, whether the model was training): the model in eval mode there."""
    was_training = bool(model.training)
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    if next(model.parameters()).device != device:
        model.to(device)
    model.eval()
    return device, was_training


def _generator(device: torch.device, seed: int | None) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _cache_keyword(model: LanguageModel) -> str:
    # transformers 5 renamed the key-value cache from past_key_values to cache; a LoRA model
    # (peft) takes any keyword, so ask the model it wraps.
    inner: Any = model.get_base_model() if hasattr(model, "get_base_model") else model
    parameters = inspect.signature(inner.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"
