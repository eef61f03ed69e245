"""Batched generation and reference scoring (jobs/engine/generation.py), no Django: tiny random
GPT-2 models with the built-in models' padded vocabulary, built as the engine builds them."""

import math

import pytest
import torch

from jobs.engine.config import TrainConfig
from jobs.engine.constants import GPT2_VOCAB_SIZE, padded_vocab_size
from jobs.engine.generation import generate_batch, reference_loglik
from jobs.engine.modelling import build_model
from jobs.engine.tokenizer import gpt2_tokenizer

# A larger initial spread than GPT-2's 0.02: outputs then vary from token to token instead of
# repeating one word, so a wrong position or mask shows in the text.
TINY = {
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 64,
    "n_positions": 128,
    "vocab_size": padded_vocab_size(GPT2_VOCAB_SIZE),
    "initializer_range": 0.2,
}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
PROMPTS = [
    "Hi",
    "the cat sat on a mat while dogs ran over green hills under blue skies and birds sang " * 3,
    "Once upon a time",
    "x",
    "A list of colours: red, green",
    "",
    "1 2 3 4 5 6 7 8 9 10 11 12",
]


def tiny_model(method="full"):
    torch.manual_seed(0)
    return build_model(TrainConfig(model_config=TINY, method=method), gpt2_tokenizer())


@pytest.fixture(scope="module")
def model():
    return tiny_model().eval()  # built for training: dropout on


@pytest.fixture(scope="module")
def tokenizer():
    return gpt2_tokenizer()


def one_at_a_time(model, tokenizer, prompts, **kwargs):
    return [generate_batch(model, tokenizer, [p], **kwargs)[0] for p in prompts]


@pytest.mark.parametrize("batch_size", [16, 3])
def test_batched_greedy_output_equals_one_prompt_at_a_time(model, tokenizer, batch_size):
    batched = generate_batch(model, tokenizer, PROMPTS, max_new_tokens=12, batch_size=batch_size)
    single = one_at_a_time(model, tokenizer, PROMPTS, max_new_tokens=12)
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.finish_reason == "length" and r.tokens == 12 for r in batched)
    assert len({r.text for r in batched}) == len(PROMPTS)  # the outputs do differ


def test_greedy_output_equals_transformers_generate(model, tokenizer):
    prompt = "A list of colours: red, green"
    ids = tokenizer(prompt, return_tensors="pt")
    expected = model.generate(
        **ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.eos_token_id
    )[0, ids["input_ids"].shape[1] :].tolist()
    [result] = generate_batch(model, tokenizer, [prompt], max_new_tokens=12)
    assert result.token_ids == expected
    assert result.text == tokenizer.decode(expected)
    assert result.prompt_tokens == ids["input_ids"].shape[1]


def test_a_lora_model_generates_in_batches_as_one_at_a_time(tokenizer):
    lora = tiny_model(method="lora")
    batched = generate_batch(lora, tokenizer, PROMPTS, max_new_tokens=6)
    single = one_at_a_time(lora, tokenizer, PROMPTS, max_new_tokens=6)
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]


def test_a_stop_string_ends_only_the_sequence_that_produced_it(model, tokenizer):
    prompts = ["Once upon a time", "1 2 3 4 5 6 7 8 9 10 11 12", "Hi"]
    free = one_at_a_time(model, tokenizer, prompts, max_new_tokens=16)
    first = free[0].token_ids
    stop = next(
        text
        for k in range(3, 14)
        if (text := tokenizer.decode(first[k : k + 2]).strip())
        and all(text not in other.text for other in free[1:])
    )
    needed = next(k for k in range(1, 17) if stop in tokenizer.decode(first[:k]))

    stopped, *others = generate_batch(model, tokenizer, prompts, max_new_tokens=16, stop=[stop])

    assert stopped.finish_reason == "stop"
    assert stopped.text == free[0].text[: free[0].text.index(stop)]
    assert stop not in stopped.text
    assert stopped.tokens == needed < 16
    assert stopped.token_ids == first[:needed]
    for result, expected in zip(others, free[1:], strict=True):
        assert (result.text, result.finish_reason, result.tokens) == (expected.text, "length", 16)


def test_a_stop_token_ends_only_its_sequence_and_stays_out_of_the_text(model, tokenizer):
    prompts = ["Hi", "A list of colours: red, green"]
    free = one_at_a_time(model, tokenizer, prompts, max_new_tokens=10)
    token = free[0].token_ids[4]
    assert token not in free[1].token_ids
    at = free[0].token_ids.index(token)

    stopped, other = generate_batch(
        model, tokenizer, prompts, max_new_tokens=10, stop_token_ids=[token]
    )

    assert (stopped.finish_reason, stopped.tokens) == ("stop", at + 1)
    assert stopped.text == tokenizer.decode(free[0].token_ids[:at])
    assert (other.text, other.finish_reason, other.tokens) == (free[1].text, "length", 10)


def test_sampling_with_a_seed_repeats_and_answers_in_the_prompts_order(model, tokenizer):
    def sampled(seed):
        return generate_batch(
            model, tokenizer, PROMPTS, max_new_tokens=10, temperature=1.0, top_p=0.9, seed=seed
        )

    first, again, other = sampled(7), sampled(7), sampled(8)
    assert [r.text for r in first] == [r.text for r in again]
    assert [r.text for r in first] != [r.text for r in other]
    assert [r.prompt_tokens for r in first] == [
        len(tokenizer(p)["input_ids"]) or 1 for p in PROMPTS
    ]


def test_a_tiny_top_p_keeps_only_the_likeliest_token(model, tokenizer):
    greedy = generate_batch(model, tokenizer, PROMPTS, max_new_tokens=8)
    nucleus = generate_batch(
        model, tokenizer, PROMPTS, max_new_tokens=8, temperature=1.0, top_p=1e-6, seed=1
    )
    assert [r.token_ids for r in nucleus] == [r.token_ids for r in greedy]


def test_a_prompt_longer_than_the_context_keeps_its_end(model, tokenizer):
    long_prompt = " ".join(str(n) for n in range(300))
    ids = tokenizer(long_prompt)["input_ids"]
    [result] = generate_batch(model, tokenizer, [long_prompt], max_new_tokens=16)
    kept = ids[-(TINY["n_positions"] - 16) :]
    expected = model.generate(
        input_ids=torch.tensor([kept]), max_new_tokens=16, do_sample=False, pad_token_id=0
    )[0, len(kept) :].tolist()
    assert result.prompt_tokens == len(kept)
    assert result.token_ids == expected


def test_generation_leaves_a_training_model_training(tokenizer):
    model = tiny_model().train()
    generate_batch(model, tokenizer, ["Hi"], max_new_tokens=2)
    assert model.training


@pytest.mark.cuda
@CUDA
def test_on_cuda_batches_match_single_prompts_and_seeds_repeat(tokenizer):
    model = tiny_model().eval().to("cuda")
    batched = generate_batch(model, tokenizer, PROMPTS, max_new_tokens=8)
    single = one_at_a_time(model, tokenizer, PROMPTS, max_new_tokens=8)
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]
    first, again = (
        generate_batch(model, tokenizer, PROMPTS, max_new_tokens=8, temperature=1.0, seed=3)
        for _ in range(2)
    )
    assert [r.text for r in first] == [r.text for r in again]
    [score] = reference_loglik(model, tokenizer, ["Hi"], [" there you are"])
    total, _ = hand_loglik(model.cpu(), tokenizer, "Hi", " there you are")
    assert score.logprob == pytest.approx(total, abs=1e-3)


def hand_loglik(model, tokenizer, prompt, reference):
    prompt_ids = tokenizer(prompt)["input_ids"] or [tokenizer.eos_token_id]
    reference_ids = tokenizer(reference)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids + reference_ids])).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    start = len(prompt_ids) - 1  # the logits there predict the first reference token
    total = sum(float(logprobs[start + j, t]) for j, t in enumerate(reference_ids))
    return total, len(reference_ids)


def test_reference_loglik_equals_one_forward_pass_per_example(model, tokenizer):
    references = [
        " there",
        " and then the cat went home",
        " lived a king",
        " y z",
        ", blue and yellow",
        "Hello world",
        " 13 14 15 16 17 18 19 20 21 22 23 24 25",
    ]
    scores = reference_loglik(model, tokenizer, PROMPTS, references, batch_size=4)
    for prompt, reference, score in zip(PROMPTS, references, scores, strict=True):
        total, count = hand_loglik(model, tokenizer, prompt, reference)
        assert score.tokens == count  # the reference's tokens only, never the prompt's
        assert score.logprob == pytest.approx(total, abs=1e-4)
        assert score.mean_logprob == pytest.approx(total / count, abs=1e-4)
        assert score.perplexity == pytest.approx(math.exp(-total / count), rel=1e-4)


def test_an_empty_reference_counts_no_tokens(model, tokenizer):
    [score] = reference_loglik(model, tokenizer, ["Hi"], [""])
    assert (score.logprob, score.tokens) == (0.0, 0)
    assert math.isnan(score.mean_logprob)
