"""Text encodings: which one a file is in, and reading it as UTF-8 whatever it is.

UTF-8 (with or without a byte-order mark) is read as it is. A UTF-16 file announces itself with
a byte-order mark. Anything else whose first 64 KiB are not UTF-8 is taken for Windows-1252
(Western European; a superset of Latin-1, as spreadsheet programs on Windows save CSV), and the
report says so with how to choose another. The readers in rows.py only ever see UTF-8 bytes:
RecodedFile converts other encodings chunk by chunk, so a 1 GB file is still streamed.
"""

import codecs

# The names a user may give (the upload's `encoding` field) with how the report names them.
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "windows-1252": "Windows-1252 (Western European)",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
UTF32_BOMS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
CHUNK_BYTES = 64 * 1024


def detect_encoding(head):
    """The encoding of a file starting with `head` (UTF-32 is left to the binary check)."""
    if head.startswith(UTF32_BOMS):
        return "utf-8"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    if _fits(head, "utf-8") or not _fits(head, "windows-1252"):
        # Bytes that fit no encoding stay UTF-8: the line-by-line errors say where they are.
        return "utf-8"
    return "windows-1252"


def _fits(head, encoding):
    try:
        # Not final: the head may end in the middle of a character.
        codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def encoding_note(encoding, *, requested):
    """A sentence for the report when the file was not read as plain UTF-8, else None."""
    if encoding == "utf-8":
        return None
    label = ENCODINGS[encoding]
    if requested:
        return f"The file was read as {label}, as you asked."
    if encoding == "utf-16":
        return "The file is UTF-16 text (it starts with a byte-order mark) and was read as such."
    return (
        f"The file is not UTF-8, so it was read as {label}. If accented letters or symbols "
        "look wrong in the preview, upload it again and choose its encoding (the Encoding box, "
        "or the API's `encoding` field: utf-8, utf-16, windows-1252 or latin-1)."
    )


def open_as_utf8(fileobj, encoding):
    return fileobj if encoding in ("utf-8", "", None) else RecodedFile(fileobj, encoding)


def head_as_utf8(head, encoding):
    """The first bytes converted to UTF-8, for the file-level checks in content.py."""
    if encoding in ("utf-8", "", None):
        return head
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    return text.encode("utf-8")


class RecodedFile:
    """A binary file in `encoding`, read as UTF-8 bytes (readline and read, as rows.py uses).

    Bytes the encoding does not define (five in Windows-1252) are passed through unchanged
    (surrogateescape), so they are not UTF-8 either and the reader reports their line."""

    def __init__(self, raw, encoding):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
        self._buffer = bytearray()  # appended in place: a long line grows it in linear time
        self._pos = 0  # what was read of the buffer: slicing it per line would be quadratic
        self._eof = False

    def _fill(self):
        chunk = self._raw.read(CHUNK_BYTES)
        self._eof = not chunk
        try:
            text = self._decoder.decode(chunk, final=self._eof)
        except UnicodeDecodeError:
            # UTF-16 cut mid-character or a byte below 0x80 that fits nowhere: mark it as
            # undecodable (0xff is never UTF-8) instead of losing the rest of the file.
            self._decoder.reset()
            text = "\udcff"
        del self._buffer[: self._pos]
        self._pos = 0
        self._buffer += text.encode("utf-8", "surrogateescape")

    def _available(self):
        return len(self._buffer) - self._pos

    def _take(self, size):
        out = bytes(self._buffer[self._pos : self._pos + size])
        self._pos += len(out)
        return out

    def read(self, size=-1):
        while not self._eof and (size < 0 or self._available() < size):
            self._fill()
        return self._take(self._available() if size < 0 else size)

    def readline(self, limit=-1):
        while True:
            stop = self._pos + limit if limit >= 0 else None
            end = self._buffer.find(b"\n", self._pos, stop)
            if end >= 0:
                return self._take(end + 1 - self._pos)
            if (limit >= 0 and self._available() >= limit) or self._eof:
                return self._take(limit if limit >= 0 else self._available())
            self._fill()
