"""Learned policy adjustments: a suggestion from :mod:`custodes.triage.calibration`, made
a numbered, versioned overlay of the policy — applied on purpose, named on every rating it
makes, and revertible.

Why files in the data dir, one per change: the history must be append-only and readable
by a person (what changed, who, when, why), and putting an old state back must be exact.
Each ``DATA_DIR/triage/adjustments/NNNN.yaml`` holds a whole overlay — every change against
the base policy, not a delta on the file before — so any file can be put back as it was.

* :func:`apply` writes the suggestions on top of the adjustment in force. Ratings made
  under it carry the version ``<base version>+adj.NNNN`` and list an ``adjustment``
  factor naming it and its changes (0 points: the effect is in severity and credibility).
* :func:`revert` writes a newer file equal to an older one (``0`` = the base policy
  itself), carrying that one's version, so ratings come out identical to the ones it made.
* :func:`active_policy` lays the newest file over the base policy. Without one, the base
  policy is returned as it is. A newest file learned for another base version is not
  applied, and the caller is given a warning to show: never a silent adjustment, nor a
  silently dropped one.

A file is published atomically (written aside, then linked to its name, which fails
rather than overwrites if another writer took the number) and, when a case store is
given, committed with its audit row: a file whose audit row did not commit is removed.
Escalations already stored keep their rating until something re-rates them.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import yaml

from custodes.audit import append
from custodes.clock import utc_now_aware
from custodes.detect.rules.document import Located, LocatedList, parse
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.model.vocabulary import ESCALATION_CATEGORIES, ESCALATION_SOURCES
from custodes.store.cases import CaseStore
from custodes.triage.calibration import (
    CREDIBILITY,
    HIGHEST,
    LOWEST,
    MAX_DRIFT,
    SEVERITY,
    Suggestion,
    plain,
    value_of,
)
from custodes.triage.policy import Policy, PolicyError, Problem

FOLDER: Final = Path("triage") / "adjustments"
MAX_VERSION: Final = 64  # escalations.policy_version holds this many characters
KINDS: Final = ("apply", "revert")
_FILE: Final = re.compile(r"(\d{4,})\.yaml$")
_TARGET: Final = re.compile(r"(?:.*\+adj\.)?0*(\d+)$")
_HEADER: Final = (
    "# A learned triage policy adjustment, written by `custodes triage calibrate`.\n"
    "# Laid over the base policy while it is the newest file here; revert with\n"
    "# `custodes triage calibrate --revert N` (a newer file), never by editing this one.\n"
)


@dataclass(frozen=True)
class Change:
    """One policy number: its base value and the adjusted one."""

    field: str
    base: float
    value: float
    evidence: str = ""

    def render(self) -> str:
        return f"{self.field} {self.base:g}→{self.value:g}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "base": plain(self.base),
            "value": plain(self.value),
        }
        if self.evidence:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class Adjustment:
    """One file of the adjustment history: a whole overlay (every change against the base
    policy, not a delta on the previous file), so any file can be put back as it was."""

    number: int
    kind: str  # apply | revert
    version: str  # what ratings made under it carry as policy_version
    base_version: str
    created_at: datetime
    analyst: str
    reason: str
    changes: tuple[Change, ...]
    reverts_to: int | None = None
    file: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How ratings name it: the version and what it changes."""
        return f"{self.version}: {'; '.join(c.render() for c in self.changes)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "kind": self.kind,
            "version": self.version,
            "base_version": self.base_version,
            "created_at": self.created_at.isoformat(),
            "analyst": self.analyst,
            "reason": self.reason,
        }
        if self.reverts_to is not None:
            out["reverts_to"] = self.reverts_to
        out["changes"] = [c.to_dict() for c in self.changes]
        return out


@dataclass(frozen=True)
class ActivePolicy:
    """The policy to rate with, and the adjustment file behind it."""

    policy: Policy
    entry: Adjustment | None  # the newest file, when it is in force
    stale: Adjustment | None = None  # the newest file, when learned for another base version

    @property
    def warning(self) -> str | None:
        """What a person must be told when the newest adjustment is not in force."""
        if self.stale is None:
            return None
        return (
            f"adjustment {self.stale.number:04d} ({self.stale.version}) was learned for "
            f"policy {self.stale.base_version}, not {self.policy.version}: not applied; "
            "run `custodes triage calibrate` again"
        )


def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def adjusted(base: Policy, entry: Adjustment | None) -> Policy:
    """``base`` with ``entry`` laid over it; ``base`` itself when there is nothing to lay."""
    if entry is None or not entry.changes:
        return base
    if entry.base_version != base.version:
        raise InputError(
            f"adjustment {entry.number:04d} is for policy {entry.base_version}, not {base.version}"
        )
    severity = dict(base.severity)
    sources = dict(base.credibility.sources)
    problems = []
    for change in entry.changes:
        if value_of(base, change.field) != change.base:
            problems.append(
                Problem(
                    f"the base policy {base.version} has {value_of(base, change.field):g}, not "
                    f"{change.base:g}: it changed without a new version",
                    entry.file,
                    None,
                    change.field,
                )
            )
        kind, _, key = change.field.rpartition(".")
        if kind == SEVERITY:
            severity[key] = int(change.value)
        else:
            sources[key] = change.value
    if problems:
        raise PolicyError(problems)
    return replace(
        base,
        version=entry.version,
        severity=severity,
        credibility=replace(base.credibility, sources=sources),
        adjustment=entry.label,
    )


def active_policy(data_dir: Path, base: Policy) -> ActivePolicy:
    """The policy in force: ``base`` with the newest adjustment in ``data_dir`` laid over it.
    Without an adjustment folder this is ``base`` itself, so ratings stay identical."""
    entry = latest(data_dir)
    if entry is None:
        return ActivePolicy(base, None)
    if entry.base_version != base.version:
        return ActivePolicy(base, None, stale=entry)
    return ActivePolicy(adjusted(base, entry), entry)


def newest_file(data_dir: Path) -> tuple[str, int] | None:
    """The newest adjustment file's name and modification time: cheap enough to ask on
    every request, so a long-running server notices an apply or a revert at once."""
    files = _files(data_dir)
    if not files:
        return None
    path = files[-1][1]
    return path.name, path.stat().st_mtime_ns


def history(data_dir: Path) -> list[Adjustment]:
    """Every adjustment file, oldest first."""
    return [read_adjustment(path) for _n, path in _files(data_dir)]


def latest(data_dir: Path) -> Adjustment | None:
    files = _files(data_dir)
    return read_adjustment(files[-1][1]) if files else None


def _files(data_dir: Path) -> list[tuple[int, Path]]:
    where = folder(data_dir)
    if not where.is_dir():
        return []
    found = []
    for path in where.iterdir():
        match = _FILE.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def read_adjustment(path: Path) -> Adjustment:
    """One adjustment file, checked; :class:`PolicyError` lists every problem (file:line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(f"cannot read: {exc}", str(path))]) from exc
    return adjustment_from_text(text, path)


def adjustment_from_text(text: str, file: str | Path) -> Adjustment:
    docs, errors = parse(text, file)
    problems = [Problem(e.reason, e.file, e.line, e.field) for e in errors]
    if not problems and (len(docs) != 1 or not isinstance(docs[0], Located)):
        problems.append(Problem("must hold one YAML mapping", str(file)))
    if problems:
        raise PolicyError(problems)
    return _Reader(str(file)).adjustment(docs[0])


class _Reader:
    """Typed reads of an adjustment file; every mistake becomes a located problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, reason: str, data: Any, key: str | int | None, where: str) -> None:
        line = None
        if isinstance(data, Located):
            line = data.line_of(key) if isinstance(key, str) else data.line
        elif isinstance(data, LocatedList):
            line = data.line_of(key) if isinstance(key, int) else data.line
        self.problems.append(Problem(reason, self.file, line, where or None))

    def text(self, data: Mapping[str, Any], key: str, where: str = "") -> str:
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and key == "version":
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(f"'{key}' must be non-empty text", data, key, where + key)
            return ""
        return value

    def number(self, data: Mapping[str, Any], key: str, where: str) -> float:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(f"'{key}' must be a number", data, key, f"{where}.{key}")
            return LOWEST
        if not LOWEST <= value <= HIGHEST:
            self.problem(f"'{key}' must be within 1-5, not {value:g}", data, key, f"{where}.{key}")
        return float(value)

    def adjustment(self, data: Located) -> Adjustment:
        keys = (
            "number",
            "kind",
            "version",
            "base_version",
            "created_at",
            "analyst",
            "reason",
            "reverts_to",
            "changes",
        )
        for key in data:
            if key not in keys:
                self.problem(f"unknown key '{key}'", data, key, str(key))
        number = data.get("number")
        match = _FILE.fullmatch(Path(self.file).name)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            self.problem("'number' must be a whole number from 1", data, "number", "number")
            number = 0
        elif match is not None and int(match.group(1)) != number:
            self.problem(
                f"'number' {number} does not match the file name", data, "number", "number"
            )
        kind = self.text(data, "kind")
        if kind and kind not in KINDS:
            self.problem(f"'kind' must be one of {', '.join(KINDS)}", data, "kind", "kind")
        version = self.text(data, "version")
        if len(version) > MAX_VERSION:
            self.problem(f"'version' is longer than {MAX_VERSION}", data, "version", "version")
        created = self.text(data, "created_at")
        try:
            created_at = datetime.fromisoformat(created)
        except ValueError:
            if created:
                self.problem(
                    "'created_at' must be an ISO 8601 time", data, "created_at", "created_at"
                )
            created_at = datetime.min
        reverts_to = data.get("reverts_to")
        if reverts_to is not None and (not isinstance(reverts_to, int) or reverts_to < 0):
            self.problem("'reverts_to' must be a whole number", data, "reverts_to", "reverts_to")
            reverts_to = None
        entry = Adjustment(
            number=number,
            kind=kind,
            version=version,
            base_version=self.text(data, "base_version"),
            created_at=created_at,
            analyst=self.text(data, "analyst"),
            reason=self.text(data, "reason"),
            changes=self.changes(data),
            reverts_to=reverts_to,
            file=self.file,
        )
        if self.problems:
            raise PolicyError(self.problems)
        return entry

    def changes(self, data: Located) -> tuple[Change, ...]:
        items = data.get("changes", [])
        if not isinstance(items, list):
            self.problem("'changes' must be a list", data, "changes", "changes")
            return ()
        out: list[Change] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            where = f"changes[{i}]"
            if not isinstance(item, Mapping):
                self.problem("a change must be a mapping", items, i, where)
                continue
            name = self.text(item, "field", f"{where}.")
            kind, _, key = name.rpartition(".")
            known = {SEVERITY: ESCALATION_CATEGORIES, CREDIBILITY: ESCALATION_SOURCES}
            if name and key not in known.get(kind, ()):
                self.problem(
                    f"'{name}' is not severity.<category> or credibility.sources.<source>",
                    item,
                    "field",
                    f"{where}.field",
                )
                continue
            if name in seen:
                self.problem(f"'{name}' is changed twice", item, "field", f"{where}.field")
            seen.add(name)
            base, value = self.number(item, "base", where), self.number(item, "value", where)
            if kind == SEVERITY and (base != int(base) or value != int(value)):
                self.problem("a severity is a whole number", item, "value", f"{where}.value")
            if value == base:
                self.problem("'value' equals 'base': not a change", item, "value", f"{where}.value")
            elif abs(value - base) > MAX_DRIFT + 1e-9:
                self.problem(
                    f"a learned change moves a number at most {MAX_DRIFT:g} from the base "
                    "policy; a bigger change is an edit of the policy itself",
                    item,
                    "value",
                    f"{where}.value",
                )
            evidence = item.get("evidence", "")
            out.append(Change(name, base, value, evidence if isinstance(evidence, str) else ""))
        return tuple(out)


def apply(
    data_dir: Path,
    base: Policy,
    suggestions: Sequence[Suggestion],
    *,
    analyst: str,
    reason: str,
    store: CaseStore | None = None,
) -> Adjustment:
    """Write the suggestions, on top of the adjustment in force, as a new file (audited
    in ``store`` when one is given)."""
    if not suggestions:
        raise InputError("nothing to apply: the overrides so far suggest no change")
    if base.text_model == "decide":  # the change would move no band: refuse, never silent
        raise InputError(
            "this policy lets the band model decide the band (text_model: decide), so a "
            "severity or credibility change would move no band; retrain the model with the "
            "analysts' bands (custodes triage train-model) or use text_model: advise or off"
        )
    current = active_policy(data_dir, base)
    changes = {c.field: c for c in (current.entry.changes if current.entry else ())}
    for s in suggestions:
        if value_of(current.policy, s.field) != s.current:
            raise ConflictError(
                f"{s.field} is {value_of(current.policy, s.field):g} now, not {s.current:g}: "
                "the policy changed since the report; run calibrate again"
            )
        if s.proposed == s.base:
            changes.pop(s.field, None)
        else:
            changes[s.field] = Change(s.field, s.base, s.proposed, s.why)
    ordered = tuple(changes[k] for k in sorted(changes))
    return _write(data_dir, base, "apply", ordered, analyst, reason, store)


def revert(
    data_dir: Path,
    base: Policy,
    to: int,
    *,
    analyst: str,
    reason: str,
    store: CaseStore | None = None,
) -> Adjustment:
    """A new file equal to adjustment ``to`` (0 = the base policy, no adjustment at all),
    carrying its version, so ratings come out identical to the ones it made."""
    if to == 0:
        return _write(data_dir, base, "revert", (), analyst, reason, store, reverts_to=0)
    path = folder(data_dir) / f"{to:04d}.yaml"
    if not path.is_file():
        raise NotFoundError(f"no adjustment {to:04d}; see `custodes triage calibrate --history`")
    target = read_adjustment(path)
    if target.base_version != base.version:
        raise InputError(
            f"adjustment {to:04d} was learned for policy {target.base_version}, "
            f"not {base.version}: it cannot be put back"
        )
    adjusted(base, target)  # its base values must still be the base policy's
    return _write(
        data_dir,
        base,
        "revert",
        target.changes,
        analyst,
        reason,
        store,
        reverts_to=to,
        version=target.version,
    )


def target_number(text: str, base: Policy) -> int:
    """``--revert`` takes a file number (``2``, ``0002``), a version, or the base version."""
    text = text.strip()
    if text == base.version:
        return 0
    match = _TARGET.fullmatch(text)
    if match is None or ("+adj." in text and not text.startswith(f"{base.version}+adj.")):
        raise InputError(
            f"not an adjustment: {text!r} (give its number, e.g. 2, or 0 for the base policy)",
            field="revert",
        )
    return int(match.group(1))


def next_version(data_dir: Path, base: Policy) -> str:
    """The version the next applied adjustment would carry (for showing a diff)."""
    files = _files(data_dir)
    return _version(base, (files[-1][0] if files else 0) + 1)


def _version(base: Policy, number: int) -> str:
    return f"{base.version}+adj.{number:04d}"


def _write(
    data_dir: Path,
    base: Policy,
    kind: str,
    changes: tuple[Change, ...],
    analyst: str,
    reason: str,
    store: CaseStore | None,
    *,
    reverts_to: int | None = None,
    version: str | None = None,
) -> Adjustment:
    """Publish the next file atomically and exclusively (a concurrent writer of the same
    number loses with a conflict), committed together with its audit row."""
    if not reason.strip():
        raise InputError("an adjustment needs a reason (--reason)", field="reason")
    if not analyst.strip():
        raise InputError("an adjustment needs the analyst's name", field="analyst")
    where = folder(data_dir)
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {where}: {exc}") from exc
    files = _files(data_dir)
    number = (files[-1][0] if files else 0) + 1
    if version is None:
        version = _version(base, number) if changes else base.version
    if len(version) > MAX_VERSION:
        raise InputError(
            f"the adjusted version {version!r} is longer than {MAX_VERSION} characters; "
            "give the base policy a shorter version"
        )
    entry = Adjustment(
        number=number,
        kind=kind,
        version=version,
        base_version=base.version,
        created_at=utc_now_aware(),
        analyst=analyst,
        reason=reason.strip(),
        changes=changes,
        reverts_to=reverts_to,
    )
    final = where / f"{number:04d}.yaml"
    text = _HEADER + yaml.safe_dump(entry.to_dict(), sort_keys=False, allow_unicode=True)
    entry = replace(adjustment_from_text(text, final), file=str(final))  # it must read back
    adjusted(base, entry)
    temporary = where / f".{number:04d}.{uuid.uuid4().hex}.tmp"
    published = False
    try:
        with temporary.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if store is None:
            _publish(temporary, final)
            return entry
        with store.write() as session:
            append(
                session,
                actor=analyst,
                action=f"triage.adjustment.{kind}",
                target_type="triage_policy",
                target_id=version,
                reason=entry.reason,
                detail={
                    "number": number,
                    "base_version": base.version,
                    "reverts_to": reverts_to,
                    "changes": {c.field: [plain(c.base), plain(c.value)] for c in changes},
                },
            )
            session.flush()
            _publish(temporary, final)
            published = True
        return entry
    except BaseException:
        if published:  # the audit row did not commit: the file must not stay either
            final.unlink(missing_ok=True)
        raise
    finally:
        temporary.unlink(missing_ok=True)


def _publish(temporary: Path, final: Path) -> None:
    try:
        os.link(temporary, final)  # fails, rather than replaces, when the name is taken
    except FileExistsError:
        raise ConflictError(
            f"{final.name} was written meanwhile by someone else; run calibrate again"
        ) from None
