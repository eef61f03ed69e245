"""One streaming pass over a stored file: every check, then the token statistics."""

from dataclasses import dataclass, field

from jobs.datasets.content import HEAD_BYTES, head_problem
from jobs.datasets.formatting import example_text
from jobs.datasets.rows import iter_rows
from jobs.datasets.stats import TokenStats
from jobs.datasets.validation import ErrorLog, iter_examples_from_rows


@dataclass
class Report:
    kind: str = ""
    mapping: dict = field(default_factory=dict)
    errors: ErrorLog = field(default_factory=ErrorLog)
    stats: dict = field(default_factory=dict)

    @property
    def is_valid(self):
        return self.errors.count == 0


def validate_file(fileobj, *, fmt, mapping, min_examples, context_length):
    """1. Check the first bytes (empty, binary, encoding, extension).
    2. Read every record, keeping the first errors and counting all.
    3. Tokenize each valid example as the model sees it.
    4. Require at least `min_examples` valid examples."""
    report = Report()
    stats = TokenStats(context_length=context_length)
    problem = head_problem(fileobj.read(HEAD_BYTES), fmt)
    if problem:
        report.errors.add(problem[0], None, problem[1])
        report.stats = stats.result()
        return report
    fileobj.seek(0)
    rows = iter_rows(fileobj, fmt)
    for _, kind, resolved, example in iter_examples_from_rows(
        rows, fmt=fmt, mapping=mapping, errors=report.errors
    ):
        report.kind, report.mapping = kind, resolved
        stats.add(example_text(kind, example), example)
    report.stats = stats.result()
    _check_count(report, min_examples, fmt)
    return report


def _check_count(report, min_examples, fmt):
    count = report.stats["examples"]
    # Plain text files are split at blank lines; say so, since one example per line is common.
    how = " In a .txt file, examples are separated by blank lines." if fmt == "txt" else ""
    if count == 0 and report.errors.count == 0:
        report.errors.add(None, None, "The file holds no examples." + how)
    elif count < min_examples:
        report.errors.add(
            None,
            None,
            f"Only {count} valid example{'s' if count != 1 else ''}: "
            f"at least {min_examples} are needed.{how}",
        )
