"""Every error reaches the official client in OpenAI's shape, as the exception class its status
maps to, naming the parameter at fault; another user's objects are 404s; a retry that cannot
help is refused with x-should-retry: false, and a full inference pool answers 429 with
Retry-After."""

import threading

import openai
import pytest

from tests.jobs.openai_api.conftest import CHAT_ROWS, jsonl

BAD_ROWS = b'{"prompt": "a", "completion": "b"}\n{"prompt": 3}\n'


def _upload(client, rows=CHAT_ROWS):
    return client.files.create(file=("chat.jsonl", jsonl(rows)), purpose="fine-tune")


def _raises(kind, call, *, param=None, match=None):
    with pytest.raises(kind, match=match) as raised:
        call()
    error = raised.value
    assert set(error.body) >= {"message", "type", "param", "code"}
    assert error.param == param
    if error.status_code != 429:
        assert error.response.headers["x-should-retry"] == "false"
    return error


def test_a_missing_or_wrong_key_is_a_401(owner, openai_for, live_server):
    client = openai_for(owner)
    wrong = openai.OpenAI(base_url=client.base_url, api_key="not-a-token", max_retries=0)
    _raises(openai.AuthenticationError, wrong.models.list, match="Invalid token")


def test_another_users_files_and_jobs_are_404s(owner, other_user, openai_for):
    mine, theirs = openai_for(owner), openai_for(other_user)
    upload = _upload(mine)
    job = mine.fine_tuning.jobs.create(model="builtin-tiny", training_file=upload.id)
    for call in (
        lambda: theirs.files.retrieve(upload.id),
        lambda: theirs.files.content(upload.id),
        lambda: theirs.files.delete(upload.id),
        lambda: theirs.fine_tuning.jobs.retrieve(job.id),
        lambda: theirs.fine_tuning.jobs.cancel(job.id),
        lambda: theirs.fine_tuning.jobs.pause(job.id),
        lambda: list(theirs.fine_tuning.jobs.list_events(job.id)),
    ):
        _raises(openai.NotFoundError, call)
    _raises(
        openai.NotFoundError,
        lambda: theirs.fine_tuning.jobs.create(model="builtin-tiny", training_file=upload.id),
        param="training_file",
    )
    assert list(theirs.files.list()) == [] and list(theirs.fine_tuning.jobs.list()) == []
    _raises(openai.NotFoundError, lambda: mine.files.retrieve("file-abc"))


def test_uploads_name_what_is_wrong(owner, openai_for):
    client = openai_for(owner)
    _raises(
        openai.BadRequestError,
        lambda: client.files.create(file=("a.jsonl", jsonl(CHAT_ROWS)), purpose="batch"),
        param="purpose",
    )
    _raises(
        openai.BadRequestError,
        lambda: client.files.create(file=("a.exe", b"MZ"), purpose="fine-tune"),
        param="file",
        match="not supported",
    )
    bad = client.files.create(file=("bad.jsonl", BAD_ROWS), purpose="fine-tune")
    assert bad.status == "error" and "line 2" in bad.status_details
    _raises(
        openai.UnprocessableEntityError,
        lambda: client.fine_tuning.jobs.create(model="builtin-tiny", training_file=bad.id),
        param="training_file",
        match="line 2",
    )


@pytest.mark.parametrize(
    "options,param,match",
    [
        ({"model": "gpt-17"}, "model", "Unknown base model"),
        ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs", None),
        ({"hyperparameters": {"warp": 9}}, "hyperparameters.warp", "Unknown hyperparameter"),
        ({"hyperparameters": {"learning_rate_multiplier": -1}}, None, None),
        ({"suffix": "has spaces"}, "suffix", None),
        ({"method": {"type": "dpo"}}, "method.type", "Only supervised"),
        ({"metadata": {"k": 5}}, "metadata", None),
    ],
)
def test_a_bad_fine_tuning_request_names_its_parameter(owner, openai_for, options, param, match):
    client = openai_for(owner)
    upload = _upload(client)
    request = {"model": "builtin-tiny", "training_file": upload.id, **options}
    if param is None and "hyperparameters" in options:
        param = "hyperparameters.learning_rate_multiplier"
    _raises(
        openai.BadRequestError,
        lambda: client.fine_tuning.jobs.create(**request),
        param=param,
        match=match,
    )


def test_a_file_in_use_cannot_be_deleted_and_a_finished_job_not_cancelled(owner, openai_for):
    client = openai_for(owner)
    upload = _upload(client)
    job = client.fine_tuning.jobs.create(model="builtin-tiny", training_file=upload.id)
    _raises(openai.ConflictError, lambda: client.files.delete(upload.id), match="used by")
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    _raises(openai.ConflictError, lambda: client.fine_tuning.jobs.cancel(job.id), param="status")
    assert client.files.delete(upload.id).deleted is True


def test_completions_refuse_unknown_models_and_bad_sampling(owner, other_user, openai_for):
    client = openai_for(owner)
    _raises(
        openai.NotFoundError,
        lambda: client.completions.create(model="ft:builtin-tiny:x:ftjob-999", prompt="Hi"),
        param="model",
    )
    _raises(
        openai.BadRequestError,
        lambda: client.completions.create(model="builtin-tiny", prompt="Hi", temperature=5),
        param="temperature",
    )
    _raises(
        openai.BadRequestError,
        lambda: client.chat.completions.create(
            model="builtin-tiny", messages=[{"role": "robot", "content": "x"}]
        ),
        param="messages[0].role",
    )


def test_a_full_pool_answers_429_with_retry_after_and_others_still_get_served(
    owner, other_user, openai_for, inference_server
):
    inference_server(INFERENCE_PER_USER=1, INFERENCE_QUEUE=4, INFERENCE_SLOTS=2)
    client, other = openai_for(owner), openai_for(other_user)
    long = {"model": "builtin-small", "prompt": "Once", "max_tokens": 384, "temperature": 1}
    stream = client.completions.create(**long, stream=True)
    first = next(iter(stream))  # admitted and generating
    assert first.choices[0].text is not None
    refused = _raises(
        openai.RateLimitError,
        lambda: client.completions.create(model="builtin-tiny", prompt="Hi", max_tokens=2),
        match="in progress",
    )
    assert int(refused.response.headers["retry-after"]) >= 1
    served = {}
    thread = threading.Thread(
        target=lambda: served.update(
            answer=other.completions.create(model="builtin-tiny", prompt="Hi", max_tokens=2)
        )
    )
    thread.start()  # another user is admitted while the first user's request still runs
    thread.join(timeout=1)
    stream.close()  # frees its slot, so a slow machine does not keep the other waiting long
    thread.join(timeout=120)
    assert served["answer"].usage.completion_tokens >= 1


def test_a_read_only_token_reads_but_cannot_upload_or_launch(owner, openai_for, live_server):
    from accounts.models import ApiToken

    upload = _upload(openai_for(owner))
    _, key = ApiToken.issue(user=owner, name="dashboard", read_only=True)
    reader = openai.OpenAI(base_url=f"{live_server.url}/openai/v1", api_key=key, max_retries=0)
    assert [f.id for f in reader.files.list()] == [upload.id]
    _raises(openai.PermissionDeniedError, lambda: _upload(reader), match="read-only")
    launch = lambda: reader.fine_tuning.jobs.create(model="builtin-tiny", training_file=upload.id)  # noqa: E731
    _raises(openai.PermissionDeniedError, launch, match="read-only")


def test_odd_values_are_refused_by_name_never_a_server_error(owner, openai_for):
    """Values that once reached the database or int() unchecked and answered 500."""
    client = openai_for(owner)
    _raises(
        openai.BadRequestError,
        lambda: list(client.fine_tuning.jobs.list(metadata={"project": "a\x00b"})),
        param="metadata[project]",
    )
    _raises(
        openai.NotFoundError,
        lambda: client.completions.create(model="job-\u00b2", prompt="Hi"),
        param="model",
    )
    _raises(
        openai.BadRequestError,
        lambda: client.completions.create(
            model="builtin-tiny", prompt="Hi", stream=True, extra_body={"stream_options": "yes"}
        ),
        param="stream_options",
    )
    missing = _raises(openai.NotFoundError, lambda: client.models.retrieve("a\nb"))
    assert missing.code == "unknown_url"  # the catch-all's JSON, not Django's HTML page
