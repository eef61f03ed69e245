"""File-level checks on the first bytes: empty, binary, wrong encoding, wrong extension.

They run before any record is parsed, so a PDF renamed .txt gets one clear sentence instead of
thousands of row errors.
"""

import json

from jobs.datasets.encoding import UTF32_BOMS, head_as_utf8

HEAD_BYTES = 64 * 1024

MAGIC = [
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .docx file is one)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"),
]
# Text never holds these control bytes; a few in 64 KiB mean the file is not text.
BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\x0b\x1b")


def head_problem(head, fmt, encoding="utf-8"):
    """(line or None, one sentence) if the file cannot be a dataset of this format, else None.

    Magic numbers are looked for in the raw bytes; the rest in the text (as UTF-8)."""
    problem = _magic(head, fmt)
    if problem:
        return problem
    text = head_as_utf8(head, encoding)
    for check in (_empty, _binary, _extension_mismatch):
        problem = check(text, fmt)
        if problem:
            return problem
    return None


def _empty(head, fmt):
    if not head.removeprefix(b"\xef\xbb\xbf").strip():
        return None, "The file is empty."
    return None


def _magic(head, fmt):
    for magic, what in MAGIC:
        if head.startswith(magic):
            return None, f"This is {what}, not a .{fmt} text file."
    if head.startswith(UTF32_BOMS):
        return None, "The file is UTF-32 text; save it as UTF-8 (or UTF-16)."
    return None


def _binary(head, fmt):
    binary = sum(head.count(bytes([b])) for b in BINARY_BYTES)
    if binary and (b"\x00" in head or binary > len(head) // 100):
        line = head.count(b"\n", 0, _first_binary(head)) + 1
        return line, f"Line {line} holds binary content: this is not a text file."
    return None


def _first_binary(head):
    return min(i for i in (head.find(bytes([b])) for b in BINARY_BYTES) if i >= 0)


def _extension_mismatch(head, fmt):
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first = text[:1]
    first_line = text.split(b"\n", 1)[0].strip()
    looks_jsonl = first == b"{" and _is_json_object(first_line)
    if fmt == "json" and first != b"[":
        hint = " It looks like JSON Lines: name it .jsonl." if looks_jsonl else ""
        return 1, f"A .json dataset must be one JSON array of objects, starting with '['.{hint}"
    if fmt == "jsonl" and first == b"[":
        return 1, "This looks like a JSON array, not JSON Lines: name it .json."
    if fmt == "jsonl" and first != b"{":
        return 1, "Line 1 is not a JSON object: a .jsonl file holds one JSON object {...} per line."
    if fmt in ("csv", "txt") and (looks_jsonl or (first == b"[" and first_line.startswith(b"[{"))):
        kind = "JSON Lines: name it .jsonl" if looks_jsonl else "a JSON array: name it .json"
        return 1, f"This .{fmt} file holds {kind}."
    return None


def _is_json_object(line):
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:  # also UnicodeDecodeError
        return False
