"""Read a stored dataset file record by record, never holding the whole file in memory.

Each reader takes a binary file object and yields `Row(line, value)` for every record it can read
and `RowError(line, field, message)` for every one it cannot (a CSV file first yields its
`Header`). Lines are the 1-based lines of the
file: for CSV the line on which a row starts, for a JSON array the line on which an element
starts. What a record *means* (text, prompt/completion, chat) is decided in validation.py.
"""

import codecs
import csv
import json
from dataclasses import dataclass

from jobs.datasets.encoding import ENCODINGS, open_as_utf8
from jobs.datasets.formats import parse_json_int

# One line (or one JSON array element) may be at most this long; a longer one is an error, so
# a single enormous line can never be pulled into memory.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# A .txt paragraph longer than this is split at a line boundary: it is already far past any
# context length, and splitting keeps memory bounded for text without blank lines.
MAX_PARAGRAPH_CHARS = 100_000
CHUNK_CHARS = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
NUMBER_CHARS = "0123456789.eE+-"

# csv's default field limit (128 KiB) would reject long but legitimate texts.
csv.field_size_limit(MAX_RECORD_BYTES)


@dataclass(frozen=True)
class Row:
    line: int
    value: object


@dataclass(frozen=True)
class Header:
    """The column names of a CSV file (its first row)."""

    columns: list


@dataclass(frozen=True)
class RowError:
    line: int | None
    field: str | None
    message: str
    # True when reading cannot go on past it (the rest of a JSON array or CSV file is lost):
    # skipping invalid rows never gets past such an error.
    fatal: bool = False


def iter_rows(fileobj, fmt, encoding="utf-8"):
    """The records of a file in `encoding` (the readers below see it as UTF-8)."""
    readers = {"txt": _txt_rows, "csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_array_rows}
    return readers[fmt](open_as_utf8(fileobj, encoding), ENCODINGS.get(encoding or "utf-8"))


def iter_lines(fileobj, label="UTF-8"):
    """Yield (line number, text without its line ending) or a RowError for a line that is not
    text in the file's encoding (`label`) or is too long. A UTF-8 byte-order mark at the start
    is dropped."""
    number = 0
    while True:
        raw = fileobj.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            _skip_to_line_end(fileobj)
            yield RowError(number, None, f"Line {number} is longer than {_mb(MAX_RECORD_BYTES)}.")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RowError(number, None, _not_text(number, exc, label))
            continue
        yield number, text.rstrip("\r\n")


def _skip_to_line_end(fileobj):
    while True:
        raw = fileobj.readline(CHUNK_CHARS)
        if not raw or raw.endswith(b"\n"):
            return


def _not_text(line, exc, label="UTF-8"):
    where = f"byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1}"
    if label == "UTF-8":
        return (
            f"Line {line} is not UTF-8 text ({where}); save the file as UTF-8, or upload it "
            "again choosing its encoding."
        )
    return f"Line {line} is not {label} text ({where}); choose the file's encoding."


def _mb(size):
    return f"{size // (1024 * 1024)} MB"


# --- .txt: paragraphs -----------------------------------------------------------------------


def _txt_rows(fileobj, label="UTF-8"):
    """Blank-line-separated paragraphs are the examples (in a play: one speech)."""
    lines, start, size = [], None, 0
    for item in iter_lines(fileobj, label):
        if isinstance(item, RowError):
            yield item
            continue
        number, text = item
        if not text.strip():
            if lines:
                yield Row(start, "\n".join(lines))
            lines, start, size = [], None, 0
            continue
        if size + len(text) > MAX_PARAGRAPH_CHARS and lines:
            yield Row(start, "\n".join(lines))
            lines, start, size = [], None, 0
        lines.append(text)
        start = start or number
        size += len(text) + 1
    if lines:
        yield Row(start, "\n".join(lines))


# --- .csv: a header row, then one record per row ----------------------------------------------


def _csv_rows(fileobj, label="UTF-8"):
    lines = _CsvLines(fileobj, label)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        yield Header(header)
        while True:
            start = lines.number + 1
            record = next(reader, None)
            if record is None:
                break
            if lines.error is not None:
                yield lines.error
                lines.error = None
                continue
            if not any(cell.strip() for cell in record):
                continue
            yield Row(start, dict(zip(header, record, strict=False)))
    except csv.Error as exc:
        message = f"Line {lines.number} is not valid CSV: {exc}; the rest of the file was not read."
        yield RowError(lines.number, None, message, fatal=True)


class _CsvLines:
    """Feeds csv.reader decoded lines (it needs the line endings for quoted newlines) and keeps
    the line number and the first decoding problem of the current row."""

    def __init__(self, fileobj, label):
        self._lines = iter_lines(fileobj, label)
        self.number = 0
        self.error = None

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._lines)
        if isinstance(item, RowError):
            self.number = item.line
            self.error = self.error or item
            return "\n"
        self.number, text = item
        return text + "\n"


# --- .jsonl: one object per line --------------------------------------------------------------


def _jsonl_rows(fileobj, label="UTF-8"):
    for item in iter_lines(fileobj, label):
        if isinstance(item, RowError):
            yield item
            continue
        number, text = item
        if not text.strip():
            continue
        try:
            value = json.loads(text, parse_int=parse_json_int)
        except json.JSONDecodeError as exc:
            yield RowError(
                number, None, f"Line {number} is not valid JSON: {exc.msg} (column {exc.colno})."
            )
            continue
        except RecursionError:
            yield RowError(number, None, _too_deep(number))
            continue
        yield _object_or_error(number, value)


def _too_deep(line):
    # Python's JSON parser recurses once per level: thousands of nested brackets overflow it.
    return f"Line {line}: the JSON is nested too deeply to read."


def _object_or_error(line, value):
    if isinstance(value, dict):
        # A "\u0000" escape decodes to NUL; PostgreSQL could not store it in the report.
        if any("\x00" in key for key in value):
            return RowError(line, None, f"Line {line}: a field name contains a NUL character.")
        return Row(line, value)
    return RowError(
        line, None, f"Line {line} holds a JSON {_json_type(value)}, not an object {{...}}."
    )


def _json_type(value):
    names = {list: "array", str: "string", bool: "boolean", type(None): "null", dict: "object"}
    return names.get(type(value), "number")


# --- .json: one array of objects, parsed incrementally ----------------------------------------


def _json_array_rows(fileobj, label="UTF-8"):
    """A small incremental parser: json.JSONDecoder.raw_decode on one element at a time over a
    buffer that is refilled as needed, so a large array is never loaded whole."""
    stream = _TextStream(fileobj, label)
    try:
        yield from _json_array_elements(stream)
    except _StreamError as exc:
        yield exc.error


def _json_array_elements(stream):
    if stream.next_char() != "[":
        yield RowError(
            stream.line,
            None,
            "A .json dataset must be one JSON array of objects: [{...}, {...}].",
            fatal=True,
        )
        return
    stream.advance(1)
    if stream.next_char() == "]":
        stream.advance(1)
        yield from _after_array(stream)
        return
    while True:
        stream.next_char()  # raw_decode does not skip leading whitespace
        line = stream.line
        value = stream.decode_value()
        if isinstance(value, RowError):
            yield value
            return
        yield _object_or_error(line, value)
        separator = stream.next_char()
        stream.advance(1)
        if separator == "]":
            yield from _after_array(stream)
            return
        if separator != ",":
            found = repr(separator) if separator else "the end of the file"
            yield RowError(
                stream.line,
                None,
                f"Line {stream.line}: expected ',' or ']' after an element, found {found}; "
                "the rest of the file was not read.",
                fatal=True,
            )
            return


def _after_array(stream):
    if stream.next_char():
        yield RowError(
            stream.line,
            None,
            f"Line {stream.line}: unexpected content after the closing ']'.",
            fatal=True,
        )


class _StreamError(Exception):
    def __init__(self, error):
        self.error = error


class _TextStream:
    """Decoded text over a binary file, with a refillable buffer and the current line number."""

    def __init__(self, fileobj, label="UTF-8"):
        self._file = fileobj
        self._label = label
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._first = True
        self._bytes_line = 1  # line reached by the bytes decoded so far, for decoding errors
        self.line = 1

    def _fill(self, size=None):
        """Append up to `size` bytes' worth of text; False at the end of the file."""
        if self._eof:
            return False
        raw = self._file.read(size or CHUNK_CHARS)
        if self._first and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        self._first = False
        self._eof = not raw
        try:
            text = self._decoder.decode(raw, final=self._eof)
        except UnicodeDecodeError as exc:
            line = self._bytes_line + raw.count(b"\n", 0, max(exc.start, 0))
            error = RowError(line, None, _not_text(line, exc, self._label), fatal=True)
            raise _StreamError(error) from None
        self._bytes_line += raw.count(b"\n")
        # Drop what was consumed so the buffer only ever holds the current element.
        self._buffer = self._buffer[self._pos :] + text
        self._pos = 0
        return not self._eof or bool(text)

    def advance(self, count):
        self.line += self._buffer.count("\n", self._pos, self._pos + count)
        self._pos += count

    def next_char(self):
        """Skip whitespace; return the next character, or "" at the end of the file."""
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in " \t\r\n":
                self.advance(1)
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    def decode_value(self):
        decoder = json.JSONDecoder(parse_int=parse_json_int)
        while True:
            try:
                value, end = decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if self._grow():
                    continue
                line = self.line + self._buffer.count("\n", self._pos, exc.pos)
                message = f"Line {line} is not valid JSON: {exc.msg}; the rest was not read."
                return RowError(line, None, message, fatal=True)
            except RecursionError:
                return RowError(self.line, None, _too_deep(self.line), fatal=True)
            # A number cut by the buffer's end ("12" of "123", "0" of "0.5") parses too early:
            # only trust it once something other than number characters follows.
            if self._may_continue(end) and self._grow():
                continue
            self.advance(end - self._pos)
            return value

    def _may_continue(self, end):
        tail = self._buffer[end : end + 32]
        return len(tail) < 32 and not tail.strip(NUMBER_CHARS)

    def _grow(self):
        pending = len(self._buffer) - self._pos
        if pending > MAX_RECORD_BYTES:
            error = f"Line {self.line}: an element is longer than {_mb(MAX_RECORD_BYTES)}."
            raise _StreamError(RowError(self.line, None, error, fatal=True))
        # Doubling keeps re-parsing a large element linear overall.
        return self._fill(max(CHUNK_CHARS, pending))
