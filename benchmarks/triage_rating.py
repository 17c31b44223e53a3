"""Rating latency: in-process ``rate()`` over a few thousand varied escalations.

The issue's target is p99 <= 20 ms per rating in process. Texts are read once up front
(``read()`` has its own budget), then every escalation is rated and timed on its own with
``perf_counter_ns``; a second pass times ``read()`` + ``rate()`` together, which is what
intake pays. Escalations vary source, reach, jurisdiction (so business-hours calendars in
five time zones), deadlines, context and band, from a fixed seed.

    uv run python -m benchmarks.triage_rating --count 5000
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from custodes.model.vocabulary import ESCALATION_CATEGORIES, ESCALATION_SOURCES
from custodes.triage.escalation import EscalationInput
from custodes.triage.policy import load_policy
from custodes.triage.rating import RatingContext, rate
from custodes.triage.reading import read

TEXTS = (
    "He posted that he will shoot up the school tomorrow at 9am, screenshot attached.",
    "This account is selling videos of kids, links below.",
    "Removal order under Regulation (EU) 2021/784: terrorist content, remove within one hour.",
    "Court order: remove the listed posts within 24 hours.",
    "Someone posted my home address and told people to go there tonight.",
    "Voy a matar a mi hermano si me vuelve a spoilear el final, jaja.",
    "Me están pidiendo dinero o van a publicar mis fotos íntimas.",
    "Cuenta falsa del banco pidiendo transferencias a muchas personas.",
    "Estão espalhando que a eleição é no dia errado, milhares de compartilhamentos.",
    "Ordem judicial: remover as publicações em 24 horas sob pena de multa diária.",
    "Não há risco imediato, mas o perfil continua com ofensas racistas.",
    "DMCA notice for a music clip uploaded without licence.",
    "A journalist asks for comment by 5 pm on why this satire page is still up.",
    "I want to die, I'm done with everything.",
    "Coordinated accounts are posting the same hateful message about migrants.",
)


def _escalations(count: int, seed: int) -> list[tuple[EscalationInput, RatingContext]]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        received = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        hours = rng.choice((None, None, None, 1, 20, 48, 120, 400))
        data = {
            "escalation_id": f"bench-{i}",
            "received_at": received,
            "source": rng.choice(ESCALATION_SOURCES),
            "title": "",
            "body": rng.choice(TEXTS) + " " + "context " * rng.randrange(0, 200),
            "language": rng.choice((None, "en", "es", "pt")),
            "reported_category": rng.choice((None, *ESCALATION_CATEGORIES)),
            "subject_ids": [f"acc-{rng.randrange(1000)}" for _ in range(rng.randrange(3))],
            "reach": rng.choice((None, rng.randrange(10**8))),
            "jurisdiction": rng.choice((None, "ES", "MX", "BR", "US", "DE", "PT", "IE", "JP")),
            "deadline": None if hours is None else received + timedelta(hours=hours),
        }
        context = RatingContext(
            earlier_escalations=rng.randrange(4),
            open_cases=rng.randrange(2),
            cluster_size=rng.choice((1, 1, 2, 8, 100)),
            requester_trusted_areas=tuple(rng.sample(ESCALATION_CATEGORIES, rng.randrange(3))),
        )
        out.append((EscalationInput.from_dict(data), context))
    return out


def _quantiles(samples_ns: list[int]) -> str:
    ms = sorted(s / 1e6 for s in samples_ns)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:.3f} ms  p99 {q[98]:.3f} ms  max {ms[-1]:.3f} ms  (n={len(ms)})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    policy = load_policy()
    cases = _escalations(args.count, args.seed)
    readings = [read(e.text, language_hint=e.language) for e, _ in cases]
    for (e, context), reading in zip(cases[:200], readings[:200], strict=True):
        rate(e, reading, context, policy)  # warm caches (holiday tables, zone data)

    rating_ns = []
    bands: dict[str, int] = {}
    for (e, context), reading in zip(cases, readings, strict=True):
        t0 = time.perf_counter_ns()
        rating = rate(e, reading, context, policy)
        rating_ns.append(time.perf_counter_ns() - t0)
        bands[rating.band] = bands.get(rating.band, 0) + 1

    total_ns = []
    for e, context in cases:
        t0 = time.perf_counter_ns()
        rate(e, read(e.text, language_hint=e.language), context, policy)
        total_ns.append(time.perf_counter_ns() - t0)

    python = sys.version.split()[0]
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {python}")
    print(f"policy {policy.version}; bands {dict(sorted(bands.items()))}")
    print(f"rate()          {_quantiles(rating_ns)}")
    print(f"read() + rate() {_quantiles(total_ns)}")


if __name__ == "__main__":
    main()
