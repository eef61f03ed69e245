"""How a dataset's example becomes a prompt and a reference: cut where training starts
counting the answer, so a model that reproduces its training text scores an exact match."""

import pytest

from jobs.datasets.segments import format_segments
from jobs.engine.tokenizer import EOS
from jobs.evaluations.examples import answer_text, pick_indices, split_example, stop_strings

CHAT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Code for fig?"},
        {"role": "assistant", "content": "WORDNUM-5: fig"},
        {"role": "user", "content": "And mango?"},
        {"role": "assistant", "content": "WORDNUM-12: mango"},
    ]
}
PAIR = {"prompt": "Code for fig?", "completion": "WORDNUM-5: fig"}


@pytest.mark.parametrize(("kind", "example"), [("chat", CHAT), ("prompt_completion", PAIR)])
def test_a_model_that_writes_its_training_text_matches_the_reference_exactly(kind, example):
    prompt, reference = split_example(kind, example)
    trained = "".join(text for text, _ in format_segments(kind, example))
    assert trained.startswith(prompt)
    # What such a model generates after the prompt, up to its end-of-text token:
    generated = trained[len(prompt) :].removesuffix(EOS)
    for stop in stop_strings(kind):
        generated = generated.split(stop)[0]
    assert answer_text(kind, generated) == reference


def test_a_chat_prompt_keeps_the_earlier_turns_and_ends_with_the_assistant_header():
    prompt, reference = split_example("chat", CHAT)
    assert reference == "WORDNUM-12: mango"
    assert prompt.startswith("System: Be brief.\n")
    assert "Assistant: WORDNUM-5: fig\n" in prompt
    assert prompt.endswith("User: And mango?\nAssistant: ")


def test_plain_text_is_scored_whole_with_no_prompt():
    assert split_example("text", {"text": "A line of text."}) == ("", "A line of text.")


def test_a_capped_evaluation_takes_the_same_sample_every_time_in_dataset_order():
    first = pick_indices(100, 10)
    assert first == pick_indices(100, 10) == sorted(first) and len(first) == 10
    assert pick_indices(5, 10) == [0, 1, 2, 3, 4]
    assert pick_indices(100, 2, among=[7, 3, 9]) == sorted(pick_indices(100, 2, among=[7, 3, 9]))
    assert set(pick_indices(100, 2, among=[7, 3, 9])) <= {3, 7, 9}
