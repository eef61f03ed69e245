"""The metrics an evaluation computes: each against its reference implementation, and the
bootstrap intervals around them. No Django, no database."""

import math

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from jobs.engine.patterns import compile_regex
from jobs.evaluations import metrics
from jobs.evaluations.bootstrap import (
    corpus_summary,
    paired_bootstrap,
    perplexity_summary,
    summary,
    win_tie_loss,
)
from jobs.evaluations.metrics import (
    DEFAULT_METRICS,
    METRICS,
    bleu,
    chrf,
    contains,
    exact_match,
    regex_match,
    rouge_l,
    sentence_bleu,
    sentence_chrf,
)

OUTPUTS = [
    "The cat sat on the mat.",
    "Paris is the capital of France.",
    "It was raining heavily in the city all day",
    "def add(a, b): return a + b",
    "",
]
REFERENCES = [
    "The cat is sitting on the mat.",
    "The capital of France is Paris.",
    "It rained hard in the city the whole day.",
    "def add(a, b):\n    return a + b",
    "Nothing to say.",
]


# Exact match and contains ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "reference", "strict", "loose"),
    [
        ("Paris", "Paris", 1.0, 1.0),
        ("Paris\n", "Paris", 0.0, 1.0),
        (" Paris", "Paris", 0.0, 1.0),
        ("PARIS", "paris", 0.0, 1.0),
        ("New   York\tCity", "new york city", 0.0, 1.0),
        ("New\u00a0York", "New York", 0.0, 1.0),  # a no-break space is whitespace
        ("caf\u00e9", "cafe\u0301", 0.0, 1.0),  # composed and decomposed é
        ("Straße", "STRASSE", 0.0, 1.0),  # casefold, not lower
        ("Paris.", "Paris", 0.0, 0.0),  # punctuation is kept
        ("New York", "NewYork", 0.0, 0.0),  # whitespace is collapsed, not removed
        ("a\u200bb", "a b", 0.0, 0.0),  # a zero-width space is not whitespace
    ],
)
def test_exact_match_is_strict_unless_told_to_ignore_case_and_space(
    output, reference, strict, loose
):
    assert exact_match(output, reference) == strict
    assert exact_match(output, reference, ignore_case_and_space=True) == loose


def test_contains_finds_the_stripped_reference_in_the_output():
    assert contains("The capital is Paris, of course.", "  Paris\n") == 1.0
    assert contains("The capital is Paris.", "paris") == 0.0  # case-sensitive
    assert contains("Paris", "The capital is Paris") == 0.0


def test_contains_scores_an_empty_reference_zero():
    assert contains("anything at all", "") == 0.0
    assert contains("anything at all", " \n\t") == 0.0


# Regular expressions ---------------------------------------------------------------------------


def test_regex_searches_anywhere_in_the_output():
    pattern = compile_regex(r"\d+")
    assert regex_match("the answer is 42 apples", pattern) == 1.0
    assert regex_match("no digits here", pattern) == 0.0


def test_an_anchored_regex_matches_only_at_the_start():
    pattern = compile_regex(r"^WORDNUM-\d+:")
    assert regex_match("WORDNUM-12: the label", pattern) == 1.0
    assert regex_match("label WORDNUM-12: late", pattern) == 0.0
    assert regex_match("WORDNUM-: no number", pattern) == 0.0


def test_inline_flags_make_a_regex_case_insensitive():
    assert regex_match("YES, it is", compile_regex(r"(?i)^yes\b")) == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(", "missing ), unterminated subpattern at position 0"),
        ("[a-", "unterminated character set at position 0"),
        ("a{3,1}", "min repeat greater than max repeat at position 2"),
        ("*a", "nothing to repeat at position 0"),
        ("", "The pattern is empty"),
        ("x" * 501, "501 characters long; the limit is 500"),
        (r"(a+)+$", "repeats a group that itself contains a repeat"),
        (r"(\w+\s?)*", "repeats a group that itself contains a repeat"),
        (r"((ab|c+)d)*", "repeats a group that itself contains a repeat"),
    ],
)
def test_an_unusable_regex_is_refused_with_a_message_saying_why(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_regex(text)


@pytest.mark.parametrize(
    "text",
    [
        r"(\d++,)*\d+",  # possessive inner repeat
        r"(?>\d+,)*\d+",  # atomic group
        r"(ab)+c",  # a repeated group with no repeat inside
        r"(\d{3}-)+",  # an exact count is not a repeat
        r"[(+]+(x)*",  # parentheses and + inside a character class
        r"\((\d+)\)+",  # escaped parentheses
        "x" * 500,
    ],
)
def test_a_safe_regex_with_groups_and_repeats_compiles(text):
    assert compile_regex(text).pattern == text


# ROUGE-L, BLEU and chrF against their packages -------------------------------------------------


def test_rouge_l_is_rouge_scores_f_measure():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    for output, reference in zip(OUTPUTS, REFERENCES, strict=True):
        expected = scorer.score(reference, output)["rougeL"].fmeasure
        assert rouge_l(output, reference) == expected
    assert 0.0 < rouge_l(OUTPUTS[0], REFERENCES[0]) < 1.0


def test_rouge_l_lower_cases_and_drops_punctuation_and_non_ascii_letters():
    assert rouge_l("THE CAT, SAT!", "the cat sat") == 1.0
    assert rouge_l("café", "caf") == 1.0
    assert rouge_l("東京", "東京") == 0.0  # no tokens at all


def test_bleu_and_chrf_are_sacrebleus_corpus_scores():
    assert bleu(OUTPUTS, REFERENCES) == sacrebleu.corpus_bleu(OUTPUTS, [REFERENCES]).score
    assert chrf(OUTPUTS, REFERENCES) == sacrebleu.corpus_chrf(OUTPUTS, [REFERENCES]).score
    assert bleu(["the same words here"], ["the same words here"]) == pytest.approx(100.0)


def test_sentence_bleu_and_chrf_are_sacrebleus_sentence_scores():
    for output, reference in zip(OUTPUTS, REFERENCES, strict=True):
        assert (
            sentence_bleu(output, reference) == sacrebleu.sentence_bleu(output, [reference]).score
        )
        assert (
            sentence_chrf(output, reference) == sacrebleu.sentence_chrf(output, [reference]).score
        )


def test_a_corpus_score_needs_one_reference_per_output():
    with pytest.raises(ValueError, match="one per example"):
        bleu(OUTPUTS, REFERENCES[:-1])
    with pytest.raises(ValueError, match="at least one example"):
        chrf([], [])


@pytest.mark.parametrize(
    ("metric", "score"), [("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)]
)
def test_a_corpus_interval_recomputes_the_corpus_score_on_resampled_examples(metric, score):
    result = corpus_summary(OUTPUTS, REFERENCES, metric)
    assert result["value"] == score(OUTPUTS, [REFERENCES]).score
    assert result["ci_low"] <= result["value"] <= result["ci_high"]
    assert result["n"] == len(OUTPUTS)

    # With one resample, both ends are that resample's corpus score, as sacrebleu computes it.
    drawn = np.random.default_rng(7).integers(0, len(OUTPUTS), size=(1, len(OUTPUTS)))[0]
    resampled = score([OUTPUTS[i] for i in drawn], [[REFERENCES[i] for i in drawn]]).score
    one = corpus_summary(OUTPUTS, REFERENCES, metric, resamples=1, seed=7)
    assert one["ci_low"] == pytest.approx(resampled)
    assert one["ci_high"] == pytest.approx(resampled)


def test_a_corpus_summary_of_no_examples_or_one_has_no_spread():
    assert corpus_summary([], [], "bleu") == {
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "n": 0,
    }
    one = corpus_summary(OUTPUTS[:1], REFERENCES[:1], "chrf")
    assert one["ci_low"] == one["value"] == one["ci_high"]
    assert one["n"] == 1


# Summaries -------------------------------------------------------------------------------------


def test_a_summary_is_the_mean_with_a_reproducible_interval():
    scores = [1.0, 0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 1.0]
    result = summary(scores)
    assert result["value"] == pytest.approx(0.65)
    assert result["n"] == 10
    assert 0.0 <= result["ci_low"] < 0.65 < result["ci_high"] <= 1.0
    assert summary(scores) == result


def test_a_summary_of_no_examples_or_one():
    assert summary([]) == {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    assert summary([0.25]) == {"value": 0.25, "ci_low": 0.25, "ci_high": 0.25, "n": 1}


def test_a_summary_can_take_the_median():
    result = summary([0.0, 0.1, 0.2, 0.9, 1.0], statistic="median")
    assert result["value"] == pytest.approx(0.2)


def test_a_summary_refuses_scores_that_are_not_finite():
    with pytest.raises(ValueError, match="finite"):
        summary([0.5, float("nan")])


def test_the_95_percent_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    trials, p = 200, 0.3
    covered = 0
    for _ in range(trials):
        scores = (rng.random(100) < p).astype(float)
        result = summary(scores, resamples=500)
        covered += result["ci_low"] <= p <= result["ci_high"]
    assert 0.90 <= covered / trials <= 0.99


def test_perplexity_is_exp_of_minus_the_mean_log_likelihood():
    result = perplexity_summary([-2.0, -3.0, -2.5, -2.5])
    assert result["mean_loglik"] == pytest.approx(-2.5)
    assert result["value"] == pytest.approx(math.exp(2.5))
    assert result["ci_low"] <= result["value"] <= result["ci_high"]
    assert result["ci_low"] >= math.exp(2.0) - 1e-9
    assert result["ci_high"] <= math.exp(3.0) + 1e-9
    assert perplexity_summary([])["value"] is None


# Comparing two models --------------------------------------------------------------------------


def test_identical_models_differ_by_zero():
    scores = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    result = paired_bootstrap(scores, scores)
    assert result["difference"] == 0.0
    assert result["ci_low"] <= 0.0 <= result["ci_high"]
    assert result["p_value"] == 1.0
    assert (result["wins"], result["ties"], result["losses"]) == (0, 8, 0)


def test_a_clear_improvement_has_an_interval_above_zero():
    a = [1.0] * 50
    b = [0.0] * 45 + [1.0] * 5
    result = paired_bootstrap(a, b)
    assert result["difference"] == pytest.approx(0.9)
    assert 0.0 < result["ci_low"] <= 0.9 <= result["ci_high"]
    assert result["p_value"] < 0.01
    assert result["n"] == 50


def test_win_tie_loss_counts_examples_by_which_model_scored_higher():
    a = [1.0, 0.5, 0.0, 0.7, 0.2]
    b = [0.0, 0.5, 1.0, 0.3, 0.2]
    assert win_tie_loss(a, b) == {"wins": 2, "ties": 2, "losses": 1}
    assert win_tie_loss(b, a) == {"wins": 1, "ties": 2, "losses": 2}


def test_comparing_models_needs_the_same_examples():
    with pytest.raises(ValueError, match="one per example"):
        paired_bootstrap([1.0, 0.0], [1.0])


# The registry ----------------------------------------------------------------------------------


def test_the_registry_names_the_apis_metrics():
    assert list(METRICS) == [
        "exact_match",
        "contains",
        "regex",
        "rouge_l",
        "bleu",
        "chrf",
        "perplexity",
    ]
    assert set(DEFAULT_METRICS) <= set(METRICS)
    assert "regex" not in DEFAULT_METRICS  # it needs a pattern
    assert not METRICS["perplexity"].needs_generation
    assert not METRICS["regex"].needs_reference
    assert not METRICS["perplexity"].higher_is_better
    assert all(spec.description for spec in metrics.METRICS.values())
