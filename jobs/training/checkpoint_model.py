"""A kept checkpoint as a model: its weights on the job's base model, saved in Hugging Face
format (with a model card and, for chat data, a chat template) to download or to train a new
job from. Imported only where torch may load (inside jobs.training.downloads' functions)."""

import json

from jobs.datasets.segments import chat_template
from jobs.engine import checkpoints, export
from jobs.engine.modelling import build_model, load_tokenizer
from jobs.storage import files
from jobs.training.card import checkpoint_card
from jobs.training.run import build_config


def export_checkpoint(*, job, checkpoint):
    """1. Rebuild the job's model as it started (base weights, LoRA adapters on top).
    2. Copy the checkpoint's trained weights in.
    3. Save it under job.checkpoint_model_dir(step): model/ (merged for LoRA), adapter/."""
    source = files.fetch_folder(checkpoint.path)  # downloaded from the object store if need be
    cfg = build_config(job)
    tokenizer = load_tokenizer(cfg.tokenizer_path or cfg.model_path)
    state = json.loads((source / "state.json").read_text())
    model = build_model(cfg, tokenizer, state.get("vocab_size"))
    checkpoints.load_weights(source, model)
    folder = job.checkpoint_model_dir(checkpoint.step)
    export.export_model(
        model,
        tokenizer,
        folder,
        method=job.method,
        model_card=checkpoint_card(job, checkpoint),
        chat_template=chat_template() if job.dataset.kind == "chat" else None,
    )
    return folder
