"""Save a trained model in Hugging Face format and write sample generations. No Django here.

The folder is written under a temporary name and renamed when complete:
    <folder>/model/    config.json, model.safetensors, generation_config.json, tokenizer files,
                       README.md (the model card): loads with AutoModelForCausalLM.from_pretrained
    <folder>/adapter/  LoRA only: the adapter alone (adapter_config.json, adapter_model.safetensors)
"""

import copy
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch

from jobs.engine.config import LanguageModel
from jobs.engine.constants import padding_token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def export_model(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    folder: Path,
    *,
    method: str,
    model_card: str,
    chat_template: str | None = None,
) -> LanguageModel:
    """Write the final model (merged for LoRA) and return the plain transformers model. A
    chat-trained model's tokenizer carries `chat_template`, its training format."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if method == "lora":
        model.save_pretrained(tmp / "adapter")
        (tmp / "adapter" / "README.md").write_text(model_card, encoding="utf-8")
        model = model.merge_and_unload()
    model.config.use_cache = True  # generation wants the cache; training had turned it off
    model.save_pretrained(tmp / "model")
    _save_tokenizer(
        tokenizer,
        tmp / "model",
        context=model.config.max_position_embeddings,
        chat_template=chat_template,
    )
    (tmp / "model" / "README.md").write_text(model_card, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)
    return model


def write_model_card(folder: Path, model_card: str) -> None:
    """Replace the card of an exported model (and of its LoRA adapter)."""
    for part in ("model", "adapter"):
        if (folder / part).is_dir():
            (folder / part / "README.md").write_text(model_card, encoding="utf-8")


def _save_tokenizer(
    tokenizer: "PreTrainedTokenizerBase",
    folder: Path,
    *,
    context: int,
    chat_template: str | None = None,
) -> None:
    """Save the tokenizer saying the model's context as its model_max_length, so a pipeline
    that truncates to it never feeds the model more positions than it has. A copy carries the
    change: the tokenizer may be the process's shared GPT-2 one (1,024 tokens)."""
    tokenizer = copy.copy(tokenizer)
    tokenizer.model_max_length = context
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@torch.no_grad()
def generate_samples(
    model: LanguageModel,
    tokenizer: "PreTrainedTokenizerBase",
    prompts: Iterable[str],
    *,
    max_new_tokens: int = 30,
    seed: int = 0,
) -> list[dict[str, str]]:
    """[{"prompt", "output"}] with light sampling (seeded, so a rerun gives the same text)."""
    model.eval()
    device = next(model.parameters()).device
    context = model.config.max_position_embeddings
    # A padded vocabulary's spare ids are no token: they must never be picked.
    unused = padding_token_ids(model.config.vocab_size, len(tokenizer))
    options = {"suppress_tokens": unused} if unused else {}
    samples = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"][
                :, -(context - max_new_tokens) :
            ].to(device)
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=0.8,
                top_p=0.95,
                pad_token_id=tokenizer.eos_token_id,
                **options,
            )
            # One sequence decodes to one str (decode returns a list for a batch only).
            text = cast(str, tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
            samples.append({"prompt": prompt, "output": text})
    return samples
