"""GGUF export: the files load back with transformers (`gguf_file=`) and give the Hugging Face
model's logits, f16 within 1e-2 and q8_0 within Q8_TOLERANCE; the vocabulary, merges, context
length and Ollama Modelfile are those of the trained model."""

import gguf
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from jobs.engine import export, loop
from jobs.engine.gguf_export import export_gguf
from tests.jobs.engine.test_engine import config, text_examples

# Measured on the trained tiny models below: the largest q8_0 logit difference was 0.0087 (full)
# and 0.0042 (LoRA), f16 0.00045 and 0.00016. 0.05 leaves room for other seeds and models.
F16_TOLERANCE = 1e-2
Q8_TOLERANCE = 0.05
PROMPT = "the cat sat on a mat while dogs ran over green hills under blue skies and birds sang"


def export_and_compare(tmp_path, method):
    cfg = config(tmp_path, method=method, epochs=2, learning_rate=1e-2, lora_r=4, lora_alpha=8)
    result = loop.train(cfg, text_examples(60))
    folder = tmp_path / "final"
    model = export.export_model(
        result.model, result.tokenizer, folder, method=method, model_card="# card\n"
    )
    model.eval()
    paths = export_gguf(
        model, result.tokenizer, folder / "gguf", name="tiny", stem="job-1", template_kind="chat"
    )
    ids = result.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    own_config = AutoConfig.from_pretrained(folder / "model")
    with torch.no_grad():
        expected = model(ids).logits
        differences = {}
        for quant, path in paths.items():
            # transformers reads GPT-2's context_length into n_ctx, which GPT2Config no longer
            # uses: a context other than 1,024 needs the model's own config beside the file.
            loaded = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, config=own_config
            )
            differences[quant] = float((loaded(ids).logits - expected).abs().max())
    return folder, paths, differences


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gguf_files_give_the_models_logits(tmp_path, method):
    folder, paths, differences = export_and_compare(tmp_path, method)
    print(f"{method}: largest logit difference {differences}")
    assert set(paths) == {"f16", "q8_0"}
    assert differences["f16"] < F16_TOLERANCE
    assert differences["q8_0"] < Q8_TOLERANCE


def test_a_gguf_file_holds_gpt2_names_vocabulary_merges_and_context(tmp_path):
    folder, paths, _ = export_and_compare(tmp_path, "full")
    reader = gguf.GGUFReader(paths["q8_0"])
    fields = {name: field.contents() for name, field in reader.fields.items()}
    assert fields["general.architecture"] == "gpt2"
    assert fields["gpt2.context_length"] == 128  # the tiny model's positions
    assert fields["tokenizer.ggml.model"] == "gpt2"
    assert len(fields["tokenizer.ggml.tokens"]) == 50257
    assert fields["tokenizer.ggml.tokens"][50256] == "<|endoftext|>"
    assert fields["tokenizer.ggml.merges"][0] == "Ġ t"  # GPT-2's first merge
    names = {tensor.name for tensor in reader.tensors}
    assert {"token_embd.weight", "position_embd.weight", "blk.1.attn_qkv.weight"} <= names
    types = {tensor.name: tensor.tensor_type.name for tensor in reader.tensors}
    assert types["blk.0.ffn_up.weight"] == "Q8_0" and types["blk.0.attn_norm.weight"] == "F32"

    modelfile = (folder / "gguf" / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./job-1-q8_0.gguf\n")
    assert 'PARAMETER stop "<|endoftext|>"' in modelfile
    assert "User: {{ .Content }}" in modelfile and modelfile.count("Assistant: ") == 2


def _render_go_template(template, messages):
    """The few Go text/template actions the chat Modelfile uses ({{ range .Messages }},
    {{ if eq .Role "x" }} / {{ else if … }}, {{ end }}, {{ .Content }}), with Go's trim markers
    ({{- trims the whitespace before an action, -}} after it): enough to check the template
    against the training text without Ollama here."""
    import re

    parts = re.split(r"(\{\{-?\s*.*?\s*-?\}\})", template)
    for i, part in enumerate(parts):  # apply trim markers to the neighbouring text
        if part.startswith("{{-") and i > 0:
            parts[i - 1] = parts[i - 1].rstrip()
        if part.endswith("-}}") and i + 1 < len(parts):
            parts[i + 1] = parts[i + 1].lstrip()
    body_start = parts.index(next(p for p in parts if "range .Messages" in p)) + 1
    depth, end = 0, body_start
    for end in range(body_start, len(parts)):
        action = parts[end].strip("{}- ")
        if action.startswith(("if ", "range ")):
            depth += 1
        elif action == "end":
            if depth == 0:
                break
            depth -= 1
    body, tail = parts[body_start:end], "".join(parts[end + 1 :])
    out = "".join(parts[: body_start - 1])
    for message in messages:
        emitting, taken = False, False
        for part in body:
            action = part.strip("{}- ") if part.startswith("{{") else None
            if action and ("if eq .Role" in action):
                role = re.search(r'"(\w+)"', action).group(1)
                emitting = not taken and role == message["role"]
                taken = taken or emitting
            elif action == "end":
                emitting = False
            elif action == ".Content":
                out += message["content"] if emitting else ""
            elif action is None and emitting:
                out += part
    return out + tail


def test_the_ollama_chat_template_writes_the_training_text():
    from jobs.datasets.segments import chat_prompt
    from jobs.engine.gguf_export import OLLAMA_TEMPLATES

    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Colour of the sky?"},
    ]
    rendered = _render_go_template(OLLAMA_TEMPLATES["chat"], messages)
    assert rendered == chat_prompt(messages)
    assert rendered.endswith("User: Colour of the sky?\nAssistant: ")
