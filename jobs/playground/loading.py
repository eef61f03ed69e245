"""Models kept warm for generation: loaded once per process into a small LRU cache.

A model is named by a spec, {"key": [...], "path": folder or "", "config": GPT-2 config}: a
folder to load (a job's final model, a pretrained model), or a built-in model's config whose
random weights are the same on every load. The cache lock is held only to look up or insert an
entry, never while a model loads, so one slow load does not hold up other requests.
"""

import threading
from collections import OrderedDict
from typing import Any

CACHE_SIZE = 4
BUILTIN_SEED = 0  # the random weights a built-in base starts from, the same on every call

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()
_load_locks: dict[str, threading.Lock] = {}


def load(spec):
    """(model, tokenizer) for a spec, from the cache when it is there."""
    key = tuple(spec["key"])
    if spec.get("path"):
        return _cached(key, lambda: _load_folder(spec["path"]))
    return _cached(key, lambda: _load_random(spec["config"]))


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


def _load_folder(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jobs.engine.tokenizer import gpt2_tokenizer

    model = AutoModelForCausalLM.from_pretrained(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError):
        tokenizer = gpt2_tokenizer()
    return model.eval(), tokenizer


def _load_random(config):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from jobs.engine.tokenizer import gpt2_tokenizer

    config = GPT2Config(**config)
    with torch.random.fork_rng():
        torch.manual_seed(BUILTIN_SEED)
        model = GPT2LMHeadModel(config)
    return model.eval(), gpt2_tokenizer()
