"""Text generation for the playground: a job's fine-tuned model beside the model it started from.

Models load once per process into a small LRU cache. The cache lock is held only to look up or
insert an entry, never while a model loads or generates, so one slow request does not hold up
the others on the threaded web server (torch releases the GIL inside its kernels).
"""

import threading
import time
import unicodedata
from collections import OrderedDict

from jobs.catalog.catalog import model_source
from jobs.constants import padding_token_ids
from jobs.datasets.reader import generation_prompt

CACHE_SIZE = 4
BUILTIN_SEED = 0  # the random weights a built-in base starts from, the same on every call

_cache = OrderedDict()
_cache_lock = threading.Lock()
_load_locks = {}


class ModelNotReady(Exception):
    """The job has no model to generate with (not finished, failed, or its files are gone)."""


def generate(*, job, prompt, max_new_tokens, temperature, top_p, compare_base):
    """Answer `prompt` with the job's model; with compare_base, also with its base model.
    The defaults of the other values are GenerateRequestSerializer's (jobs/serializers.py).

    1. Wrap the prompt the way the job's training data was formatted (a chat job's prompt
       becomes "User: …\nAssistant: "), so the model answers as it learned to.
    2. Generate; both models get the same text, and the outputs lose control characters.
    Returns {"prompt_used", "output", "seconds"} plus {"base_output", "base_label"} if compared.
    """
    started = time.monotonic()
    model, tokenizer = _cached(
        ("job", str(job_model_dir(job))), lambda: _load_folder(job_model_dir(job))
    )
    prompt = generation_prompt(job.dataset.kind, prompt, job.dataset.detected_format)
    sampling = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}
    result = {"prompt_used": prompt, "output": _complete(model, tokenizer, prompt, **sampling)}
    if compare_base:
        key, label, loader = _base_loader(job)
        result["base_label"] = label
        try:
            base_model, base_tokenizer = _cached(key, loader)
        except OSError:  # a hub model that is no longer on this host
            result["base_output"] = ""
            result["base_label"] = f"{label}: not available on this host"
        else:
            result["base_output"] = _complete(base_model, base_tokenizer, prompt, **sampling)
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def job_model_dir(job):
    """The folder holding the job's final model (the merged model for LoRA)."""
    if not job.has_model():
        raise ModelNotReady(job.no_model_reason())
    return job.model_folder


def _base_loader(job):
    """(cache key, label shown to the user, loader) for the model the job started from."""
    if job.parent_job_id:
        parent = job.parent_job
        folder = job_model_dir(parent)
        return (
            ("job", str(folder)),
            f"Job #{parent.pk}: {parent.name}",
            lambda: _load_folder(folder),
        )
    base = job.base_model
    path, config = model_source(base)
    if not path:
        label = f"{base.display_name}: random weights, no pretrained knowledge"
        return ("builtin", base.key), label, lambda: _load_random(config)
    return ("pretrained", path), base.display_name, lambda: _load_folder(path)


def _cached(key, loader):
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        load_lock = _load_locks.setdefault(key, threading.Lock())
    # One thread loads a given model; others asking for the same one wait for it.
    with load_lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        entry = loader()
        with _cache_lock:
            _cache[key] = entry
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
            _load_locks.pop(key, None)
    return entry


# torch and transformers are imported on first use: every web request imports this module through
# the URLconf, and most never generate text.


def _load_folder(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jobs.training.tokenizer import gpt2_tokenizer

    model = AutoModelForCausalLM.from_pretrained(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError):
        tokenizer = gpt2_tokenizer()
    return model.eval(), tokenizer


def _load_random(config):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from jobs.training.tokenizer import gpt2_tokenizer

    config = GPT2Config(**config)
    with torch.random.fork_rng():
        torch.manual_seed(BUILTIN_SEED)
        model = GPT2LMHeadModel(config)
    return model.eval(), gpt2_tokenizer()


def _complete(model, tokenizer, prompt, *, max_new_tokens, temperature, top_p):
    import torch

    encoded = tokenizer(prompt, return_tensors="pt")
    # Prompt and answer share the model's context: the answer gets at most all but a quarter of
    # it, and the prompt keeps its end when it does not fit in the rest.
    context = model.config.max_position_embeddings
    max_new_tokens = min(max_new_tokens, context - max(1, context // 4))
    room = context - max_new_tokens
    input_ids = encoded["input_ids"][:, -room:]
    attention_mask = encoded["attention_mask"][:, -room:]
    options = {"do_sample": False}
    if temperature > 0:
        options = {"do_sample": True, "temperature": temperature, "top_p": top_p}
    # A padded vocabulary's spare ids are no token: they must never be picked.
    unused = padding_token_ids(model.config.vocab_size, len(tokenizer))
    if unused:
        options["suppress_tokens"] = unused
    with torch.inference_mode():
        output = model.generate(
            input_ids,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.eos_token_id,
            **options,
        )
    return readable(tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True))


def readable(text):
    """The text without what a page cannot show: control characters other than newline and tab
    (a carriage return becomes a newline), and the U+FFFD a token cut mid-character decodes to."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (ch != "\ufffd" and unicodedata.category(ch) not in ("Cc", "Cs"))
    )
