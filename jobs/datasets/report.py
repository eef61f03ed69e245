"""One streaming pass over a stored file: every check, then the token statistics."""

from dataclasses import dataclass, field

from jobs.datasets.content import HEAD_BYTES, head_problem
from jobs.datasets.encoding import detect_encoding, encoding_note
from jobs.datasets.formats import FORMATS
from jobs.datasets.rows import iter_rows
from jobs.datasets.segments import example_text
from jobs.datasets.stats import TokenStats
from jobs.datasets.validation import ErrorLog, iter_examples_from_rows


@dataclass
class Report:
    data_format: str = ""
    mapping: dict = field(default_factory=dict)
    encoding: str = "utf-8"
    skip_invalid: bool = False
    errors: ErrorLog = field(default_factory=ErrorLog)
    stats: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def kind(self):
        return FORMATS[self.data_format].kind if self.data_format else ""

    @property
    def is_valid(self):
        if self.skip_invalid:  # too few valid examples is a fatal error (_check_count)
            return self.errors.fatal == 0
        return self.errors.count == 0

    @property
    def skipped(self):
        """Rows left out of a valid dataset because skipping invalid rows was asked for."""
        return self.errors.count if self.skip_invalid and self.is_valid else 0


def validate_file(
    fileobj, *, fmt, mapping, min_examples, context_length, encoding=None, skip_invalid=False
):
    """1. Choose the encoding (the user's, or detected from the first bytes) and note it.
    2. Check the first bytes (empty, binary, extension).
    3. Read every record, keeping the first errors and counting all.
    4. Tokenize each valid example as the model sees it.
    5. Require at least `min_examples` valid examples."""
    head = fileobj.read(HEAD_BYTES)
    report = Report(encoding=encoding or detect_encoding(head), skip_invalid=skip_invalid)
    stats = TokenStats(context_length=context_length)
    problem = head_problem(head, fmt, report.encoding)
    if problem:
        report.errors.add(problem[0], None, problem[1], fatal=True)
        report.stats = stats.result()
        return report
    fileobj.seek(0)
    rows = iter_rows(fileobj, fmt, report.encoding)
    for line, name, resolved, example in iter_examples_from_rows(
        rows, fmt=fmt, mapping=mapping, errors=report.errors
    ):
        report.data_format, report.mapping = name, resolved
        stats.add(example_text(FORMATS[name].kind, example), example, line)
    for line, message in stats.rejected:
        # The reader does not tokenize, so it could not skip these rows: never skippable.
        report.errors.add(line, next(iter(report.mapping.values()), None), message, fatal=True)
    report.stats = stats.result()
    _check_count(report, min_examples, fmt)
    _add_notes(report, requested=bool(encoding))
    return report


def _check_count(report, min_examples, fmt):
    count = report.stats["examples"]
    # Plain text files are split at blank lines; say so, since one example per line is common.
    how = " In a .txt file, examples are separated by blank lines." if fmt == "txt" else ""
    if count == 0 and report.errors.count == 0:
        report.errors.add(None, None, "The file holds no examples." + how, fatal=True)
    elif count < min_examples:
        report.errors.add(
            None,
            None,
            f"Only {count} valid example{'s' if count != 1 else ''}: "
            f"at least {min_examples} are needed.{how}",
            fatal=True,
        )


def _add_notes(report, *, requested):
    note = encoding_note(report.encoding, requested=requested)
    if note:
        report.notes.append(note)
    if report.skipped:
        rows = f"{report.skipped} invalid row{'s' if report.skipped != 1 else ''}"
        report.notes.append(
            f"{rows} skipped, as you asked: training uses the other "
            f"{report.stats['examples']:,} examples."
        )
