"""The base-model catalog: seeded rows, offline availability, operator folders, users' jobs."""

import pytest
from django.core.exceptions import ValidationError
from transformers import GPT2Config, GPT2LMHeadModel

from jobs.catalog.services import catalog_for, gpt2_parameters, resolve_base_model
from jobs.models import BaseModel, Job
from tests.jobs.training.runs import make_dataset


@pytest.fixture(autouse=True)
def _no_operator_models(settings, tmp_path):
    settings.BASE_MODELS_DIR = str(tmp_path / "operator-models")


def entries(user):
    return {entry["key"]: entry for entry in catalog_for(user)}


@pytest.mark.django_db
def test_the_catalog_offers_the_gpt2_family_and_the_built_ins_with_their_sizes(owner):
    catalog = entries(owner)
    assert {
        "gpt2",
        "distilgpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
        "builtin-tiny",
        "builtin-small",
        "builtin-gpt2-124m",
    } <= set(catalog)
    assert catalog["gpt2"]["parameters"] == 124_439_808
    # GPT-2's shape with its vocabulary padded from 50,257 to 50,304 rows of 768.
    assert catalog["builtin-gpt2-124m"]["parameters"] == 124_439_808 + 47 * 768
    assert catalog["gpt2-xl"]["layers"] == 48 and catalog["gpt2-xl"]["context_length"] == 1024
    assert catalog["gpt2"]["memory_bytes"] == 16 * 124_439_808
    tiny = catalog["builtin-tiny"]
    assert (
        tiny["available"] and tiny["available_offline"] and "random" in tiny["description"].lower()
    )


@pytest.mark.django_db
def test_a_hub_model_without_network_or_local_copy_is_unavailable_with_the_reason(owner):
    gpt2 = entries(owner)["gpt2"]
    assert not gpt2["available"] and not gpt2["available_offline"]
    assert gpt2["unavailable_reason"] == (
        "gpt2 is not downloaded on this server and the Hugging Face Hub cannot be reached "
        "(no network access); ask an operator."
    )
    with pytest.raises(ValidationError) as refused:
        resolve_base_model(owner=owner, key="gpt2")
    assert "ask an operator" in refused.value.message_dict["base_model"][0]


@pytest.mark.django_db
def test_only_staff_see_the_server_folder_an_unavailable_model_belongs_in(
    owner, operator, owner_api, tmp_path
):
    BaseModel.objects.create(
        key="house", display_name="House", source=BaseModel.Source.LOCAL, local_path="/srv/house"
    )
    listed = {e["key"]: e for e in owner_api.get("/api/v1/base-models/").json()}
    for key in ("gpt2", "house"):
        reason = listed[key]["unavailable_reason"]
        assert "ask an operator" in reason
        assert "/" not in reason and str(tmp_path) not in reason
    staff = entries(operator)
    assert str(tmp_path / "operator-models" / "gpt2") in staff["gpt2"]["unavailable_reason"]
    assert "/srv/house" in staff["house"]["unavailable_reason"]


@pytest.mark.django_db
def test_a_hub_model_an_operator_put_in_the_models_folder_is_available_offline(
    owner, settings, tmp_path
):
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=32)).save_pretrained(
        tmp_path / "operator-models" / "distilgpt2"
    )
    assert entries(owner)["distilgpt2"]["available_offline"]
    base, parent = resolve_base_model(owner=owner, key="distilgpt2")
    assert base.key == "distilgpt2" and parent is None


@pytest.mark.django_db
def test_an_operator_registered_folder_shows_its_size_from_its_config(owner, tmp_path):
    GPT2LMHeadModel(GPT2Config(n_layer=3, n_head=2, n_embd=32, n_positions=64)).save_pretrained(
        tmp_path / "house"
    )
    BaseModel.objects.create(
        key="house",
        display_name="House",
        source=BaseModel.Source.LOCAL,
        local_path=str(tmp_path / "house"),
    )
    house = entries(owner)["house"]
    assert house["available"] and house["layers"] == 3 and house["context_length"] == 64
    assert house["parameters"] == gpt2_parameters(n_layer=3, n_embd=32, n_positions=64)


@pytest.mark.django_db
def test_a_succeeded_job_is_offered_to_its_owner_only(owner, other_user, settings):
    job = Job.objects.create(
        owner=owner,
        name="mine",
        dataset=make_dataset(owner),
        base_model=BaseModel.objects.get(key="builtin-tiny"),
        status=Job.Status.SUCCEEDED,
        output_dir="jobs/1/final",
    )
    GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=64, n_positions=256)).save_pretrained(
        settings.MEDIA_ROOT / "jobs/1/final/model"
    )

    entry = entries(owner)[f"job-{job.pk}"]
    assert entry["available"] and entry["job_id"] == job.pk and entry["layers"] == 2
    assert resolve_base_model(owner=owner, key=f"job-{job.pk}") == (job.base_model, job)
    assert f"job-{job.pk}" not in entries(other_user)
    with pytest.raises(ValidationError):
        resolve_base_model(owner=other_user, key=f"job-{job.pk}")


@pytest.mark.django_db
def test_the_catalog_endpoint_lists_the_entries(owner_api):
    response = owner_api.get("/api/v1/base-models/")
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert "builtin-tiny" in {row["key"] for row in rows}
