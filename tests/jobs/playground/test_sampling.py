"""The sampler every generation goes through: only GPT-2 ids even from a padded vocabulary,
stop strings end a choice before they appear, a seed repeats, and the counts are exact."""

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from jobs.engine.constants import GPT2_VOCAB_SIZE
from jobs.engine.tokenizer import gpt2_tokenizer
from jobs.playground import sampling

TOKENIZER = gpt2_tokenizer()


def tiny_model(vocab_size=GPT2_VOCAB_SIZE):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab_size, n_layer=1, n_head=2, n_embd=32, n_positions=64)
    return GPT2LMHeadModel(config).eval()


def run(model, prompt="Once upon a time", *, max_tokens=12, stop=(), seed=5, **options):
    ids, max_tokens = sampling.prompt_ids(model, TOKENIZER, prompt, max_tokens)
    pieces = []
    choice = sampling.sample(
        model,
        TOKENIZER,
        ids,
        max_tokens=max_tokens,
        temperature=options.get("temperature", 1.0),
        top_p=options.get("top_p", 1.0),
        stop=list(stop),
        generator=sampling.make_generator(seed),
        on_text=pieces.append,
    )
    return choice, pieces


def test_a_padded_vocabulary_never_yields_an_id_past_gpt2s():
    logits = torch.zeros(50304)  # a vocabulary padded to a multiple of 64
    logits[GPT2_VOCAB_SIZE:] = 100.0  # whose padding rows a model made the likeliest by far
    generator = sampling.make_generator(1)
    picks = {sampling._pick(logits, 1.0, 1.0, generator) for _ in range(50)}
    picks |= {sampling._pick(logits, 0.7, 0.9, generator), sampling._pick(logits, 0.0, 1, None)}
    assert max(picks) < GPT2_VOCAB_SIZE


def test_the_streamed_pieces_make_the_whole_text_and_a_seed_repeats_it():
    model = tiny_model()
    choice, pieces = run(model)
    assert "".join(pieces) == choice.text and choice.text
    assert choice.finish_reason == "length" and choice.tokens == 12
    assert run(model)[0].text == choice.text
    assert run(model, seed=6)[0].text != choice.text


def test_a_stop_string_ends_the_choice_before_it_and_is_never_streamed():
    model = tiny_model()
    full, _ = run(model, max_tokens=30)
    stop = full.text[5:8]
    choice, pieces = run(model, max_tokens=30, stop=[stop])
    assert choice.finish_reason == "stop"
    assert choice.text == full.text[: full.text.find(stop)]
    assert "".join(pieces) == choice.text


def test_prompt_and_answer_fit_the_context_together():
    model = tiny_model()  # 64 positions
    ids, max_tokens = sampling.prompt_ids(model, TOKENIZER, "word " * 200, 500)
    assert max_tokens == 48 and ids.shape[1] == 16
    choice, _ = run(model, "word " * 200, max_tokens=500, temperature=0)
    assert choice.tokens <= 48


def test_a_vanishingly_small_temperature_answers_like_temperature_zero():
    # 2.2e-308 (the smallest normal float; schemathesis sent it) overflowed the logits to inf.
    model = tiny_model()
    tiny, _ = run(model, temperature=2.2250738585072014e-308)
    greedy, _ = run(model, temperature=0.0)
    assert tiny.text == greedy.text and tiny.tokens == 12
