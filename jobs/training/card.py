"""The model card: the README.md saved beside a job's model, saying what it was trained from,
on what data, with which hyperparameters, and how to load it."""

from jobs.datasets.formats import FORMATS, alpaca_prompt
from jobs.datasets.reader import data_format_of
from jobs.datasets.segments import chat_prompt
from jobs.models import BaseModel


def model_card(job, result, *, gguf_quants=()):
    """The card's Markdown for `job`, with the engine's final figures from `result` and how to
    run each format that exists (gguf_quants: the GGUF files written beside the model)."""
    hp_lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(job.hyperparameters.items()))
    base = job.parent_job.name if job.parent_job_id else job.base_model.display_name
    if job.parent_checkpoint_step is not None:
        base += f" (its checkpoint at step {job.parent_checkpoint_step})"
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

{prompt_format(job.dataset)}
{exported_weights(result)}
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


def checkpoint_card(job, checkpoint):
    """The card of a kept checkpoint saved as a model: which job and step, and how to prompt."""
    loss = format_loss(checkpoint.eval_loss)
    return f"""# {job.name}: checkpoint at step {checkpoint.step}

A checkpoint of LLM Tuner job #{job.pk} ({job.get_method_display()}, {job.get_status_display()}),
saved at step {checkpoint.step} of {job.total_steps} (eval loss {loss}).
Training data: {job.dataset.name} ({job.dataset.get_kind_display()}).

{prompt_format(job.dataset)}
## Use
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
```
"""


def prompt_format(dataset):
    """The card's "Prompt format" section: the exact text the model was trained on, and the
    prompt to give it so it answers the way it learned to."""
    data_format = FORMATS.get(data_format_of(dataset) or "")
    intro = f"Trained on {data_format.label}: {data_format.template}" if data_format else ""
    if dataset.kind == "chat":
        example = chat_prompt(
            [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Hi"}]
        )
        how = (
            "Each message is one line, `System: `, `User: ` or `Assistant: ` followed by its "
            "content and a newline; only the assistant's lines were learned, and a conversation "
            "ends with `<|endoftext|>`. The tokenizer carries this as its `chat_template`:\n\n"
            "```python\nprompt = tokenizer.apply_chat_template(messages, tokenize=False, "
            "add_generation_prompt=True)\n```\n\nwhich, for a system message and one user "
            "message, gives exactly:"
        )
    elif data_format is not None and data_format.name == "alpaca":
        example = alpaca_prompt("Name three colours.")
        how = (
            "Give the model the Alpaca template up to `### Response:` and a newline; it "
            "writes the response and ends it with `<|endoftext|>`. For example:"
        )
    elif dataset.kind == "prompt_completion":
        example = "Translate to French: cheese\n"
        how = (
            "Give the model the prompt, followed by a newline unless the prompt already ends "
            "with whitespace; it writes the completion and ends it with `<|endoftext|>`. "
            "For example:"
        )
    else:
        return (
            f"## Prompt format\n{intro}\n\nPlain text, packed into blocks and separated by "
            "`<|endoftext|>`: the model continues whatever text it is given.\n"
        )
    return f"## Prompt format\n{intro}\n\n{how}\n\n```text\n{example}\n```\n"


def exported_weights(result):
    """Which step's weights these are, when early stopping or the best model changed it."""
    lines = []
    if result.early_stopped:
        lines.append(
            f"- Stopped early at step {result.step} of {result.total_steps}: the eval loss "
            "stopped improving."
        )
    if result.exported_step is not None and result.exported_step != result.step:
        lines.append(
            f"- These are the best weights, from step {result.exported_step} (eval loss "
            f"{format_loss(result.best_eval_loss)}); the last step's eval loss was "
            f"{format_loss(result.eval_loss)}."
        )
    return "## Weights\n" + "\n".join(lines) + "\n" if lines else ""


def format_loss(value):
    return "n/a" if value is None else f"{value:.4f}"
