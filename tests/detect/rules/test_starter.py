"""The starter pack on hand-built organisations: for every misconduct family, a rule fires
on the misconduct and stays quiet on its honest look-alike (a ticketed investigator, a
classifier-agreeing moderator, a night-shift leaver's last shift, a break-glass admin, a
laptop swap, ...)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from custodes.detect.rules import Rule, load, run_rule
from custodes.store.events import EventStore
from tests.detect.test_features import Org, build

STARTER: dict[str, Rule] = {r.id: r for r in load(builtin=True)}
D0 = date(2026, 2, 2)  # a Monday


def day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


def at(n: int, clock: str) -> str:
    return f"{day(n)}T{clock}Z"


def hits(store: EventStore, rule_id: str) -> set[tuple[str, str]]:
    return {(h.actor_id, h.day.isoformat()) for h in run_rule(store, STARTER[rule_id])}


def _decide(org: Org, ts: str, actor: str, outcome: str, owner: str, suggested: str) -> None:
    org.event(
        ts,
        actor,
        "review_decision",
        target_type="content",
        outcome=outcome,
        attrs={"owner_account_id": owner, "suggested_label": suggested},
    )


def test_unjustified_access(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for actor in ("snoop", "inv", "slip", "kin_snoop", "other"):
        org.person(actor)
    org.accounts += [
        {"account_id": "vip", "high_profile": True},
        {"account_id": "kin", "conflict_actor_ids": "kin_snoop"},
    ]
    org.tickets.append(
        {
            "ticket_id": "T1",
            "actor_id": "inv",
            "target_id": "vip",
            "opened_at": at(0, "08:00:00"),
            "closed_at": at(1, "08:00:00"),
        }
    )
    for minute in ("10:00", "10:05"):
        # Two unticketed looks at a celebrity's private data...
        org.event(at(0, f"{minute}:00"), "snoop", "view_private_data", target_id="vip")
        # ...and the same by an investigator whose ticket assigns them the account.
        org.event(
            at(0, f"{minute}:30"), "inv", "view_private_data", target_id="vip", ticket_id="T1"
        )
    org.event(at(0, "11:00:00"), "slip", "view_private_data", target_id="vip")  # one slip
    org.event(at(0, "12:00:00"), "kin_snoop", "view_private_data", target_id="kin")
    org.event(at(0, "12:00:00"), "other", "view_private_data", target_id="kin")
    build(store, org, tmp_path)
    assert hits(store, "snoop-sensitive-unticketed") == {("snoop", day(0))}
    assert hits(store, "snoop-conflict-private-data") == {("kin_snoop", day(0))}


def test_paid_reversal(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for actor in ("paid", "hasty", "agrees", "spread"):
        org.person(actor)
    for i, n in enumerate((0, 0, 2, 2, 4, 4)):
        # Six approvals of one creator against the classifier, over three days.
        _decide(org, at(n, f"10:0{i}:00"), "paid", "approve", "C", "remove")
        # The same count in one sitting: one creator's backlog, not a pattern.
        _decide(org, at(0, f"11:0{i}:00"), "hasty", "approve", "C", "remove")
        # Approvals the classifier agreed with.
        _decide(org, at(n, f"12:0{i}:00"), "agrees", "approve", "C", "approve")
        # Against the classifier, but six different creators.
        _decide(org, at(n, f"13:0{i}:00"), "spread", "approve", f"C{i}", "remove")
    org.load(store, tmp_path)
    assert hits(store, "favours-one-creator") == {("paid", day(4))}
    [hit] = run_rule(store, STARTER["favours-one-creator"])
    assert "= 6 (>= 6) for attrs.owner_account_id C in the 14 days to" in hit.reason


def test_malicious_enforcement(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for actor in ("rival", "strict", "burst"):
        org.person(actor)
    for i, (n, outcome) in enumerate(
        [(0, "remove"), (0, "remove"), (1, "restrict"), (3, "remove")]
    ):
        _decide(org, at(n, f"10:0{i}:00"), "rival", outcome, "R", "approve")
        _decide(org, at(n, f"11:0{i}:00"), "strict", outcome, "R", "remove")  # classifier agreed
        _decide(org, at(0, f"12:0{i}:00"), "burst", outcome, "R", "approve")  # one day only
    org.load(store, tmp_path)
    assert hits(store, "targets-one-creator") == {("rival", day(3))}


def test_productivity_gaming(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for actor in ("bot", "human", "slow_bot"):
        org.person(actor)
    uneven = (12, 95, 31, 240, 47, 8, 150, 66)
    for n in range(3):
        clock = {"bot": 0, "human": 0}
        for i in range(101):
            for actor, gap in (("bot", 30), ("human", uneven[i % len(uneven)])):
                clock[actor] += gap
                ts = D0 + timedelta(days=n)
                stamp = f"{ts.isoformat()}T{9 + clock[actor] // 3600:02d}:"
                stamp += f"{clock[actor] // 60 % 60:02d}:{clock[actor] % 60:02d}Z"
                _decide(org, stamp, actor, "approve", "X", "approve")
            if i < 20:  # machine-regular too, but a light day's work
                _decide(org, at(n, f"15:{i:02d}:00"), "slow_bot", "approve", "X", "approve")
    build(store, org, tmp_path)
    assert hits(store, "metronome") == {("bot", day(2))}


def test_qa_collusion(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("qa1", role="qa_analyst")
    org.person("qa2", role="qa_analyst")
    for n in range(5):
        for i in range(12):
            # qa1 passes moderator m1 twelve times a day; qa2 spreads as many over three.
            org.event(
                at(n, f"10:{i:02d}:00"),
                "qa1",
                "qa_review",
                outcome="agree",
                attrs={"reviewed_actor_id": "m1"},
            )
            org.event(
                at(n, f"11:{i:02d}:00"),
                "qa2",
                "qa_review",
                outcome="agree",
                attrs={"reviewed_actor_id": f"m{i % 3}"},
            )
    org.load(store, tmp_path)
    assert hits(store, "qa-agrees-with-one-moderator") == {("qa1", day(4))}


def test_data_exfiltration(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("leaver", notice_date=day(2), end_date=day(20))
    org.person("stayer")
    org.person("grabber", notice_date=day(0), end_date=day(14))
    for n in (1, 3):
        org.event(at(n, "16:00:00"), "leaver", "copy_to_removable", bytes=5_000_000)
        org.event(at(n, "16:00:00"), "stayer", "copy_to_removable", bytes=5_000_000)
    # Leavers e-mail a personal address now and then; a few megabytes is not theft...
    mail = {"recipient_domain": "gmail.com", "external": True}
    org.event(at(3, "12:00:00"), "leaver", "email_send", bytes=2_000_000, attrs=mail)
    # ...thirty megabytes of attachments in a day is.
    for minute in ("10", "20", "30"):
        org.event(at(1, f"12:{minute}:00"), "grabber", "email_send", bytes=10_000_000, attrs=mail)
    org.load(store, tmp_path)
    assert hits(store, "usb-after-notice") == {("leaver", day(3))}
    assert hits(store, "personal-email-after-notice") == {("grabber", day(1))}


def test_privilege_abuse(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("mod")
    org.person("adm", role="admin")
    org.person("lead", role="team_lead")
    org.person("night", shift=("22:00", "06:00"), end_date=day(0))
    org.person("gone", end_date=day(0))
    org.person("payslip", end_date=day(0))
    grant = "role_grant"
    org.event(
        at(1, "10:00:00"), "mod", grant, target_id="iam:role_admin", attrs={"grantee_id": "mod"}
    )
    # Break-glass: an on-call admin grants themself superuser for the night.
    org.event(
        at(1, "02:00:00"),
        "adm",
        grant,
        target_id="admin_console:superuser",
        attrs={"grantee_id": "adm"},
    )
    # Leads hold delegated rights for review-tool roles only.
    org.event(
        at(1, "11:00:00"), "lead", grant, target_id="review_tool:qa", attrs={"grantee_id": "m"}
    )
    org.event(
        at(2, "11:00:00"),
        "lead",
        grant,
        target_id="admin_console:superuser",
        attrs={"grantee_id": "m"},
    )
    # The night worker's last shift ends the morning after their end date.
    org.event(at(1, "03:00:00"), "night", "view_profile", target_id="a1")
    org.event(at(3, "20:00:00"), "gone", "view_private_data", target_id="a1")
    org.event(at(3, "20:00:00"), "payslip", "login")
    org.load(store, tmp_path)
    assert hits(store, "self-grant-non-admin") == {("mod", day(1))}
    assert hits(store, "grant-outside-delegation") == {("mod", day(1)), ("lead", day(2))}
    assert hits(store, "data-access-after-end") == {("gone", day(3))}


def test_credential_sharing(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("shared")
    org.person("swapper")
    for clock, device in [
        ("10:00", "d1"),
        ("10:20", "d2"),
        ("10:40", "d1"),
        ("11:00", "d1"),
        ("11:20", "d2"),
        ("11:40", "d1"),
    ]:
        org.event(at(0, f"{clock}:00"), "shared", "login", device_id=device)
    # A laptop swap: the old one in the morning, the new one after lunch.
    for clock, device in [("09:00", "d1"), ("10:30", "d1"), ("13:00", "d3"), ("14:00", "d3")]:
        org.event(at(0, f"{clock}:00"), "swapper", "login", device_id=device)
    build(store, org, tmp_path)
    assert hits(store, "two-devices-at-once") == {("shared", day(0))}


@pytest.mark.parametrize("family_rule", sorted(STARTER))
def test_every_starter_rule_compiles_and_runs_on_an_empty_store(
    store: EventStore, tmp_path: Path, family_rule: str
) -> None:
    org = Org()
    org.person("quiet")
    org.event(at(0, "10:00:00"), "quiet", "login")
    build(store, org, tmp_path)
    assert hits(store, family_rule) == set()
