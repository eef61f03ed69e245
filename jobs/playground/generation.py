"""Text generation for the playground: a job's fine-tuned model beside the model it started from.

The text comes from the inference pool (jobs.playground.client), the same path as the
OpenAI-compatible API's completions: in its own process when INFERENCE_ADDRESS is set, so
generating never takes the web server's threads' CPU. This module says which model answers
(a spec, see jobs.playground.loading) and how the prompt is wrapped.
"""

import time
import unicodedata

from jobs.catalog.services import model_source
from jobs.datasets.reader import data_format_of, generation_prompt
from jobs.datasets.segments import ROLE_HEADERS, chat_prompt
from jobs.playground import client
from jobs.playground.pool import Busy

__all__ = ["Busy", "ModelNotReady", "NotAChatModel", "generate", "job_model_dir", "readable"]


class ModelNotReady(Exception):
    """The job has no model to generate with (not finished, failed, or its files are gone)."""


class NotAChatModel(ValueError):
    """A system prompt or a conversation was sent to a job not trained on chat data."""


def generate(
    *,
    job,
    prompt,
    max_new_tokens,
    temperature,
    top_p,
    compare_base,
    user=None,
    system="",
    history=(),
):
    """Answer `prompt` with the job's model; with compare_base, also with its base model.
    The defaults of the other values are GenerateRequestSerializer's (jobs/training/serializers.py).

    1. Wrap the prompt the way the job's training data was formatted (a chat job's prompt
       becomes "User: …\nAssistant: ", after the system prompt and the conversation so far),
       so the model answers as it learned to.
    2. Generate; both models get the same text, and the outputs lose control characters (a
       chat answer ends where the model starts writing the next turn).
    Returns {"prompt_used", "output", "seconds"} plus {"base_output", "base_label"} if compared.
    Raises ModelNotReady, NotAChatModel, client.Busy (the pool is full) or client.Unavailable.
    """
    started = time.monotonic()
    spec = job_spec(job)
    prompt = wrapped_prompt(job, prompt, system, history)
    sampling = {"max_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}
    owner = user.pk if user is not None else job.owner_id
    ask = {"user": owner, "prompt": prompt, "n": 1, **sampling}
    chat = job.dataset.kind == "chat"
    output = _text(client.complete({**ask, "model": spec}), chat)
    result = {"prompt_used": prompt, "output": output}
    if compare_base:
        base_spec, label = base_spec_for(job)
        result["base_label"] = label
        try:
            result["base_output"] = _text(client.complete({**ask, "model": base_spec}), chat)
        except client.Unavailable:  # a hub model that is no longer on this host
            result["base_output"] = ""
            result["base_label"] = f"{label}: not available on this host"
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def wrapped_prompt(job, prompt, system="", history=()):
    """The text the models are given: for a chat-trained job the whole conversation in its
    training format; otherwise the prompt as generation_prompt wraps it."""
    kind = job.dataset.kind
    if kind != "chat":
        if system.strip() or history:
            raise NotAChatModel(
                f"Job {job.pk} was trained on {job.dataset.get_kind_display().lower()} data: a "
                "system prompt and a conversation apply only to chat-trained models."
            )
        return generation_prompt(kind, prompt, data_format_of(job.dataset) or "")
    messages = [{"role": "system", "content": system}] if system.strip() else []
    messages += [{"role": t["role"], "content": t["content"]} for t in history]
    return chat_prompt([*messages, {"role": "user", "content": prompt}])


def _text(done, chat=False):
    text = readable(done["choices"][0]["text"])
    return end_of_turn(text) if chat else text


def end_of_turn(text):
    """A chat answer up to where the model starts another turn ("\nUser: ", …)."""
    cut = len(text)
    for header in ROLE_HEADERS.values():
        found = text.find("\n" + header)
        if found != -1:
            cut = min(cut, found)
    return text[:cut].rstrip("\n")


def job_model_dir(job):
    """The folder holding the job's final model (the merged model for LoRA)."""
    if not job.has_model():
        raise ModelNotReady(job.no_model_reason())
    return job.local_model_folder()


def job_spec(job):
    """The spec of a succeeded job's model; ModelNotReady without one."""
    folder = str(job_model_dir(job))
    return {"key": ["job", folder], "path": folder, "config": {}}


def base_model_spec(base_model):
    """The spec of a catalog model: a folder to load, or a built-in model's random weights."""
    path, config = model_source(base_model)
    if not path:
        return {"key": ["builtin", base_model.key], "path": "", "config": config}
    return {"key": ["pretrained", path], "path": path, "config": {}}


def base_spec_for(job):
    """(spec, label shown to the user) of the model the job started from."""
    if job.parent_job_id:
        parent = job.parent_job
        return job_spec(parent), f"Job #{parent.pk}: {parent.name}"
    base = job.base_model
    spec = base_model_spec(base)
    if not spec["path"]:
        return spec, f"{base.display_name}: random weights, no pretrained knowledge"
    return spec, base.display_name


def readable(text):
    """The text without what a page cannot show: control characters other than newline and tab
    (a carriage return becomes a newline), and the U+FFFD a token cut mid-character decodes to."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (ch != "\ufffd" and unicodedata.category(ch) not in ("Cc", "Cs"))
    )
