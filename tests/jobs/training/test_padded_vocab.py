"""Built-in models pad their vocabulary to a multiple of 64 (50,257 -> 50,304): the tokenizer
keeps its tokens, generation never picks a padding id, and jobs started before keep theirs."""

import json
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

from jobs.catalog.services import gpt2_parameters, seed_catalog
from jobs.engine import export, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import gpt2_tokenizer
from jobs.models import BaseModel
from jobs.playground import sampling

TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 128}
PADDED = {**TINY, "vocab_size": 50304}
WORDS = "the cat sat on a mat while dogs ran over green hills under blue skies".split()


def text_examples(n, seed=0):
    rng = random.Random(seed)
    return [[(" ".join(rng.choice(WORDS) for _ in range(12)), True)] for _ in range(n)]


def config(tmp_path, **overrides):
    values = {
        "model_config": PADDED,
        "max_seq_length": 32,
        "batch_size": 4,
        "eval_steps": 0,
        "save_steps": 0,
        "output_dir": str(tmp_path),
        "num_threads": 1,
    }
    return loop.TrainConfig(**{**values, **overrides})


@pytest.mark.django_db
def test_built_in_models_have_a_padded_vocabulary_and_old_rows_get_it_on_migrate():
    tiny = BaseModel.objects.get(key="builtin-tiny")
    assert tiny.config["vocab_size"] == 50304
    assert tiny.parameters == gpt2_parameters(
        n_layer=2, n_embd=64, n_positions=256, vocab_size=50304
    )
    # A row seeded before padding, whose name an operator changed since.
    old_config = {k: v for k, v in tiny.config.items() if k != "vocab_size"}
    BaseModel.objects.filter(pk=tiny.pk).update(
        config=old_config, parameters=123, display_name="Tiny (ours)"
    )
    seed_catalog()
    tiny.refresh_from_db()
    assert tiny.config == {**old_config, "vocab_size": 50304}
    assert tiny.parameters > 50304 * 64 and tiny.display_name == "Tiny (ours)"
    assert BaseModel.objects.get(key="gpt2").config == {}  # pretrained models keep their own


def test_a_built_in_model_trains_with_the_padded_vocabulary_and_saves_it(tmp_path):
    result = loop.train(config(tmp_path), text_examples(30))
    folder = tmp_path / "final"
    export.export_model(result.model, result.tokenizer, folder, method="full", model_card="#\n")
    loaded = AutoModelForCausalLM.from_pretrained(folder / "model")

    assert len(result.tokenizer) == 50257
    assert loaded.get_input_embeddings().weight.shape[0] == 50304
    assert loaded.generation_config.suppress_tokens == list(range(50257, 50304))
    assert result.mfu is None  # no MFU on a CPU


def favour_padding_ids(model):
    """Make every padding id the model's top choice, by far: only masking keeps them out."""

    def boost(module, args, logits):
        logits = logits.clone()
        logits[..., 50257:] += 1e4
        return logits

    model.get_output_embeddings().register_forward_hook(boost)
    return model


def test_generation_never_produces_a_padding_id():
    tokenizer = gpt2_tokenizer()
    torch.manual_seed(0)
    model = favour_padding_ids(GPT2LMHeadModel(GPT2Config(**PADDED)).eval())
    prompt = tokenizer("the cat", return_tensors="pt")["input_ids"]
    unmasked = model.generate(prompt, max_new_tokens=5, do_sample=False, pad_token_id=50256)
    assert (unmasked[0, 2:] >= 50257).all()  # what an unmasked model does here

    samples = export.generate_samples(model, tokenizer, ["the cat"], max_new_tokens=5)
    greedy = answer(model, tokenizer, temperature=0, top_p=1)
    sampled = answer(model, tokenizer, temperature=0.8, top_p=0.9)

    # A padding id decodes to nothing: real text means real tokens.
    assert tokenizer.decode([50300]) == ""
    assert samples[0]["output"].strip() and greedy.strip() and sampled.strip()


def answer(model, tokenizer, **options):
    """Five new tokens through the sampler every playground and API answer goes through."""
    ids, max_tokens = sampling.prompt_ids(model, tokenizer, "the cat", 5)
    generator = sampling.make_generator(3)
    choice = sampling.sample(
        model, tokenizer, ids, max_tokens=max_tokens, stop=[], generator=generator, **options
    )
    return choice.text


class StopAt(Callbacks):
    def __init__(self, step):
        self.step, self.current = step, 0

    def on_step(self, progress):
        self.current = progress["step"]

    def should_stop(self):
        return "cancelled" if self.current >= self.step else None


def test_a_job_checkpointed_before_padding_resumes_with_its_own_vocabulary(tmp_path):
    examples = text_examples(60)
    loop.train(config(tmp_path, model_config=TINY, save_steps=3), examples, callbacks=StopAt(4))
    newest = sorted((tmp_path / "checkpoints").glob("step-*"))[-1]
    counters = json.loads((newest / "state.json").read_text())
    assert counters.pop("vocab_size") == 50257
    (newest / "state.json").write_text(json.dumps(counters))  # as written before padding

    resumed = loop.train(config(tmp_path), examples)  # the catalog now says 50,304

    assert resumed.model.config.vocab_size == 50257
    assert resumed.step == resumed.total_steps and resumed.eval_loss is not None
