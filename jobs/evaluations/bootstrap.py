"""Summaries of an evaluation's scores with 95% percentile-bootstrap intervals, and paired
comparisons of two models on the same examples.

A summary is `{"value", "ci_low", "ci_high", "n"}`: the statistic over the `n` examples and the
2.5th and 97.5th percentiles of it over resamples of the examples with replacement, seeded so
that the same scores always give the same interval.
"""

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypedDict

import numpy as np
import sacrebleu
from sacrebleu.metrics.base import Metric as SacrebleuMetric

from jobs.evaluations.metrics import check_pairs

# Summaries -------------------------------------------------------------------------------------


class Summary(TypedDict):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class PerplexitySummary(Summary):
    mean_loglik: float | None


class WinTieLoss(TypedDict):
    wins: int
    ties: int
    losses: int


class PairedComparison(WinTieLoss):
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    p_value: float | None


_STATISTICS: dict[str, Callable[..., Any]] = {"mean": np.mean, "median": np.median}


def summary(
    values: Sequence[float],
    *,
    resamples: int = 1000,
    seed: int = 0,
    statistic: Literal["mean", "median"] = "mean",
) -> Summary:
    """The statistic (the mean by default) of per-example scores, with a 95% interval.

    The interval is the 2.5th and 97.5th percentiles of the statistic over `resamples`
    bootstrap resamples of the examples (drawn with replacement, same size, numpy's default
    generator seeded with `seed`). No examples: value and interval are None. One example: the
    interval is the value itself, as there is nothing to resample.
    """
    reduce = _STATISTICS.get(statistic)
    if reduce is None:
        raise ValueError(f"Unknown statistic {statistic!r}: use 'mean' or 'median'.")
    data = _scores(values)
    if len(data) == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    value = float(reduce(data))
    if len(data) == 1:
        return {"value": value, "ci_low": value, "ci_high": value, "n": 1}
    low, high = _interval(_bootstrap(data, reduce, resamples, seed))
    return {"value": value, "ci_low": low, "ci_high": high, "n": len(data)}


def corpus_summary(
    outputs: Sequence[str],
    references: Sequence[str],
    metric: Literal["bleu", "chrf"],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Summary:
    """Corpus BLEU or chrF (as `bleu` and `chrf` compute them) with a 95% interval.

    Each bootstrap resample draws the examples with replacement and recomputes the corpus
    score on them. That stays cheap at 1000 resamples: sacrebleu's per-sentence statistics
    (n-gram matches and lengths) are extracted once, and a resample's corpus score is
    computed from their sum, exactly as sacrebleu's own `--confidence` bootstrap does.
    """
    check_pairs(outputs, references)
    if len(outputs) == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    scorer = _corpus_scorer(metric)
    stats = np.asarray(
        scorer._extract_corpus_statistics(list(outputs), [list(references)]), dtype=np.int64
    )
    value = _score_from_totals(scorer, stats.sum(axis=0))
    if len(stats) == 1:
        return {"value": value, "ci_low": value, "ci_high": value, "n": 1}
    scores = [
        _score_from_totals(scorer, totals)
        for draw in _draws(len(stats), resamples, seed, width=stats.shape[1])
        for totals in stats[draw].sum(axis=1)
    ]
    low, high = _interval(np.asarray(scores))
    return {"value": value, "ci_low": low, "ci_high": high, "n": len(stats)}


def _corpus_scorer(metric: str) -> SacrebleuMetric:
    # The defaults of sacrebleu.corpus_bleu and corpus_chrf.
    if metric == "bleu":
        return sacrebleu.BLEU()
    if metric == "chrf":
        return sacrebleu.CHRF()
    raise ValueError(f"Unknown corpus metric {metric!r}: use 'bleu' or 'chrf'.")


def _score_from_totals(scorer: SacrebleuMetric, totals: np.ndarray) -> float:
    return float(scorer._compute_score_from_stats([int(total) for total in totals]).score)


def perplexity_summary(
    mean_logliks: Sequence[float], *, resamples: int = 1000, seed: int = 0
) -> PerplexitySummary:
    """Perplexity of the references, from each example's mean log-likelihood per token.

    `mean_logliks` holds, for each example, the mean natural-log probability the model gives
    the reference's tokens. `mean_loglik` is their mean over examples (each example weighs the
    same, whatever its length), and the value is the perplexity exp(-mean_loglik). The interval
    is the bootstrap interval of the mean log-likelihood mapped through exp(-x), so its ends
    swap: a low log-likelihood is a high perplexity.
    """
    logliks = summary(mean_logliks, resamples=resamples, seed=seed)
    mean, low, high = logliks["value"], logliks["ci_low"], logliks["ci_high"]
    return {
        "value": None if mean is None else _perplexity(mean),
        "ci_low": None if high is None else _perplexity(high),
        "ci_high": None if low is None else _perplexity(low),
        "n": logliks["n"],
        "mean_loglik": mean,
    }


def _perplexity(mean_loglik: float) -> float:
    # Overflows only below a mean log-likelihood of about -709 (GPT-2's uniform guess is -10.8).
    return math.exp(-mean_loglik) if mean_loglik > -709 else math.inf


def paired_bootstrap(
    a_scores: Sequence[float], b_scores: Sequence[float], *, resamples: int = 1000, seed: int = 0
) -> PairedComparison:
    """Model A against model B on the same examples: "A beats B by 12 points, 95% CI 5 to 19".

    `a_scores[i]` and `b_scores[i]` are the two models' scores on example i. The difference is
    mean(a) - mean(b); its interval comes from resampling the examples (both models' scores
    together), so that what varies from example to example cancels out. `p_value` is the
    two-sided bootstrap p-value of "no difference": the share of resampled differences at
    least as far from the observed one as the observed one is from 0, with the usual +1 in
    numerator and denominator (None with fewer than two examples). Also counts wins, ties and
    losses as `win_tie_loss` does.
    """
    a, b = _paired_scores(a_scores, b_scores)
    diffs = a - b
    n = len(diffs)
    difference = float(diffs.mean()) if n else None
    low = high = difference
    p_value = None
    if n >= 2:
        estimates = _bootstrap(diffs, np.mean, resamples, seed)
        low, high = _interval(estimates)
        observed = float(diffs.mean())
        extreme = int(np.sum(np.abs(estimates - observed) >= abs(observed)))
        p_value = (extreme + 1) / (len(estimates) + 1)
    return {
        "difference": difference,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "p_value": p_value,
        **_count_wins(a, b),
    }


def win_tie_loss(a_scores: Sequence[float], b_scores: Sequence[float]) -> WinTieLoss:
    """On how many examples model A scores higher than B (wins), the same (ties, compared
    exactly), or lower (losses)."""
    return _count_wins(*_paired_scores(a_scores, b_scores))


def _count_wins(a: np.ndarray, b: np.ndarray) -> WinTieLoss:
    return {"wins": int(np.sum(a > b)), "ties": int(np.sum(a == b)), "losses": int(np.sum(a < b))}


def _paired_scores(
    a_scores: Sequence[float], b_scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    a, b = _scores(a_scores), _scores(b_scores)
    check_pairs(a, b)
    return a, b


# The bootstrap ---------------------------------------------------------------------------------

# How many drawn indices (times a per-example width) are held in memory at once: 16 MB of int64.
_DRAW_BLOCK = 2_000_000


def _scores(values: Sequence[float]) -> np.ndarray:
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(data)):
        raise ValueError("Scores must be finite numbers (no NaN or infinity).")
    return data


def _draws(n: int, resamples: int, seed: int, *, width: int = 1) -> Iterator[np.ndarray]:
    """The bootstrap resamples' example indices, a (rows, n) block at a time."""
    if resamples < 1:
        raise ValueError("resamples must be at least 1.")
    rng = np.random.default_rng(seed)
    rows = max(1, _DRAW_BLOCK // (n * width))
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def _bootstrap(
    data: np.ndarray, reduce: Callable[..., Any], resamples: int, seed: int
) -> np.ndarray:
    """The statistic on each of `resamples` bootstrap resamples of the examples."""
    return np.concatenate(
        [reduce(data[draw], axis=1) for draw in _draws(len(data), resamples, seed)]
    )


def _interval(estimates: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval: the 2.5th and 97.5th percentiles (linear interpolation)."""
    low, high = np.percentile(estimates, [2.5, 97.5])
    return float(low), float(high)
