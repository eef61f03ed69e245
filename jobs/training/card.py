"""The model card: the README.md saved beside a job's model, saying what it was trained from,
on what data, with which hyperparameters, and how to load it."""

from jobs.models import BaseModel


def model_card(job, result):
    """The card's Markdown for `job`, with the engine's final figures from `result`."""
    hp_lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(job.hyperparameters.items()))
    base = job.parent_job.name if job.parent_job_id else job.base_model.display_name
    random_note = ""
    if job.base_model.source == BaseModel.Source.BUILTIN and not job.parent_job_id:
        random_note = (
            "\nThe base model started from random weights: "
            "it knows only what this data taught it.\n"
        )
    validation = (
        job.validation_dataset.name
        if job.validation_dataset_id
        else "held out automatically from the training data"
    )
    return f"""# {job.name}

Fine-tuned with LLM Tuner (job #{job.pk}) from **{base}** ({job.get_method_display()}).
{random_note}
## Data
- Training data: {job.dataset.name} ({job.dataset.get_kind_display()}, \
{job.dataset.num_examples} examples, {job.dataset.total_tokens} tokens)
- Validation: {validation} ({result.eval_rows} rows)

## Hyperparameters
| name | value |
|---|---|
{hp_lines}

## Final metrics
- Steps: {result.step}; tokens trained on: {result.tokens_seen}
- Train loss: {format_loss(result.train_loss)}; eval loss: {format_loss(result.eval_loss)}
- Training time: {result.seconds:.1f} s on {result.device} ({result.tokens_per_second:.0f} tokens/s)

## Use
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
```
"""


def format_loss(value):
    return "n/a" if value is None else f"{value:.4f}"
