"""The incremental JSON array reader agrees with json.loads, wherever the chunks happen to split."""

import io
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jobs.datasets import rows
from jobs.datasets.rows import Row, RowError, iter_rows

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture(autouse=True)
def _tiny_chunks(monkeypatch):
    # Elements, strings, numbers and multi-byte characters all straddle chunk boundaries.
    monkeypatch.setattr(rows, "CHUNK_CHARS", 7)


def is_row(element):
    """An object whose field names PostgreSQL can store (a NUL in a name is refused)."""
    return isinstance(element, dict) and not any("\x00" in key for key in element)


@given(elements=st.lists(values, max_size=8), indent=st.sampled_from([None, 1, 2]))
@example(elements=[{"\x00": None}, {"a": "\x00"}], indent=None)
def test_the_array_reader_returns_what_json_loads_returns(elements, indent):
    data = json.dumps(elements, indent=indent, ensure_ascii=False).encode()
    items = list(iter_rows(io.BytesIO(data), "json"))
    assert [item.value for item in items if isinstance(item, Row)] == [
        e for e in elements if is_row(e)
    ]
    assert sum(isinstance(item, RowError) for item in items) == sum(not is_row(e) for e in elements)


def test_elements_are_numbered_by_the_line_they_start_on():
    data = b'[\n  {"text": "a"},\n\n  {"text":\n "b"}, 12345678901234,\n  {"text": "c\xc3\xa9"}\n]'
    items = list(iter_rows(io.BytesIO(data), "json"))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Row", 2),
        ("Row", 4),
        ("RowError", 5),
        ("Row", 6),
    ]
    assert items[3].value == {"text": "c\u00e9"}


def test_a_bad_byte_deep_in_the_file_is_reported_on_its_line():
    data = b'[{"text": "one"},\n{"text": "two"},\n{"text": "thr\xffee"}]'
    items = list(iter_rows(io.BytesIO(data), "json"))
    assert isinstance(items[-1], RowError)
    assert items[-1].line == 3 and "not UTF-8" in items[-1].message
