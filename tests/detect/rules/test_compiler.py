"""Rule semantics on data whose answer is known: scope by role, rolling windows over
features and events, thin-evidence guards, incremental runs, and values kept out of SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from custodes.detect.rules import Rule, compile_rule, read_text, run_rule, run_rules
from custodes.errors import CustodesError
from custodes.store.events import EventStore

START = date(2026, 3, 2)


def rule(text: str) -> Rule:
    rules, errors = read_text(text, "test.yaml")
    assert not errors, [e.render() for e in errors]
    [only] = rules
    return only


def features_rule(where: str, window: str = "", scope: str = "") -> Rule:
    return rule(
        "id: r\ntitle: t\ncategory: unjustified_access\nseverity: medium\nover: features\n"
        f"{window}{scope}where: {where}\n"
    )


def events_rule(where: str, threshold: str = "", window: str = "", extra: str = "") -> Rule:
    return rule(
        "id: r\ntitle: t\ncategory: data_exfiltration\nseverity: high\nover: events\n"
        f"{window}{extra}where: {where}\n{threshold}"
    )


def features(
    store: EventStore, rows: dict[str, dict[int, tuple[float | None, float | None]]]
) -> None:
    """A features table with two columns: {actor: {day offset: (views, share)}}."""
    actors, days, views, shares = [], [], [], []
    for actor, series in rows.items():
        for n, (v, s) in series.items():
            actors.append(actor)
            days.append(START + timedelta(days=n))
            views.append(v)
            shares.append(s)
    table = pa.table(
        {
            "actor_id": actors,
            "day": pa.array(days, pa.date32()),
            "private_views_unticketed": pa.array(views, pa.int64()),
            "decision_fast_share": pa.array(shares, pa.float64()),
        }
    )
    store.register("f", table)
    store.execute("CREATE OR REPLACE TABLE features_actor_day AS SELECT * FROM f")
    store.unregister("f")


def events(store: EventStore, rows: list[tuple[str, int, str, str, dict[str, Any]]]) -> None:
    """(actor, day offset, HH:MM, action, columns) as UTC events."""
    for i, (actor, n, clock, action, cols) in enumerate(rows):
        ts = datetime.fromisoformat(f"{START + timedelta(days=n)}T{clock}")
        names = ["event_id", "ts", "actor_id", "action", *cols]
        values = [f"e{i}", ts, actor, action, *cols.values()]
        marks = ", ".join("?" for _ in names)
        store.execute(f"INSERT INTO events ({', '.join(names)}) VALUES ({marks})", values)


def people(store: EventStore, **roles: str) -> None:
    for actor, role in roles.items():
        store.execute(
            "INSERT INTO people (actor_id, role, timezone, privileged) VALUES (?, ?, 'UTC', ?)",
            [actor, role, role == "admin"],
        )


def found(store: EventStore, r: Rule, since: date | None = None) -> set[tuple[str, int]]:
    return {(h.actor_id, (h.day - START).days) for h in run_rule(store, r, since)}


def test_scope_by_role_and_privilege(store: EventStore) -> None:
    people(store, mod="moderator", adm="admin", lead="team_lead")
    events(store, [(a, 0, "10:00", "login", {}) for a in ("mod", "adm", "lead", "ghost")])
    login = "{action: login}"
    assert found(store, events_rule(login)) == {("mod", 0), ("adm", 0), ("lead", 0), ("ghost", 0)}
    only = "scope: {roles: [moderator, team_lead]}\n"
    assert found(store, events_rule(login, extra=only)) == {("mod", 0), ("lead", 0)}
    # Staff missing from the directory are not exempt from a "not these roles" rule.
    not_admins = "scope: {not_roles: [admin]}\n"
    assert found(store, events_rule(login, extra=not_admins)) == {
        ("mod", 0),
        ("lead", 0),
        ("ghost", 0),
    }
    privileged = "scope: {privileged: true}\n"
    assert found(store, events_rule(login, extra=privileged)) == {("adm", 0)}


def test_feature_windows_sum_with_thin_evidence_guard(store: EventStore) -> None:
    features(
        store,
        {
            "a": {0: (5, None), 3: (4, None), 9: (1, None)},  # 9 in days 0..3; 5 in 3..9
            "b": {0: (9, None)},  # one day only: thin evidence
            "c": {0: (5, None), 1: (4, None), 2: (0, None)},  # quiet day 2: not a new hit
        },
    )
    r = features_rule("[private_views_unticketed >= 8]", "window: {days: 7, min_days: 2}\n")
    assert found(store, r) == {("a", 3), ("c", 1)}
    [hit] = [h for h in run_rule(store, r) if h.actor_id == "a"]
    assert hit.values == (9.0,)
    assert (
        "private_views_unticketed (7-day sum) = 9 (>= 8) in the 7 days to 2026-03-05" in hit.reason
    )
    # Without a window each day stands alone.
    assert found(store, features_rule("[private_views_unticketed >= 8]")) == {("b", 0)}


def test_feature_windows_mean_any_and_unknown_shares(store: EventStore) -> None:
    features(
        store,
        {
            "fast": {0: (0, 0.9), 1: (0, 0.7), 2: (0, 0.8)},
            "mixed": {0: (0, 0.9), 1: (0, 0.1), 2: (0, None)},  # mean of known days: 0.5
        },
    )
    mean = features_rule("[decision_fast_share >= 0.6]", "window: {days: 3, min_days: 2}\n")
    assert found(store, mean) == {("fast", 1), ("fast", 2)}
    either = features_rule("{any: [decision_fast_share >= 0.85, private_views_unticketed >= 1]}")
    assert found(store, either) == {("fast", 0), ("mixed", 0)}
    low = features_rule("[decision_fast_share < 0.2]")
    assert found(store, low) == {("mixed", 1)}  # an unknown share is not a low one


def test_event_windows_count_distinct_values_across_days(store: EventStore) -> None:
    view = "view_private_data"
    events(
        store,
        [
            ("a", 0, "10:00", view, {"target_id": "t1"}),
            ("a", 0, "10:05", view, {"target_id": "t2"}),
            ("a", 1, "10:00", view, {"target_id": "t2"}),
            ("a", 1, "10:05", view, {"target_id": "t3"}),
            ("b", 0, "10:00", view, {"target_id": "t1"}),
            ("b", 0, "10:01", view, {"target_id": "t1"}),
            ("b", 1, "10:00", view, {"target_id": "t1"}),
            ("b", 1, "10:01", view, {"target_id": "t2"}),
        ],
    )
    distinct = events_rule(
        "{action: view_private_data}",
        "threshold: {distinct: target_id, value: 3}\n",
        "window: {days: 3}\n",
    )
    assert found(store, distinct) == {("a", 1)}
    per_day = events_rule(
        "{action: view_private_data}", "threshold: {distinct: target_id, value: 2}\n"
    )
    assert found(store, per_day) == {("a", 0), ("a", 1), ("b", 1)}
    count = events_rule(
        "{action: view_private_data}",
        "threshold: {count: events, value: 4}\n",
        "window: {days: 2}\n",
    )
    assert found(store, count) == {("a", 1), ("b", 1)}


def test_event_filters(store: EventStore) -> None:
    people(store, u="moderator")
    events(
        store,
        [
            (
                "u",
                0,
                "10:00",
                "upload_external",
                {"bytes": 10, "attrs": '{"url_domain": "mega.nz"}'},
            ),
            (
                "u",
                1,
                "10:00",
                "upload_external",
                {"bytes": 10, "attrs": '{"url_domain": "box.com"}'},
            ),
            (
                "u",
                2,
                "10:00",
                "upload_external",
                {"bytes": 900, "attrs": '{"size": 7, "ok": true}'},
            ),
            ("u", 3, "10:00", "upload_external", {"outcome": "failure"}),
        ],
    )

    def where(filters: str) -> set[int]:
        r = events_rule(f"{{action: upload_external, {filters}}}")
        return {n for _, n in found(store, r)}

    assert where("attrs.url_domain: [mega.nz, dropbox.com]") == {0}
    assert where("attrs.url_domain: {not_in: [mega.nz]}") == {1}  # missing never matches
    assert where("attrs.url_domain: {exists: false}") == {2, 3}
    assert where('bytes: {">": 100}') == {2}
    assert where('attrs.size: {">=": 5}') == {2}
    assert where("attrs.ok: true") == {2}
    assert where('outcome: {"!=": success}') == {3}


def test_incremental_runs_report_only_new_days_but_see_history(store: EventStore) -> None:
    features(store, {"a": {2: (5, None), 4: (4, None), 12: (9, None)}})
    r = features_rule("[private_views_unticketed >= 8]", "window: {days: 7}\n")
    assert found(store, r) == {("a", 4), ("a", 12)}
    since = START + timedelta(days=4)
    assert found(store, r, since) == {("a", 4), ("a", 12)}  # day 4's window reaches day 2
    assert found(store, r, since + timedelta(days=1)) == {("a", 12)}
    events(store, [("a", n, "10:00", "login", {}) for n in (3, 5)])
    logins = events_rule(
        "{action: login}", "threshold: {count: events, value: 2}\n", "window: {days: 3}\n"
    )
    assert found(store, logins, START + timedelta(days=5)) == {("a", 5)}


def test_rule_values_are_parameters_never_sql(store: EventStore) -> None:
    hostile = "x' OR 1=1 --"
    events(store, [("a", 0, "10:00", "login", {"outcome": "success"})])
    r = events_rule(f'{{action: login, outcome: "{hostile}"}}')
    query = compile_rule(r)
    assert hostile not in query.sql
    assert hostile in query.params.values()
    assert found(store, r) == set()


def test_features_rules_need_features_built(store: EventStore) -> None:
    with pytest.raises(CustodesError, match="run `custodes detect` first"):
        run_rules(store, [features_rule("[private_views_unticketed >= 1]")])
    assert run_rules(store, [events_rule("{action: login}")]) == []
