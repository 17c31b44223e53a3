"""The ``anomaly`` detector: an unsupervised model over actor-day measures, trained on past
days and scoring new ones, whose alerts say which measures made a day stand out.

Baselines asks "is this one signal unusual for the person and their peers?"; this asks
"is this whole day unusual for the role?", so it also catches days that are a little odd in
several ways at once. The default model is ECOD (``ecod.py``: why it is SQL and not PyOD);
``model="isolation_forest"`` fits scikit-learn's Isolation Forest on the same measures and
training windows instead (``forest.py``), imported only when chosen because scikit-learn
alone takes ~3 s to import and an incremental run has 5 s in total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.detect.detectors.anomaly.ecod import (
    CALIBRATION_STEPS,
    EcodParams,
    Window,
    contributions_sql,
    materialised,
    plan,
)
from custodes.detect.detectors.anomaly.measures import MEASURES, Measure
from custodes.detect.evidence import evidence_for
from custodes.store.events import EventStore

NAME: Final = "anomaly"
TOP_MEASURES: Final = 3  # measures named in an alert's reasons and searched for evidence

Model = Literal["ecod", "isolation_forest"]
FOREST_SCALE_FLOOR: Final = 0.01


class AnomalySettings(BaseSettings):
    """``CUSTODES_ANOMALY_MODEL=isolation_forest`` picks the alternative model for runs
    that go through the registry (``custodes detect``)."""

    model_config = SettingsConfigDict(env_prefix="CUSTODES_ANOMALY_", extra="ignore")

    model: Model = "ecod"


@dataclass(frozen=True)
class Contribution:
    """One measure's share of a day's surprise, in words an analyst can check."""

    measure: Measure
    value: float
    surprise: float  # -ln(tail probability), nats
    side: str  # "high" or "low": which tail it is in
    as_extreme: int  # training actor-days at least as extreme
    n: int  # training actor-days defining the measure


@register(NAME)
class Anomaly:
    name = NAME

    def __init__(
        self,
        measures: tuple[Measure, ...] | None = None,
        params: EcodParams | None = None,
        model: Model | None = None,
    ) -> None:
        self.measures = MEASURES if measures is None else measures
        self.model: Model = model or AnomalySettings().model
        params = params or EcodParams()
        if self.model == "isolation_forest":  # its scores live in 0..1, not in nats
            params = replace(params, scale_floor=min(params.scale_floor, FOREST_SCALE_FLOOR))
        self.params = params

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        steps = plan(self.measures, self.params, Window.of(self.params, context.since))
        model, calibration = steps[:-CALIBRATION_STEPS], steps[-CALIBRATION_STEPS:]
        with materialised(store, model):
            if self.model == "isolation_forest":
                from custodes.detect.detectors.anomaly.forest import rescore

                rescore(store, self.measures, self.params)
            with materialised(store, calibration):
                scores = store.fetch_arrow(
                    "SELECT actor_id, day, score FROM ecod_scores ORDER BY actor_id, day"
                )
                alerts = self._alerts(store)
        return Findings(alerts, scores.cast(SCORE_SCHEMA))

    def _alerts(self, store: EventStore) -> list[Alert]:
        store.execute(
            "CREATE OR REPLACE TEMP TABLE ecod_alerting AS "
            "SELECT * FROM ecod_scores WHERE o > threshold"
        )
        try:
            rows = store.fetch_all(
                f"""
                SELECT s.actor_id, s.day, s.stratum, s.o, s.threshold, s.mean, s.score,
                    c.mid, c.raw, c.ge, c.le, c.n,
                    CASE s.variant WHEN 'left' THEN c.u_left WHEN 'right' THEN c.u_right
                        ELSE c.u_auto END AS u,
                    CASE WHEN c.tail <> 'both' THEN c.tail
                         WHEN s.variant = 'left' THEN 'low'
                         WHEN s.variant = 'right' THEN 'high'
                         ELSE c.auto_side END AS side
                FROM ecod_alerting s
                JOIN ({contributions_sql(self.measures, "ecod_alerting")}) c ON c.rid = s.rid
                ORDER BY s.actor_id, s.day, c.mid
                """
            )
        finally:
            store.execute("DROP TABLE IF EXISTS ecod_alerting")
        days: dict[tuple[str, date], tuple[Any, ...]] = {}
        found: dict[tuple[str, date], list[Contribution]] = defaultdict(list)
        for r in rows:
            key = (r[0], r[1])
            days.setdefault(key, r[2:7])
            if r[12] > 0:
                side = str(r[13])
                found[key].append(
                    Contribution(
                        self.measures[r[7]],
                        float(r[8]),
                        float(r[12]),
                        side,
                        int(r[9] if side == "high" else r[10]),
                        int(r[11]),
                    )
                )
        tops = {key: _top(found[key]) for key in days}
        wanted: list[tuple[str, object, tuple[str, ...]]] = [
            (actor, day, _actions(tops[(actor, day)])) for actor, day in days
        ]
        evidence = evidence_for(store, wanted)
        alerts = []
        for (actor, day), (stratum, raw, threshold, mean, score) in days.items():
            top = tops[(actor, day)]
            alerts.append(
                self._alert(
                    actor,
                    day,
                    str(stratum),
                    (float(raw), float(threshold), float(mean), float(score)),
                    top,
                    evidence.get((actor, day, _actions(top)), ()),
                )
            )
        return alerts

    def _alert(
        self,
        actor: str,
        day: date,
        stratum: str,
        numbers: tuple[float, float, float, float],
        top: list[Contribution],
        evidence: tuple[str, ...],
    ) -> Alert:
        raw, threshold, mean, score = numbers
        who = "staff" if stratum == "*" else stratum
        model, digits = ("ECOD", 1) if self.model == "ecod" else ("isolation forest", 3)
        reasons = [_reason(c, who) for c in top]
        reasons.append(
            f"anomaly score {raw:.{digits}f} ({model} over {len(self.measures)} measures) "
            f"above {threshold:.{digits}f}, the {100 * self.params.quantile:g}th percentile of "
            f"{who}-days in the {self.params.train_days} days before"
        )
        start = datetime.combine(day, time.min)
        return Alert(
            actor_id=actor,
            detector=NAME,
            category=top[0].measure.category if top else "unjustified_access",
            severity=_severity(raw, threshold, mean),
            score=min(max(score, 0.0), 1.0),
            window_start=start,
            window_end=start + timedelta(days=1),
            reasons=tuple(reasons),
            evidence_event_ids=evidence,
        )


def _top(found: list[Contribution]) -> list[Contribution]:
    """The measures that made the day stand out, most surprising first. Equal surprises
    (common when several values are beyond everything in training) go to the scenario
    family with the most surprise in total, so the alert's category is the day's story, not
    an accident of measure order; then to measure order."""
    family: dict[str, float] = defaultdict(float)
    for c in found:
        family[c.measure.category] += c.surprise
    order = sorted(
        range(len(found)),
        key=lambda i: (-round(found[i].surprise, 9), -family[found[i].measure.category], i),
    )
    return [found[i] for i in order[:TOP_MEASURES]]


def _actions(top: list[Contribution]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for c in top for a in c.measure.actions))


def _reason(c: Contribution, who: str) -> str:
    """One measure in words, e.g. "private-data views with no ticket: 14 — rarer than 99.8%
    of 2,061 earlier moderator-days": the value, and how rare it was in training."""
    value = f"{c.value:,.0f}" if c.value == int(c.value) else f"{c.value:.3g}"
    if c.as_extreme == 0:
        higher = "higher" if c.side == "high" else "lower"
        rarity = f"{higher} than all {c.n:,} earlier {who}-days"
    else:
        rarity = f"rarer than {_percent(1.0 - c.as_extreme / c.n)} of {c.n:,} earlier {who}-days"
    return f"{c.measure.what}: {value} — {rarity}"


def _percent(share: float) -> str:
    """Enough digits to tell 99.9 % from 100 %, never rounding up to 100 %."""
    for digits in range(0, 4):
        text = f"{100 * share:.{digits}f}"
        if float(text) < 100.0 or share >= 1.0:
            return text.rstrip("0").rstrip(".") + "%" if "." in text else text + "%"
    return f"{100 * share:.4f}%"


def _severity(raw: float, threshold: float, mean: float) -> Severity:
    """How far beyond the threshold, in units of the threshold's distance from normal."""
    margin = (raw - mean) / max(threshold - mean, 1e-9)
    if margin >= 3:
        return Severity.critical
    if margin >= 2:
        return Severity.high
    if margin >= 1.5:
        return Severity.medium
    return Severity.low
