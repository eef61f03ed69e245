"""The exact text a model sees for one example, as segments (text, carries_loss).

Training and the preview both call format_segments, so the preview shows what the model sees.

- Plain text: the text itself, all of it trained on. Training packs plain text, so no end marker
  is added here.
- Prompt/completion: the prompt (no loss), then the completion and the GPT-2 end-of-text token
  (loss). When neither the prompt ends nor the completion starts with whitespace, a newline is
  added to the prompt, so "Translate: cheese" + "fromage" does not become one word.
- Chat: one "Role: content" line per message. Only the assistant's content (with its newline)
  carries loss; the "Assistant: " header does not, so at generation time the prompt ends with it.
  The example ends with the end-of-text token (loss).
"""

from jobs.datasets.formats import alpaca_prompt
from jobs.engine.tokenizer import EOS

ROLE_HEADERS = {"system": "System: ", "user": "User: ", "assistant": "Assistant: "}


def format_segments(kind, example):
    if kind == "text":
        return [(example["text"], True)]
    if kind == "prompt_completion":
        return _prompt_completion_segments(example["prompt"], example["completion"])
    if kind == "chat":
        return _chat_segments(example["messages"])
    raise ValueError(f"unknown dataset kind {kind!r}")


def _prompt_completion_segments(prompt, completion):
    if prompt[-1:].isspace() or completion[:1].isspace():
        return [(prompt, False), (completion + EOS, True)]
    return [(prompt + "\n", False), (completion + EOS, True)]


def _chat_segments(messages):
    segments = []
    for message in messages:
        header = ROLE_HEADERS[message["role"]]
        if message["role"] == "assistant":
            segments.append((header, False))
            segments.append((message["content"] + "\n", True))
        else:
            segments.append((header + message["content"] + "\n", False))
    segments.append((EOS, True))
    return _merge_neighbours(segments)


def _merge_neighbours(segments):
    """Join consecutive segments with the same loss flag, so each run reads as one piece."""
    merged = []
    for text, loss in segments:
        if merged and merged[-1][1] == loss:
            merged[-1] = (merged[-1][0] + text, loss)
        else:
            merged.append((text, loss))
    return merged


def example_text(kind, example):
    return "".join(text for text, _ in format_segments(kind, example))


def chat_prompt(messages):
    """The text that asks a chat-trained model for the next assistant turn: the conversation so
    far in the training format, ending with the "Assistant: " header."""
    text = "".join(ROLE_HEADERS[m["role"]] + m["content"] + "\n" for m in messages)
    return text + ROLE_HEADERS["assistant"]


def chat_template():
    """A Jinja chat template for the tokenizer of a chat-trained model, so that
    tokenizer.apply_chat_template(messages) writes exactly what training saw (the conversation
    then end-of-text) and, with add_generation_prompt=True, what chat_prompt() writes."""
    headers = "".join(
        f"{'{% if' if i == 0 else '{% elif'} message['role'] == '{role}' %}}{header}"
        for i, (role, header) in enumerate(ROLE_HEADERS.items())
    )
    return (
        "{% for message in messages %}"
        + headers
        + "{% else %}{{ raise_exception('Unknown role: ' + message['role']) }}{% endif %}"
        "{{ message['content'] }}{{ '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}" + ROLE_HEADERS["assistant"] + "{% else %}"
        "{{ eos_token }}{% endif %}"
    )


def generation_prompt(kind, prompt, data_format=""):
    """The text to give a model trained on this kind of data so it answers `prompt` the way it
    learned to (for the playground). Alpaca data trained on its own template: the prompt is
    the instruction."""
    if data_format == "alpaca":
        return alpaca_prompt(prompt)
    if kind == "chat":
        return f"{ROLE_HEADERS['user']}{prompt}\n{ROLE_HEADERS['assistant']}"
    if kind == "prompt_completion" and not prompt[-1:].isspace():
        return prompt + "\n"
    return prompt
