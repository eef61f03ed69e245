"""The model card: the README.md saved beside a job's model, saying what it was trained from,
on what data, with which hyperparameters, and how to load it."""

from jobs.models import BaseModel


def model_card(job, result, *, gguf_quants=()):
    """The card's Markdown for `job`, with the engine's final figures from `result` and how to
    run each format that exists (gguf_quants: the GGUF files written beside the model)."""
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
- Token accuracy: train {_share(result.train_accuracy)}, validation \
{_share(result.eval_accuracy)}; validation perplexity {_number(result.eval_perplexity)}
- Training time: {result.seconds:.1f} s on {result.device} ({result.tokens_per_second:.0f} tokens/s)

{formats_section(job, gguf_quants)}"""


def formats_section(job, gguf_quants):
    """Which formats exist and how to run each one."""
    rows = ["| Hugging Face (safetensors) | `model/` in the zip download | transformers |"]
    if job.method == "lora":
        rows.append("| LoRA adapter alone | `adapter/` in the zip download | peft |")
    for quant in gguf_quants:
        rows.append(f"| GGUF {quant} | `{job.gguf_stem}-{quant}.gguf` | llama.cpp, Ollama |")
    if gguf_quants:
        rows.append("| Ollama Modelfile | `Modelfile` (beside the q8_0 file) | Ollama |")
    table = "\n".join(rows)
    text = f"""## Formats
| format | file | runs with |
|---|---|---|
{table}

## Run it
With transformers (unzip the download; `model/` is this folder):
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
```
"""
    if not gguf_quants:
        return text + "\nNo GGUF files: they are written for GPT-2 models only.\n"
    q8 = f"{job.gguf_stem}-q8_0.gguf"
    return (
        text
        + f"""
With llama.cpp:
```sh
llama-cli -m {q8} -p "Your prompt" -n 64
llama-server -m {q8} --port 8080
```

With Ollama (the Modelfile and the q8_0 file in one folder; the Modelfile's template writes
prompts as the training data did, and `<|endoftext|>` ends an answer):
```sh
ollama create my-model -f Modelfile
ollama run my-model "Your prompt"
```
"""
    )


def _share(value):
    return "n/a" if value is None else f"{value:.1%}"


def _number(value):
    return "n/a" if value is None else f"{value:,.2f}"


def format_loss(value):
    return "n/a" if value is None else f"{value:.4f}"
