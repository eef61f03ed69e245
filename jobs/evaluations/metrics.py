"""The metrics an evaluation computes: the registry, per-example and corpus scores.

Their summaries with 95% bootstrap intervals are in bootstrap.py, the user's regular expression
is checked in jobs/engine/patterns.py (the job launch checks it too, below this package).

Django-free: the standard library, numpy, sacrebleu (BLEU, chrF) and rouge-score (ROUGE-L).

Per-example scores are floats in [0, 1], except sacrebleu's, which keep sacrebleu's 0-100
scale. A summary is `{"value", "ci_low", "ci_high", "n"}`: the statistic over the `n` examples
and a 95% percentile-bootstrap interval from resampling the examples with replacement, seeded
so that the same scores always give the same interval.
"""

import functools
import re
import unicodedata
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any

import sacrebleu

# The registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    name: str
    description: str
    needs_reference: bool  # scored against the example's reference completion
    needs_generation: bool  # the model generates an output for each example
    needs_regex: bool = False  # the evaluation's `regex` parameter
    corpus_level: bool = False  # the value is a corpus score, not a mean of per-example scores
    scale: str = "0-1"  # the range of a value, for display
    higher_is_better: bool = True


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in [
        MetricSpec(
            name="exact_match",
            description="Share of outputs equal to the reference.",
            needs_reference=True,
            needs_generation=True,
        ),
        MetricSpec(
            name="contains",
            description="Share of outputs that contain the reference.",
            needs_reference=True,
            needs_generation=True,
        ),
        MetricSpec(
            name="regex",
            description="Share of outputs in which the pattern is found.",
            needs_reference=False,
            needs_generation=True,
            needs_regex=True,
        ),
        MetricSpec(
            name="rouge_l",
            description="ROUGE-L F-measure: the longest common subsequence of words.",
            needs_reference=True,
            needs_generation=True,
        ),
        MetricSpec(
            name="bleu",
            description="Corpus BLEU (sacrebleu): word n-gram overlap, 0-100.",
            needs_reference=True,
            needs_generation=True,
            corpus_level=True,
            scale="0-100",
        ),
        MetricSpec(
            name="chrf",
            description="Corpus chrF (sacrebleu): character n-gram F-score, 0-100.",
            needs_reference=True,
            needs_generation=True,
            corpus_level=True,
            scale="0-100",
        ),
        MetricSpec(
            name="perplexity",
            description="Perplexity of the reference under the model; lower is better.",
            needs_reference=True,
            needs_generation=False,
            scale="1-inf",
            higher_is_better=False,
        ),
    ]
}

# Every metric that needs no parameter of its own.
DEFAULT_METRICS: tuple[str, ...] = (
    "exact_match",
    "contains",
    "rouge_l",
    "bleu",
    "chrf",
    "perplexity",
)

# Per-example scores ----------------------------------------------------------------------------


def exact_match(output: str, reference: str, *, ignore_case_and_space: bool = False) -> float:
    """1.0 if the output equals the reference, else 0.0.

    By default the strings are compared exactly as they are, character for character: no
    normalisation at all, so a trailing newline or a leading space makes a difference.

    With `ignore_case_and_space=True` both strings are first normalised by:
    1. Unicode NFC normalisation (a composed "é" equals "e" + combining acute accent);
    2. `str.casefold()` (stronger than lower-casing: "Straße" equals "STRASSE"), then NFC again,
       because case folding can leave a string that is not in NFC;
    3. removing leading and trailing whitespace and replacing each internal run of whitespace
       with one space (" ".join(text.split()): whitespace is what `str.isspace()` accepts, which
       includes tabs, newlines and the no-break space U+00A0, but not zero-width spaces).
    Punctuation is kept.
    """
    if ignore_case_and_space:
        return float(_normalise(output) == _normalise(reference))
    return float(output == reference)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


def contains(output: str, reference: str) -> float:
    """1.0 if the reference, stripped of leading and trailing whitespace (`str.strip()`), occurs
    in the output as a substring, else 0.0.

    Case-sensitive and otherwise exact: no Unicode or whitespace normalisation inside the
    strings. A reference that is empty after stripping scores 0.0 (an empty string would
    otherwise be found in every output).
    """
    needle = reference.strip()
    return float(bool(needle) and needle in output)


def regex_match(output: str, pattern: re.Pattern[str]) -> float:
    """1.0 if the pattern is found anywhere in the output (`pattern.search(output)`), else 0.0.

    This is a search, not a full match: `\\d+` matches "abc 42 def". Anchor the pattern
    yourself to match a whole output or its start: `^WORDNUM-\\d+:` requires the output to
    start with that label, `^yes$` requires the output to be exactly "yes". No flags are set:
    use inline flags such as `(?i)` for a case-insensitive match. Compile the pattern with
    `compile_regex`, which refuses patterns that are too long or invalid.
    """
    return float(pattern.search(output) is not None)


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F-measure (the harmonic mean of precision and recall of the longest common
    subsequence of words), from the `rouge-score` package, `RougeScorer(["rougeL"],
    use_stemmer=False)`.

    Its tokenisation: the text is lower-cased (`str.lower()`), every run of characters outside
    `[a-z0-9]` becomes a space, and the text is split on whitespace. So punctuation is dropped,
    and so is every non-ASCII letter: "café" becomes the token "caf", and a text written only
    in a non-Latin script has no tokens at all. No stemming. An output or reference with no
    tokens scores 0.0.
    """
    return float(_rouge_scorer().score(reference, output)["rougeL"].fmeasure)


@functools.cache
def _rouge_scorer() -> Any:
    # rouge_score imports nltk, about 0.2 s: the web processes that only list metrics skip it.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def sentence_bleu(output: str, reference: str) -> float:
    """Sentence BLEU on sacrebleu's 0-100 scale: `sacrebleu.sentence_bleu(output, [reference])`
    with sacrebleu's defaults (the "13a" tokeniser, case-sensitive, exponential smoothing,
    effective n-gram order). For the per-example table; the headline figure is `bleu`.
    """
    return float(sacrebleu.sentence_bleu(output, [reference]).score)


def sentence_chrf(output: str, reference: str) -> float:
    """Sentence chrF on sacrebleu's 0-100 scale: `sacrebleu.sentence_chrf(output, [reference])`
    with sacrebleu's defaults (character n-grams up to 6, no word n-grams, beta 2, case-sensitive,
    whitespace ignored). For the per-example table; the headline figure is `chrf`.
    """
    return float(sacrebleu.sentence_chrf(output, [reference]).score)


# Corpus scores ---------------------------------------------------------------------------------


def bleu(outputs: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU on sacrebleu's 0-100 scale: `sacrebleu.corpus_bleu(outputs, [references])`
    with sacrebleu's defaults (the "13a" tokeniser, case-sensitive, exponential smoothing, n-grams
    up to 4, one reference per output). A corpus score, not a mean of sentence scores.
    """
    check_pairs(outputs, references, need_some=True)
    return float(sacrebleu.corpus_bleu(list(outputs), [list(references)]).score)


def chrf(outputs: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF on sacrebleu's 0-100 scale: `sacrebleu.corpus_chrf(outputs, [references])`
    with sacrebleu's defaults (character n-grams up to 6, no word n-grams, so chrF rather than
    chrF++, beta 2, case-sensitive, whitespace ignored). A corpus score, not a mean.
    """
    check_pairs(outputs, references, need_some=True)
    return float(sacrebleu.corpus_chrf(list(outputs), [list(references)]).score)


def check_pairs(a: Sized, b: Sized, *, need_some: bool = False) -> None:
    if len(a) != len(b):
        raise ValueError(f"Got {len(a)} scores or outputs against {len(b)}: give one per example.")
    if need_some and len(a) == 0:
        raise ValueError("A corpus score needs at least one example.")
