"""Evidence in nats: how much likelier a graph edge is under misconduct than by chance.

Every edge test here is a log-likelihood ratio, so evidence from different sources (peers'
judgement, QA's, appeals') adds up on one scale, and a threshold reads as "this pattern is
e^T times likelier under the misconduct hypothesis". The null hypotheses are beta-binomial,
not binomial: a creator whose content peers have judged a thousand times has a well-known
approval rate, one they have judged twice has not, and a moderator must not look surprising
merely because nobody else ever saw that creator.
"""

from __future__ import annotations

import math
from typing import Final

# Prior pseudo-decisions behind a peer rate: weak, because creators genuinely differ.
PRIOR_WEIGHT: Final = 2.0
# What a second opinion (QA, appeal) disagrees with under misconduct: a coin flip.
ALT_DISAGREE: Final = 0.5
_EPS: Final = 1e-6
_TOP: Final = 1.0 - _EPS


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _xlogy(x: float, y: float) -> float:
    return x * math.log(y) if x > 0 else 0.0


def clamp_rate(p: float) -> float:
    # min(max(p, _EPS), 1 - _EPS), spelt out: called millions of times at scale.
    p = _EPS if p < _EPS else p
    return _TOP if p > _TOP else p


def shrunk(k: float, n: float, prior: float, weight: float = PRIOR_WEIGHT) -> float:
    """A rate pulled towards ``prior`` when it rests on few observations."""
    return clamp_rate((k + weight * prior) / (n + weight))


def odds_adjusted(rate: float, actor_rate: float, overall: float) -> float:
    """``rate`` moved by the actor's own tendency: the odds ratio of ``actor_rate`` to
    ``overall``. A lenient moderator approves more of everyone's content, a strict QA
    analyst disagrees with everyone more; only what is beyond that is about the pair."""
    rate, actor_rate, overall = clamp_rate(rate), clamp_rate(actor_rate), clamp_rate(overall)
    logit = (
        math.log(rate / (1 - rate))
        + math.log(actor_rate / (1 - actor_rate))
        - math.log(overall / (1 - overall))
    )
    return clamp_rate(1.0 / (1.0 + math.exp(-logit)))


def surprise(k: int, n: int, mean: float, weight: float, *, upper: bool = True) -> float:
    """One-sided evidence that ``k`` of ``n`` is not a draw from a rate known as ``mean``
    with ``weight`` observations behind it: log P(k | n, k/n) - log BetaBinomial(k | n).

    0 when the observed rate lies on the unsurprising side (below the mean for ``upper``).
    """
    if n <= 0:
        return 0.0
    mean = clamp_rate(mean)
    weight = max(weight, _EPS)
    a, b = mean * weight, (1.0 - mean) * weight
    posterior = (k + a) / (n + a + b)
    if (posterior <= mean) if upper else (posterior >= mean):
        return 0.0
    plug_in = _xlogy(k, k / n) + _xlogy(n - k, (n - k) / n)
    null = _lbeta(k + a, n - k + b) - _lbeta(a, b)
    return max(0.0, plug_in - null)


def second_opinion(disagree: int, total: int, base: float, alt: float = ALT_DISAGREE) -> float:
    """Signed evidence from reviewers who re-judged the decisions: each disagreement counts
    for misconduct, each agreement against it (QA agreeing with a moderator's approvals is
    the best sign that they were right)."""
    base = clamp_rate(base)
    if total <= 0 or base >= alt:
        return 0.0
    agree = total - disagree
    return disagree * math.log(alt / base) + agree * math.log((1.0 - alt) / (1.0 - base))


def excess_count(n: float, expected: float) -> float:
    """Poisson evidence that ``n`` events exceed an ``expected`` count (0 when they do not)."""
    expected = max(expected, _EPS)
    if n <= expected:
        return 0.0
    return n * math.log(n / expected) - (n - expected)


def squash(evidence: float, threshold: float, scale: float) -> float:
    """Evidence (nats) -> 0..1, exactly 0.5 at the alert threshold; monotone."""
    return 1.0 / (1.0 + math.exp(-(evidence - threshold) / scale))
