"""Highlights: the few sentences at the top of a report, computed from its numbers.

Why templates and thresholds, not a language model: a highlight is a claim about the data
that a reader may act on and an auditor may check. Each one here is a fixed sentence with
the report's own numbers filled in, chosen by a threshold written down below, so the same
numbers always give the same words, and a test can say which sentence must appear.

Each :class:`Highlight` carries the ``rule`` that produced it and a ``tone`` (``good``,
``bad`` or ``neutral``) for styling; the text never relies on the tone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from custodes.reports.escalations import EscalationReport
    from custodes.reports.integrity import IntegrityReport

Tone = Literal["good", "bad", "neutral"]

# A change is worth a sentence when it is at least this large, relatively and absolutely.
NOTABLE_CHANGE: Final = 0.20
NOTABLE_DIFFERENCE: Final = 5
# One value of a breakdown "dominates" from this share, given enough items to mean it.
DOMINANT_SHARE: Final = 0.40
MIN_ITEMS: Final = 5
# SLA: at least this share on time is good, below POOR_SLA is called out.
GOOD_SLA: Final = 0.95
POOR_SLA: Final = 0.80
# Overrides: a direction "dominates" from this share of them, given MIN_OVERRIDES.
MIN_OVERRIDES: Final = 3
ONE_WAY: Final = 2 / 3
# Recurrence: called out from this share, over at least MIN_RESOLVED resolutions.
RECURRENCE: Final = 0.25
MIN_RESOLVED: Final = 3
# Precision: from MIN_VERDICTS verdicts, at least HIGH_PRECISION is good, below LOW bad.
MIN_VERDICTS: Final = 5
HIGH_PRECISION: Final = 0.70
LOW_PRECISION: Final = 0.30


@dataclass(frozen=True)
class Highlight:
    rule: str
    tone: Tone
    text: str


def escalation_highlights(r: EscalationReport) -> tuple[Highlight, ...]:
    noun = r.period.noun
    out: list[Highlight] = []
    now, before = r.totals.received, r.previous.received
    out.append(_volume("volume", "escalations", "Escalations", now, before, noun))
    if now >= MIN_ITEMS and r.by_source:
        top = max(r.by_source, key=lambda c: (c.count, c.value))
        if top.share is not None and top.share >= DOMINANT_SHARE:
            out.append(
                Highlight(
                    "dominant_source",
                    "neutral",
                    f"{_name(top.value).capitalize()} sent {_pct(top.share)} of escalations "
                    f"({top.count} of {now}).",
                )
            )
    if r.totals.urgent:
        out.append(
            Highlight(
                "urgent",
                "neutral",
                f"{_n(r.totals.urgent, 'escalation')} ({_pct(r.totals.urgent / now)}) "
                f"{'was' if r.totals.urgent == 1 else 'were'} rated P0 or P1.",
            )
        )
    out.extend(_sla(r))
    if r.totals.breaches:
        top_cause = r.breach_causes[0] if r.breach_causes else None
        cause = (
            f"; the most common cause was “{top_cause.cause}” ({top_cause.breaches})"
            if top_cause
            else ""
        )
        out.append(
            Highlight(
                "breaches",
                "bad",
                f"{_n(r.totals.breaches, 'SLA clock')} ran out before "
                f"{'its' if r.totals.breaches == 1 else 'their'} step was taken{cause}.",
            )
        )
    if r.totals.overdue_at_end:
        out.append(
            Highlight(
                "overdue",
                "bad",
                f"{_n(r.totals.overdue_at_end, 'open escalation')} "
                f"{'was' if r.totals.overdue_at_end == 1 else 'were'} past an SLA clock at the "
                f"end of the {noun}.",
            )
        )
    out.extend(_overrides(r))
    out.extend(_recurrence(r))
    return tuple(out)


def integrity_highlights(r: IntegrityReport) -> tuple[Highlight, ...]:
    noun = r.period.noun
    out: list[Highlight] = []
    if r.has_events:
        out.append(_volume("alerts", "alerts", "Alerts", r.totals.alerts, r.previous.alerts, noun))
        if r.totals.alerts >= MIN_ITEMS and r.alerts_by_family:
            top = max(r.alerts_by_family, key=lambda f: (f.alerts, f.family))
            if top.alerts / r.totals.alerts >= DOMINANT_SHARE:
                out.append(
                    Highlight(
                        "dominant_family",
                        "neutral",
                        f"{_name(top.family).capitalize()} accounted for "
                        f"{_pct(top.alerts / r.totals.alerts)} of alerts "
                        f"({top.alerts} of {r.totals.alerts}).",
                    )
                )
    total = r.precision_total
    if total.verdicts >= MIN_VERDICTS and total.precision is not None:
        sentence = (
            f"Analysts judged {total.true_positives} of {total.verdicts} alerts true "
            f"positives (precision {_pct(total.precision)})"
        )
        if total.precision >= HIGH_PRECISION:
            out.append(Highlight("precision_high", "good", sentence + "."))
        elif total.precision < LOW_PRECISION:
            noisy = max(r.precision, key=lambda p: (p.false_positives, p.family))
            out.append(
                Highlight(
                    "precision_low",
                    "bad",
                    f"{sentence}; most false positives were {_name(noisy.family)} "
                    f"({noisy.false_positives}).",
                )
            )
        else:
            out.append(Highlight("precision", "neutral", sentence + "."))
    t = r.totals
    if t.cases_opened or t.cases_closed:
        closed = (
            f"{_n(t.cases_closed, 'case')} closed, {t.substantiated} substantiated"
            if t.cases_closed
            else "none closed"
        )
        out.append(
            Highlight(
                "cases",
                "neutral",
                f"{_n(t.cases_opened, 'case')} opened and {closed}; "
                f"{t.open_at_end} open at the end of the {noun}.",
            )
        )
    critical = next((c.count for c in r.levels if c.value == "critical"), 0)
    if critical:
        out.append(
            Highlight(
                "critical_staff",
                "bad",
                f"{_n(critical, 'staff member')} {'is' if critical == 1 else 'are'} at "
                "critical risk at the end of the period.",
            )
        )
    if r.drivers:
        top_driver = r.drivers[0]
        if top_driver.share is not None:
            out.append(
                Highlight(
                    "top_driver",
                    "neutral",
                    f"{_name(top_driver.name).capitalize()} drives the most risk: "
                    f"{_pct(top_driver.share)} of all risk points, across "
                    f"{_n(top_driver.staff, 'staff member')}.",
                )
            )
    return tuple(out)


# --- rules ---------------------------------------------------------------------------------


def _volume(rule: str, plural: str, title: str, now: int, before: int, noun: str) -> Highlight:
    if now == 0 and before == 0:
        return Highlight(f"{rule}_none", "neutral", f"No {plural} this {noun} or the one before.")
    if before == 0:
        return Highlight(f"{rule}_new", "neutral", f"{now} {plural}; none the {noun} before.")
    change = (now - before) / before
    if abs(change) >= NOTABLE_CHANGE and abs(now - before) >= NOTABLE_DIFFERENCE:
        way = "rose" if now > before else "fell"
        return Highlight(
            f"{rule}_{way}",
            "neutral",
            f"{title} {way} by {_pct(abs(change))} to {now} ({before} the {noun} before).",
        )
    return Highlight(
        f"{rule}_steady", "neutral", f"{title} held steady: {now} ({before} the {noun} before)."
    )


def _sla(r: EscalationReport) -> list[Highlight]:
    judged = [c for c in r.clocks if c.steps >= MIN_ITEMS and c.on_time_share is not None]
    if not judged:
        return []
    worst = min(judged, key=lambda c: (c.on_time_share or 0.0, c.clock))
    assert worst.on_time_share is not None
    if worst.on_time_share < POOR_SLA:
        return [
            Highlight(
                "sla_poor",
                "bad",
                f"Only {_pct(worst.on_time_share)} of “{worst.label.lower()}” steps met their "
                f"SLA clock ({worst.steps - worst.late} of {worst.steps}).",
            )
        ]
    if worst.on_time_share >= GOOD_SLA:
        return [
            Highlight(
                "sla_good",
                "good",
                f"At least {_pct(worst.on_time_share)} of steps met their SLA clock, "
                f"for every clock ({', '.join(c.label.lower() for c in judged)}).",
            )
        ]
    return []


def _overrides(r: EscalationReport) -> list[Highlight]:
    out: list[Highlight] = []
    o = r.overrides
    if o.total >= MIN_OVERRIDES:
        if o.up / o.total >= ONE_WAY:
            out.append(
                Highlight(
                    "overrides_up",
                    "neutral",
                    f"Analysts overrode {o.total} ratings, {o.up} of them to a more urgent band: "
                    "the engine tended to under-rate.",
                )
            )
        elif o.down / o.total >= ONE_WAY:
            out.append(
                Highlight(
                    "overrides_down",
                    "neutral",
                    f"Analysts overrode {o.total} ratings, {o.down} of them to a less urgent "
                    "band: the engine tended to over-rate.",
                )
            )
        else:
            same = o.total - o.up - o.down
            kept = f", {same} confirming the engine's band" if same else ""
            out.append(
                Highlight(
                    "overrides_mixed",
                    "neutral",
                    f"Analysts overrode {o.total} ratings ({o.up} up, {o.down} down{kept}): "
                    "no single direction.",
                )
            )
    for s in r.calibration.suggestions:
        out.append(
            Highlight(
                "calibration",
                "neutral",
                f"The overrides support a policy adjustment: {s.field} {s.current:g} → "
                f"{s.proposed:g} ({s.why}); `custodes triage calibrate` shows it.",
            )
        )
    return out


def _recurrence(r: EscalationReport) -> list[Highlight]:
    out: list[Highlight] = []
    for m in r.mitigations:
        if (
            m.resolved >= MIN_RESOLVED
            and m.recurrence_share is not None
            and m.recurrence_share >= RECURRENCE
        ):
            out.append(
                Highlight(
                    "recurrence",
                    "bad",
                    f"Harm recurred after {m.recurred} of {m.resolved} escalations resolved as "
                    f"{_name(m.resolution)} ({_pct(m.recurrence_share)}).",
                )
            )
    return out


# --- words ---------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{round(100 * value)}%"


def _n(count: int, one: str) -> str:
    return f"{count} {one if count == 1 else one + 's'}"


def _name(code: str) -> str:
    """``law_enforcement`` → ``law enforcement``."""
    return code.replace("_", " ")
