"""Whatever bytes are uploaded, the answer is a validation report or a clear error, never a 500."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["text", "prompt", "completion", "messages", "role", "content", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
jsonl_bytes = st.lists(json_values, max_size=15).map(
    lambda values: "\n".join(json.dumps(v) for v in values).encode()
)
json_bytes = st.lists(json_values, max_size=15).map(lambda values: json.dumps(values).encode())
texty_bytes = st.text(max_size=400).map(str.encode)
uploads = st.tuples(
    st.sampled_from(["data.txt", "data.csv", "data.json", "data.jsonl", "data.bin", "noextension"]),
    st.one_of(st.binary(max_size=600), jsonl_bytes, json_bytes, texty_bytes),
    st.one_of(
        st.just(""), st.just('{"text": "text"}'), st.just('{"prompt": "a"}'), st.text(max_size=10)
    ),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(upload=uploads)
def test_any_bytes_give_a_report_or_a_clear_error(owner_api, upload):
    filename, content, mapping = upload
    data = {"file": SimpleUploadedFile(filename, content)}
    if mapping:
        data["column_mapping"] = mapping
    response = owner_api.post("/api/v1/datasets/", data, format="multipart")
    assert response.status_code in (201, 400), response.content
    body = response.json()
    if response.status_code == 400:
        assert body and all(isinstance(messages, list) and messages for messages in body.values())
        return
    assert body["status"] in ("valid", "invalid")
    assert body["is_valid"] == (body["status"] == "valid")
    assert body["is_valid"] == (body["error_count"] == 0)
    for error in body["errors"]:
        assert error["message"] and (error["line"] is None or error["line"] >= 1)
        assert "internal error" not in error["message"]
