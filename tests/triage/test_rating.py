"""Rating: each fast lane, each factor, explainability (factors sum to the score), flags
that never inflate harm, and determinism."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.model.vocabulary import BANDS, ESCALATION_CATEGORIES, ESCALATION_SOURCES
from custodes.triage.escalation import EscalationInput
from custodes.triage.lexicon import SIGNALS
from custodes.triage.policy import Policy, load_policy
from custodes.triage.rating import Rating, RatingContext, rate
from custodes.triage.reading import Signal, TextReading

RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
# The rules alone: these tests pin the arithmetic of each factor, lane, floor and cap, which
# a deciding band model would override (its part is tests/triage/test_band_model.py).
POLICY = replace(load_policy(), text_model="off")


def reading(
    *signals: str,
    category: str | None = None,
    support: float = 0.9,
    language: str = "en",
    negated: tuple[str, ...] = (),
    reported: tuple[str, ...] = (),
) -> TextReading:
    """A reading built directly from C's types, as the rating sees one."""
    found = tuple(Signal(s, s, s in negated, s in reported, 0.9) for s in signals)
    categories = dict.fromkeys(ESCALATION_CATEGORIES, 0.0)
    if category is not None:
        categories[category] = support
    return TextReading(language, 0.9, found, categories)


def esc(**fields: Any) -> EscalationInput:
    data: dict[str, Any] = {"received_at": RECEIVED, "source": "user_report", "body": "text"}
    return EscalationInput.from_dict(data | fields)


def run(e: EscalationInput, r: TextReading, context: RatingContext | None = None) -> Rating:
    return rate(e, r, context or RatingContext(), POLICY)


def factor(rating: Rating, name: str) -> float:
    return next(f.contribution for f in rating.factors if f.name == name)


def assert_explained(rating: Rating) -> None:
    assert round(sum(f.contribution for f in rating.factors), 2) == rating.score
    assert rating.band == POLICY.band_of(rating.score)
    assert rating.policy_version == POLICY.version


# ----------------------------------------------------------------------------- fast lanes


def test_csam_lane() -> None:
    r = run(esc(), reading("sexual_minor", "minor", category="child_safety"))
    assert (r.band, r.fast_lane, r.route) == ("P0", "csam", "child_safety")
    assert_explained(r)


def test_threat_to_life_lane_needs_imminence() -> None:
    imminent = run(esc(), reading("threat_to_life", "imminence", category="violent_threat"))
    assert (imminent.band, imminent.fast_lane) == ("P0", "threat_to_life")
    assert imminent.route == "law_enforcement_response"
    assert imminent.clocks["acknowledge"] == RECEIVED + timedelta(minutes=15)
    assert_explained(imminent)
    # the same threat with the imminence negated ("no immediate danger") is not a P0 ...
    calm = run(
        esc(subject_ids=["acct:1"]),
        reading("threat_to_life", "imminence", category="violent_threat", negated=("imminence",)),
    )
    assert calm.band != "P0"
    # ... and the stated denial closes the floor too (guide: negation removes the lane); the
    # threat itself still rates P1
    assert calm.band == "P1"
    assert calm.fast_lane is None

    # without a denial, a stated threat to life is never below P1, even from a vague report ...
    def threat(words: str, strength: float) -> TextReading:
        signal = Signal("threat_to_life", words, False, False, strength)
        return TextReading("en", 0.9, (signal,), {"violent_threat": 0.2})

    stated = run(esc(), threat("I'll kill you", 0.8))
    assert (stated.band, stated.fast_lane) == ("P1", "threat_claim_floor")
    assert_explained(stated)
    # ... but the bare word for one ("someone is threatening people") opens no floor
    bare = run(esc(), threat("threatening", 0.5))
    assert bare.fast_lane is None and bare.band not in ("P0", "P1")


def test_reported_speech_still_counts() -> None:
    quoted = reading(
        "threat_to_life", "imminence", category="violent_threat", reported=("threat_to_life",)
    )
    assert run(esc(), quoted).fast_lane == "threat_to_life"


def test_imminent_self_harm_takes_the_threat_to_life_lane() -> None:
    r = run(esc(), reading("self_harm", "imminence", category="self_harm"))
    assert (r.band, r.fast_lane, r.route) == ("P0", "threat_to_life", "law_enforcement_response")


def test_terrorist_removal_order_has_a_one_hour_legal_clock() -> None:
    order = reading("removal_order", "terrorism", category="other", support=0.0)
    r = run(esc(source="law_enforcement", jurisdiction="DE"), order)
    assert (r.band, r.fast_lane, r.category, r.route) == (
        "P0",
        "terrorist_removal_order",
        "terrorism",
        "legal",
    )
    one_hour = RECEIVED + timedelta(hours=1)
    assert r.clocks["first_action"] == one_hour
    assert r.clocks["resolve"] == one_hour  # the band's 1 d is capped by the law's 1 h
    assert r.schedule.clocks[-1].cause == "legal clock (terrorist_removal_order)"
    assert_explained(r)
    # a user cannot issue a removal order
    assert run(esc(), order).fast_lane != "terrorist_removal_order"


@pytest.mark.parametrize(
    ("hours", "band", "lane"),
    [(20, "P0", "authority_order"), (48, "P1", "order_within_72h"), (120, "P2", "order_floor")],
)
def test_authority_orders_take_their_deadline(hours: int, band: str, lane: str) -> None:
    deadline = RECEIVED + timedelta(hours=hours)
    e = esc(source="law_enforcement", jurisdiction="BR", deadline=deadline)
    r = run(e, reading("court_order", category="harassment", support=0.5))
    assert (r.band, r.fast_lane) == (band, lane)
    assert max(r.clocks.values()) <= deadline
    assert r.clocks["resolve"] == min(deadline, RECEIVED + POLICY.sla.clocks[band].resolve)
    assert r.route == "legal"
    assert_explained(r)


def test_an_order_without_deadline_takes_no_order_lane() -> None:
    r = run(esc(source="law_enforcement"), reading("court_order", category="ip", support=0.7))
    assert r.fast_lane is None


def test_trusted_flagger_floor_only_inside_its_area() -> None:
    e = esc(source="trusted_flagger")
    inside = RatingContext(requester_trusted_areas=("hate",))
    hateful = reading("hate", category="hate", support=0.3)
    low = replace(POLICY, severity=POLICY.severity | {"hate": 1})  # would be P4 on its own
    r = rate(e, hateful, inside, low)
    assert (r.band, r.fast_lane) == ("P2", "trusted_flagger_floor")
    assert factor(r, "fast_lane") > 0
    assert_explained(r)
    outside = run(e, reading("ip", category="ip", support=0.8), inside)
    assert (outside.band, outside.fast_lane) == ("P4", None)


def test_only_a_p0_lane_makes_a_p0() -> None:
    maximal = esc(source="law_enforcement", subject_ids=["a"], reach=10**8, jurisdiction="DE")
    r = run(
        maximal,
        reading("evidence", "coordination", "minor", category="terrorism", support=1.0),
        RatingContext(earlier_escalations=5, cluster_size=64),
    )
    assert r.fast_lane is None
    assert r.band == "P1"
    assert r.score == POLICY.bands["P0"] - 0.01
    assert factor(r, "ceiling") < 0
    assert factor(r, "modifier_cap") < 0
    assert_explained(r)


# ----------------------------------------------------------------------------- factors


def test_base_is_severity_times_credibility() -> None:
    r = run(esc(source="ngo"), reading(category="fraud", support=0.4))
    k, s, c = POLICY.base_scale, POLICY.severity["fraud"], POLICY.credibility.sources["ngo"]
    base = factor(r, "base") + factor(r, "severity") + factor(r, "credibility")
    assert base == pytest.approx(k * s * c)
    assert r.score == pytest.approx(k * s * c)


def test_severity_follows_the_category() -> None:
    threat = run(esc(), reading(category="violent_threat", support=0.4))
    ip = run(esc(), reading(category="ip", support=0.4))
    assert factor(threat, "severity") > factor(ip, "severity") == 0
    assert threat.score > ip.score


def test_credibility_by_source_specificity_and_evidence() -> None:
    vague = run(esc(), reading(category="hate", support=0.1))
    specific = run(esc(subject_ids=["acc-1"]), reading("evidence", category="hate", support=0.9))
    police = run(esc(source="law_enforcement"), reading(category="hate", support=0.4))
    user = run(esc(), reading(category="hate", support=0.4))
    assert factor(vague, "credibility") < factor(user, "credibility")
    assert factor(user, "credibility") < factor(police, "credibility")
    assert factor(user, "credibility") < factor(specific, "credibility")
    assert "subject_ids +0.5" in next(f.input for f in specific.factors if f.name == "credibility")


def test_reach_is_log_scaled_capped_and_category_bound() -> None:
    def points(reach: int, category: str = "misinformation") -> float:
        return factor(run(esc(reach=reach), reading(category=category, support=0.5)), "reach")

    per_decade = POLICY.modifiers.reach_per_decade
    assert points(POLICY.modifiers.reach_floor) == 0
    assert points(10) == 0  # low reach never lowers
    assert points(POLICY.modifiers.reach_floor * 100) == pytest.approx(2 * per_decade)
    assert points(10**12) == POLICY.modifiers.reach_cap
    assert points(10**7, "ip") == 0  # reach never raises IP


def test_minor_adds_points() -> None:
    named = esc(subject_ids=["acct:1"])  # not a vague report (capped at P3)
    with_minor = run(named, reading("minor", category="harassment", support=0.5))
    without = run(named, reading(category="harassment", support=0.5))
    assert factor(with_minor, "minor") == POLICY.modifiers.minor
    assert with_minor.score - without.score == pytest.approx(POLICY.modifiers.minor)


def test_repeat_subject_counts_earlier_escalations_and_cases() -> None:
    r = reading(category="harassment", support=0.5)
    once = run(esc(), r, RatingContext(earlier_escalations=1))
    many = run(esc(), r, RatingContext(earlier_escalations=4, open_cases=3))
    assert factor(once, "repeat") == POLICY.modifiers.repeat_per_item
    assert factor(many, "repeat") == POLICY.modifiers.repeat_cap
    ip = run(esc(), reading(category="ip", support=0.5), RatingContext(earlier_escalations=3))
    assert factor(ip, "repeat") == 0


def test_coordination_from_cluster_size_and_text() -> None:
    r = reading(category="hate", support=0.5)
    m = POLICY.modifiers
    assert factor(run(esc(), r, RatingContext(cluster_size=1)), "coordination") == 0
    assert factor(run(esc(), r, RatingContext(cluster_size=4)), "coordination") == pytest.approx(
        2 * m.coordination_per_doubling
    )
    campaign = reading("coordination", category="hate", support=0.5)
    assert factor(run(esc(), campaign), "coordination") == m.coordination_signal


def test_legal_exposure_by_jurisdiction() -> None:
    r = reading(category="hate", support=0.5)
    assert factor(run(esc(jurisdiction="DE"), r), "legal_exposure") == 3
    assert factor(run(esc(jurisdiction="US"), r), "legal_exposure") == 0
    assert factor(run(esc(), r), "legal_exposure") == 0


def test_reporter_category_is_a_hint_used_only_when_the_text_is_unsure() -> None:
    sure = run(esc(reported_category="harassment"), reading(category="sextortion", support=0.8))
    assert sure.category == "sextortion"
    unsure = run(esc(reported_category="fraud"), reading(category="hate", support=0.1))
    assert unsure.category == "fraud"
    nonsense = run(esc(reported_category="spam"), reading())
    assert nonsense.category == "other"


def test_language_falls_back_to_the_hint_when_undetermined() -> None:
    assert run(esc(language="pt"), reading(language="und")).language == "pt"
    assert run(esc(language="pt"), reading(language="es")).language == "es"
    assert run(esc(), reading(language="und")).language == "und"


# ----------------------------------------------------------------------------- attention


def test_flags_set_reply_clocks_but_never_inflate_harm() -> None:
    r = reading(category="hate", support=0.5)
    police = run(esc(source="law_enforcement"), r)  # same source credibility as a regulator
    regulator = run(esc(source="regulator"), r)
    assert regulator.score == police.score
    assert regulator.band == police.band
    assert regulator.flags == ("regulator",)
    assert police.flags == ()
    assert regulator.clocks["reply"] == RECEIVED + timedelta(hours=48)
    assert "reply" not in police.clocks
    press = run(esc(source="press", reach=5_000_000), reading(category="other", support=0.0))
    assert press.flags == ("press", "vip")
    assert press.clocks["reply"] == RECEIVED + timedelta(hours=24)
    assert all(f.name not in ("press", "vip", "regulator") for f in press.factors)


def test_sla_due_at_is_the_first_clock_and_deadline_caps() -> None:
    deadline = RECEIVED + timedelta(minutes=30)
    r = run(esc(deadline=deadline), reading(category="hate", support=0.5))
    assert r.sla_due_at == deadline == min(r.clocks.values())
    plain = run(esc(), reading(category="hate", support=0.5))
    assert plain.sla_due_at == plain.clocks["acknowledge"]


def test_to_dict_has_the_contract_fields() -> None:
    out = run(esc(), reading(category="hate", support=0.5)).to_dict()
    assert {"rating", "score", "factors", "route", "sla_due_at", "language", "category"} <= set(out)
    assert all(set(f) == {"name", "input", "contribution"} for f in out["factors"])


# ----------------------------------------------------------------------------- properties

_signals = st.lists(st.sampled_from(SIGNALS), max_size=6, unique=True)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[EscalationInput, TextReading, RatingContext]:
    names = draw(_signals)
    negated = tuple(n for n in names if draw(st.booleans()))
    category = draw(st.sampled_from(ESCALATION_CATEGORIES))
    r = reading(
        *names,
        category=category,
        support=draw(st.floats(0, 1)),
        negated=negated,
        language=draw(st.sampled_from(("en", "es", "pt", "und"))),
    )
    hours = draw(st.none() | st.integers(-2, 400))
    e = esc(
        source=draw(st.sampled_from(ESCALATION_SOURCES)),
        reach=draw(st.none() | st.integers(0, 10**9)),
        jurisdiction=draw(st.none() | st.sampled_from(("DE", "BR", "MX", "US", "ES", "JP"))),
        subject_ids=draw(st.lists(st.sampled_from(("a", "b")), max_size=2)),
        reported_category=draw(st.none() | st.sampled_from(ESCALATION_CATEGORIES)),
        deadline=None if hours is None else RECEIVED + timedelta(hours=hours),
    )
    context = RatingContext(
        earlier_escalations=draw(st.integers(0, 5)),
        open_cases=draw(st.integers(0, 3)),
        cluster_size=draw(st.integers(1, 500)),
        requester_trusted_areas=tuple(draw(st.lists(st.sampled_from(ESCALATION_CATEGORIES)))),
    )
    return e, r, context


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_factors_always_sum_to_the_score(
    case: tuple[EscalationInput, TextReading, RatingContext],
) -> None:
    e, r, context = case
    rating = rate(e, r, context, POLICY)
    assert_explained(rating)
    assert 0 <= rating.score <= 100
    assert rating.band in BANDS
    assert (rating.band == "P0") == (
        rating.fast_lane in {"csam", "threat_to_life", "terrorist_removal_order", "authority_order"}
    )
    assert rating.sla_due_at == min(rating.clocks.values())
    if e.deadline is not None:
        assert max(rating.clocks.values()) <= e.deadline
    assert rate(e, r, context, POLICY) == rating  # deterministic


def test_rating_is_deterministic_across_policy_reloads() -> None:
    e = esc(subject_ids=["x"], reach=50_000, jurisdiction="MX")
    r = reading("hate", "coordination", category="hate", support=0.7, language="es")
    first = rate(e, r, RatingContext(cluster_size=8), POLICY)
    again = rate(e, r, RatingContext(cluster_size=8), Policy.from_dict(POLICY.to_dict()))
    assert first == again
    assert first.to_dict() == again.to_dict()


def test_minor_modifier_is_not_applied_twice_to_child_safety() -> None:
    r = run(esc(), reading("minor", category="child_safety", support=0.5))
    assert factor(r, "minor") == 0.0
    assert "already in child_safety" in next(f.input for f in r.factors if f.name == "minor")


def test_hyperbole_lowers_credibility_opens_no_floor_and_reach_does_not_raise_it() -> None:
    plain = reading("threat_to_life", category="violent_threat")
    hedged = TextReading(
        "en",
        0.9,
        (Signal("threat_to_life", "kill", False, False, 0.8, hedged=True),),
        plain.categories,
    )
    real = run(esc(reach=5_000_000), plain)
    joke = run(esc(reach=5_000_000), hedged)
    assert real.fast_lane == "threat_claim_floor" and joke.fast_lane is None
    assert joke.band == "P4" and joke.category == "violent_threat"
    assert "hyperbole" in next(f.input for f in joke.factors if f.name == "credibility")
    assert_explained(joke)


def test_a_lone_insult_level_cue_is_a_weak_text() -> None:
    r = run(esc(source="internal_staff"), reading("harassment", category="harassment", support=0.3))
    assert "text support 0.30" in next(f.input for f in r.factors if f.name == "credibility")
    assert r.band == "P3"


# ------------------------------------------------------- forms, caps and floors (2026.11-3)


def signal(name: str, strength: float = 0.9, *, negated: bool = False) -> Signal:
    return Signal(name, name, negated, False, strength)


def test_a_form_shifts_the_severity_and_names_itself() -> None:
    named = ["acct:1"]
    photo = TextReading("en", 0.9, (), {"privacy": 0.7})
    intimate = TextReading("en", 0.9, (signal("sexual", 0.6),), {"privacy": 0.7})
    plain = run(esc(subject_ids=named), photo)
    ncii = run(esc(subject_ids=named), intimate)
    assert next(f.input for f in plain.factors if f.name == "severity") == "privacy → 3"
    shown = next(f.input for f in ncii.factors if f.name == "severity")
    assert shown.startswith("privacy 3 → 5 (intimate_images: sexual")
    assert (plain.band, ncii.band) == ("P2", "P1")
    assert_explained(ncii)
    # a denied or faint signal is not the form
    denied = TextReading("en", 0.9, (signal("sexual", 0.6, negated=True),), {"privacy": 0.7})
    faint = TextReading("en", 0.9, (signal("sexual", 0.4),), {"privacy": 0.7})
    for r in (denied, faint):
        assert factor(run(esc(subject_ids=named), r), "severity") == factor(plain, "severity")


def test_the_first_form_of_a_category_applies() -> None:
    both = TextReading(
        "en", 0.9, (signal("doxxing", 0.9), signal("public_office", 0.8)), {"doxxing": 0.9}
    )
    r = run(esc(subject_ids=["post:1"]), both)
    assert "(home_address:" in next(f.input for f in r.factors if f.name == "severity")


def test_a_cap_holds_the_band_unless_a_more_urgent_lane_applies() -> None:
    police = esc(source="law_enforcement", subject_ids=["acct:1"])
    request = TextReading("en", 0.9, (signal("data_request"),), {"sextortion": 0.9})
    held = run(police, request)
    assert held.band == "P2" and held.fast_lane is None
    assert "(data_request: P2 at most)" in next(
        f.input for f in held.factors if f.name == "ceiling"
    )
    assert_explained(held)
    # an emergency request about a life still opens its P0 lane
    urgent = TextReading(
        "en",
        0.9,
        (signal("data_request"), signal("threat_to_life"), signal("imminence")),
        {"violent_threat": 0.9},
    )
    assert run(police, urgent).band == "P0"
    # a vague user report (no account, no evidence) is P3 at most ...
    vague = run(esc(), TextReading("en", 0.9, (), {"violent_threat": 0.9}))
    assert vague.band == "P3" and "vague_report" in vague.factors[-1].input
    # ... but a stated threat to life in it keeps its floor
    stated = run(esc(), TextReading("en", 0.9, (signal("threat_to_life", 0.8),), {}))
    assert stated.band == "P1" and stated.fast_lane == "threat_claim_floor"


def test_a_floor_lifts_the_band_without_being_a_fast_lane() -> None:
    letter = run(esc(source="regulator"), TextReading("en", 0.9, (), {}))
    assert letter.band == "P3" and letter.fast_lane is None
    assert factor(letter, "floor") > 0
    assert next(f.input for f in letter.factors if f.name == "floor") == "official_request"
    assert_explained(letter)
    user = run(esc(subject_ids=["acct:1"]), TextReading("en", 0.9, (), {}))
    assert user.band == "P4" and factor(user, "floor") == 0


def test_a_minor_aggravates_only_the_listed_harms_and_must_be_named() -> None:
    named = ["acct:1"]
    distress = TextReading("en", 0.9, (signal("minor", 0.7),), {"self_harm": 0.5})
    r = run(esc(subject_ids=named), distress)
    assert factor(r, "minor") == 0 and "does not aggravate self_harm" in next(
        f.input for f in r.factors if f.name == "minor"
    )
    relative = TextReading("en", 0.9, (signal("minor", 0.3),), {"fraud": 0.9})
    assert factor(run(esc(subject_ids=named), relative), "minor") == 0  # "my daughter says"
    child = TextReading("en", 0.9, (signal("minor", 0.7),), {"harassment": 0.9})
    assert factor(run(esc(subject_ids=named), child), "minor") == POLICY.modifiers.minor


def test_weak_cues_do_not_count_as_evidence_or_as_a_campaign() -> None:
    named = ["acct:1"]
    link = TextReading("en", 0.9, (signal("evidence", 0.3),), {"fraud": 0.5})
    attached = TextReading("en", 0.9, (signal("evidence", 0.5),), {"fraud": 0.5})
    credibility = [
        next(f.input for f in run(esc(subject_ids=named), r).factors if f.name == "credibility")
        for r in (link, attached)
    ]
    assert "evidence" not in credibility[0] and "evidence" in credibility[1]
    word = TextReading("en", 0.9, (signal("coordination", 0.4),), {"hate": 0.9})
    described = TextReading("en", 0.9, (signal("coordination", 0.6),), {"hate": 0.9})
    assert factor(run(esc(subject_ids=named), word), "coordination") == 0
    assert factor(run(esc(subject_ids=named), described), "coordination") > 0


def test_a_subject_back_after_a_ban_is_a_repeat_subject() -> None:
    back = TextReading("es", 0.9, (signal("ban_evasion", 0.7),), {"harassment": 0.9})
    r = run(esc(subject_ids=["acct:1"]), back)
    assert factor(r, "repeat") == POLICY.modifiers.repeat_signal
    assert "actioned before and back" in next(f.input for f in r.factors if f.name == "repeat")
    other = TextReading("es", 0.9, (signal("ban_evasion", 0.7),), {"misinformation": 0.9})
    assert factor(run(esc(subject_ids=["acct:1"]), other), "repeat") == 0
