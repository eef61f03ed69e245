"""GGUF files of a trained GPT-2 model, for llama.cpp and Ollama. No Django here.

Written with the `gguf` package under llama.cpp's names: architecture "gpt2", tensors
token_embd, position_embd, blk.N.attn_qkv …, output, the byte-level BPE vocabulary and merges of
the tokenizer, and the context length. GPT-2 keeps its attention and MLP weights in Conv1D
layers, stored (in, out); GGUF wants them as a Linear layer's (out, in), so they are transposed.

    <folder>/<stem>-f16.gguf    weights in f16, norms and biases in f32
    <folder>/<stem>-q8_0.gguf   weights in q8_0 (8-bit blocks of 32 with an f16 scale)
    <folder>/Modelfile          Ollama: FROM the q8_0 file, the prompt template of the training
                                data, and <|endoftext|> as the stop word
"""

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import gguf
import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from jobs.engine.config import LanguageModel

QUANTS = {
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
}
# Conv1D weights, stored (in, out) by transformers.
CONV1D_WEIGHTS = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)
SKIPPED = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers, not weights

# Ollama prompt templates (Go templates) that rebuild the text each kind of data was trained
# on (jobs/datasets/segments.py): the model answers where its training completions began.
OLLAMA_TEMPLATES = {
    "text": "{{ .Prompt }}",
    "prompt_completion": "{{ .Prompt }}\n",
    "alpaca": "### Instruction:\n{{ .Prompt }}\n\n### Response:\n",
    # Ollama hands a chat's system message in .Messages too; no "{{-" here: it would trim the
    # newline that ends each turn in the training text.
    "chat": (
        "{{ range .Messages }}"
        '{{ if eq .Role "user" }}User: {{ .Content }}\n'
        '{{ else if eq .Role "assistant" }}Assistant: {{ .Content }}\n'
        '{{ else if eq .Role "system" }}System: {{ .Content }}\n{{ end }}'
        "{{ end }}Assistant: "
    ),
}


class GGUFUnsupported(ValueError):
    """The model is not one GGUF export knows (not the GPT-2 architecture)."""


def export_gguf(
    model: "LanguageModel",
    tokenizer: "PreTrainedTokenizerBase",
    folder: str | os.PathLike[str],
    *,
    name: str,
    stem: str = "model",
    template_kind: str = "text",
    quants: Iterable[str] = tuple(QUANTS),
) -> dict[str, Path]:
    """Write <stem>-<quant>.gguf per quantisation and the Ollama Modelfile into `folder` (each
    file under a temporary name, then renamed). Returns {quant: path}."""
    if getattr(model.config, "model_type", "") != "gpt2":
        raise GGUFUnsupported(
            f"GGUF export knows the GPT-2 architecture only, not {model.config.model_type!r}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for quant in quants:
        paths[quant] = folder / f"{stem}-{quant}.gguf"
        tmp = paths[quant].with_name(f".{paths[quant].name}.tmp")
        write_gguf(model, tokenizer, tmp, quant=quant, name=name)
        os.replace(tmp, paths[quant])
    default = "q8_0" if "q8_0" in paths else next(iter(paths))
    (folder / "Modelfile").write_text(
        modelfile(paths[default].name, template_kind), encoding="utf-8"
    )
    return paths


def write_gguf(
    model: "LanguageModel",
    tokenizer: "PreTrainedTokenizerBase",
    path: Path,
    *,
    quant: str,
    name: str,
) -> None:
    """One GGUF file of `model` (a transformers GPT2LMHeadModel) in `quant` (f16 or q8_0)."""
    file_type, weight_type = QUANTS[quant]
    config = model.config
    # use_temp_file: tensors wait on disk, not in memory, until the file is written.
    writer = gguf.GGUFWriter(
        str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.GPT2], use_temp_file=True
    )
    writer.add_name(name)
    writer.add_context_length(config.n_positions)
    writer.add_embedding_length(config.n_embd)
    writer.add_feed_forward_length(config.n_inner or 4 * config.n_embd)
    writer.add_block_count(config.n_layer)
    writer.add_head_count(config.n_head)
    writer.add_layer_norm_eps(config.layer_norm_epsilon)
    writer.add_file_type(file_type)
    _add_vocabulary(writer, tokenizer, config.vocab_size)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GPT2, config.n_layer)
    for hf_name, tensor in model.state_dict().items():
        if hf_name.endswith(SKIPPED) or hf_name == "lm_head.weight":  # lm_head is token_embd
            continue
        array = tensor.detach().float().cpu().numpy()
        if hf_name.endswith(CONV1D_WEIGHTS):
            array = np.ascontiguousarray(array.T)
        target = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise GGUFUnsupported(f"No GGUF name for the tensor {hf_name!r}")
        _add_tensor(writer, target, array, weight_type)
        if target == "token_embd.weight":  # GPT-2 ties its output layer to the embedding
            _add_tensor(writer, "output.weight", array, weight_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _add_tensor(
    writer: gguf.GGUFWriter,
    name: str,
    array: np.ndarray,
    weight_type: gguf.GGMLQuantizationType,
) -> None:
    """Matrices in the file's type; vectors (norms, biases) stay f32, as llama.cpp keeps them.
    q8_0 needs rows in whole blocks of 32: a narrower matrix stays f16."""
    if array.ndim < 2:
        writer.add_tensor(name, array.astype(np.float32))
        return
    if weight_type == gguf.GGMLQuantizationType.Q8_0 and array.shape[-1] % 32:
        weight_type = gguf.GGMLQuantizationType.F16
    data = gguf.quants.quantize(array, weight_type)
    writer.add_tensor(name, data, raw_dtype=weight_type)


def _add_vocabulary(
    writer: gguf.GGUFWriter, tokenizer: "PreTrainedTokenizerBase", vocab_size: int
) -> None:
    """The byte-level BPE vocabulary (one entry per row of the embedding: a padded vocabulary's
    spare rows become unused tokens), its merges and the end-of-text token."""
    by_id = {i: token for token, i in tokenizer.get_vocab().items()}
    special = set(tokenizer.all_special_ids)
    tokens, types = [], []
    for i in range(vocab_size):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_bos_token_id(tokenizer.eos_token_id)  # GPT-2 has one special token for both
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_add_bos_token(False)


def modelfile(gguf_file: str, template_kind: str) -> str:
    """An Ollama Modelfile for `gguf_file` beside it, prompting as the training data did."""
    template = OLLAMA_TEMPLATES.get(template_kind, OLLAMA_TEMPLATES["text"])
    return f'FROM ./{gguf_file}\nTEMPLATE """{template}"""\nPARAMETER stop "<|endoftext|>"\n' + (
        'PARAMETER stop "User:"\n' if template_kind == "chat" else ""
    )
