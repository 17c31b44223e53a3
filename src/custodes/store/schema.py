"""The case store's tables: one SQLAlchemy 2 model, the same on SQLite and PostgreSQL.

Why these shapes:

* Rows that analysts edit concurrently (cases, tasks, users) carry a ``version`` that the ORM
  checks on every UPDATE (``version_id_col``), so a stale write fails instead of silently
  overwriting; the API turns that into 409.
* Subjects are stored by their real ``actor_id`` *and* their keyed pseudonym, so a view can
  show the pseudonym and look a subject up by it without ever computing the reverse.
* The audit log is append-only and hash-chained; ``audit_head`` is one row holding the
  chain's tip, which every append locks first, so concurrent writers cannot fork the chain.
* Times are timezone-aware UTC throughout (``DateTime(timezone=True)``).

Schema changes go through Alembic (``store/migrations``), never ``create_all``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UTC_TS = DateTime(timezone=True)
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Meta(Base):
    """Installation facts (the generated pseudonym key)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ApiToken(Base):
    """A machine client's credential; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    expires_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    last_used_at: Mapped[datetime | None] = mapped_column(UTC_TS)


class WebSession(Base):
    """A browser login: the cookie holds a random token, the store only its SHA-256, so a
    stolen database does not yield live sessions; logout or disabling a user ends them."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    expires_at: Mapped[datetime] = mapped_column(UTC_TS)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))  # a scenario family
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    status: Mapped[str] = mapped_column(String(32), default="new")
    outcome: Mapped[str | None] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    updated_at: Mapped[datetime] = mapped_column(UTC_TS)
    due_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Need-to-know: a restricted case is visible only to its members (and admins).
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_cases_status_updated", "status", "updated_at"),
        # Lists page in updated/created order, by category, and for most roles skip
        # restricted cases: each of these reads 50 rows off an index, not 100k.
        Index("ix_cases_updated_at", "updated_at"),
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_category_updated", "category", "updated_at"),
        Index("ix_cases_restricted", "restricted"),
        # Covering indexes for counting what one filter leaves visible.
        Index("ix_cases_status_restricted", "status", "restricted"),
        Index("ix_cases_category_restricted", "category", "restricted"),
        Index("ix_cases_assignee", "assignee_id"),
        Index("ix_cases_closed_at", "closed_at"),
    )


class CaseSubject(Base):
    __tablename__ = "case_subjects"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)


class CaseMember(Base):
    """Who may see a restricted case (besides admins); assignees are added automatically."""

    __tablename__ = "case_members"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class CaseAlert(Base):
    """An alert merged into a case, with a copy of what it said (detection may re-run)."""

    __tablename__ = "case_alerts"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    actor_id: Mapped[str] = mapped_column(String(128))
    detector: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(UTC_TS)
    window_end: Mapped[datetime] = mapped_column(UTC_TS)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Set when the case closed and its outcome became a verdict for detection feedback;
    # `synced_at` when that verdict reached the event store.
    verdict: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime | None] = mapped_column(UTC_TS)


class CaseLink(Base):
    __tablename__ = "case_links"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="related")


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Note(Base):
    """Markdown notes are never edited in place: a correction is a new note."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)


class Evidence(Base):
    """A saved set of events, or a saved query with the SHA-256 of its result, so anyone can
    later show the evidence has not changed since it was captured."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # events | query
    title: Mapped[str] = mapped_column(String(300))
    query: Mapped[str | None] = mapped_column(Text)
    event_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTC_TS)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class UnmaskGrant(Base):
    """A request to see one subject's real identity: justified, possibly approved by a second
    person, and time-limited."""

    __tablename__ = "unmask_grants"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | active | denied | revoked
    requested_at: Mapped[datetime] = mapped_column(UTC_TS)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    expires_at: Mapped[datetime | None] = mapped_column(UTC_TS)


class AuditHead(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """One audited act. ``hash`` = SHA-256 over the previous hash and this row's canonical
    form; see ``custodes.audit.chain``."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTC_TS)
    actor: Mapped[str] = mapped_column(String(64))  # username, or `system`
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Canonical JSON text (sorted keys), hashed exactly as stored: no re-serialising on verify.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("hash"),
        Index("ix_audit_target", "target_type", "target_id"),
    )


class Escalation(Base):
    """One escalation (data contract §1.6) and its current rating.

    ``escalation_id`` is the caller's id (or a hash of the record when none was sent): a
    repeat is an update of this row, never a second one. The engine's rating is kept as
    rated (``band``, ``score``, ``factors``...); an analyst's override sets ``override_band``
    and the queue clock ``sla_due_at``, while ``engine_sla_due_at`` keeps the engine's.
    """

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    escalation_id: Mapped[str] = mapped_column(String(512), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTC_TS)
    source: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    reported_category: Mapped[str | None] = mapped_column(String(128))
    subject_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    jurisdiction: Mapped[str | None] = mapped_column(String(2))
    requester: Mapped[str | None] = mapped_column(String(512))
    deadline: Mapped[datetime | None] = mapped_column(UTC_TS)
    attrs: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # The engine's current rating.
    band: Mapped[str] = mapped_column(String(2))
    score: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(64))
    rated_language: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(128))
    fast_lane: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    factors: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    clocks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Which rule set each clock (name → cause), so a late step records why it was due then.
    clock_causes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    engine_sla_due_at: Mapped[datetime] = mapped_column(UTC_TS)
    # What the queue works from: the override's band and clock when there is one.
    override_band: Mapped[str | None] = mapped_column(String(2))
    sla_due_at: Mapped[datetime] = mapped_column(UTC_TS)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # The lifecycle (open → acknowledged → actioned → resolved): who took each step, when.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    actioned_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    actioned_by: Mapped[str | None] = mapped_column(String(64))
    action_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTC_TS)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # Subject ids that name staff members (kept, never shown: views say `staff_involved`);
    # they find the open integrity case about those staff, linked as `case_id`.
    staff_subject_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    updated_at: Mapped[datetime] = mapped_column(UTC_TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        # The queue: open work by time to breach.
        Index("ix_escalations_status_due", "status", "sla_due_at"),
        Index("ix_escalations_sla_due_at", "sla_due_at"),
        Index("ix_escalations_received_at", "received_at"),
    )


class EscalationKey(Base):
    """The subject ids and URLs an escalation names, one row each, so "other escalations
    about the same subject" is an index lookup on both databases (not a JSON scan)."""

    __tablename__ = "escalation_keys"
    escalation_pk: Mapped[int] = mapped_column(ForeignKey("escalations.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # subject | url
    __table_args__ = (Index("ix_escalation_keys_key", "key"),)


class EscalationRevision(Base):
    """Append-only history: every intake, update, re-rating, override and status move,
    with what changed (``changes``: field → [before, after])."""

    __tablename__ = "escalation_revisions"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    escalation_pk: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTC_TS)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # intake|update|rating|override|status
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    __table_args__ = (UniqueConstraint("escalation_pk", "seq"),)


class EscalationOverride(Base):
    """An analyst's band for an escalation, with the reason; the newest one is in force."""

    __tablename__ = "escalation_overrides"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    escalation_pk: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    analyst_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    analyst: Mapped[str] = mapped_column(String(64))
    band: Mapped[str] = mapped_column(String(2))
    engine_band: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTC_TS)


class EscalationAttachment(Base):
    """A file sent with an escalation; its bytes are the ``EscalationBlob`` of its SHA-256.
    One escalation holds given content once: sending it again is not a second attachment."""

    __tablename__ = "escalation_attachments"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    escalation_pk: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTC_TS)
    added_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    __table_args__ = (
        Index("ix_escalation_attachments_content", "escalation_pk", "sha256", unique=True),
    )


class EscalationBlob(Base):
    """Attachment bytes, once per SHA-256, in the case store itself: they commit in the
    same transaction as the attachment row naming them, so an attachment is whole or
    absent on either database (no file left half-written, no row without its file), and a
    backup of the store carries them."""

    __tablename__ = "escalation_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class EscalationBreach(Base):
    """A clock that had run out when its step was taken: which clock, when it was due,
    when the step came and by whom, by how much it was late, and the clock's cause (the
    rule that set it, as ``triage.sla.Breach`` carries it). A clock breaches at most once."""

    __tablename__ = "escalation_breaches"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    escalation_pk: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    clock: Mapped[str] = mapped_column(String(16))  # acknowledge|first_action|resolve|reply
    step: Mapped[str] = mapped_column(String(16))  # acknowledge | action | resolve
    due_at: Mapped[datetime] = mapped_column(UTC_TS)
    met_at: Mapped[datetime] = mapped_column(UTC_TS)
    overdue_seconds: Mapped[float] = mapped_column(Float)
    cause: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("escalation_pk", "clock"),)


class SavedQuery(Base):
    """A workbench query someone kept: its SQL and the quick chart drawn from its result
    (``chart`` none|bar|line over the columns ``chart_x`` and ``chart_y``). Its owner may
    change it (``version`` guards concurrent edits) and share it with everyone who may run
    SQL; the SQL is run afresh, through the guard and the sandbox, each time it is shown."""

    __tablename__ = "saved_queries"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sql: Mapped[str] = mapped_column(Text)
    chart: Mapped[str] = mapped_column(String(8), default="none")
    chart_x: Mapped[str | None] = mapped_column(String(256))
    chart_y: Mapped[str | None] = mapped_column(String(256))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    updated_at: Mapped[datetime] = mapped_column(UTC_TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (UniqueConstraint("owner_id", "name"),)


class Dashboard(Base):
    """A page of saved queries' charts, in order (``DashboardItem``), owned and shareable
    like a saved query."""

    __tablename__ = "dashboards"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    updated_at: Mapped[datetime] = mapped_column(UTC_TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (UniqueConstraint("owner_id", "name"),)


class DashboardItem(Base):
    """One saved query on a dashboard, at ``position`` (0 first)."""

    __tablename__ = "dashboard_items"
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    saved_query_id: Mapped[int] = mapped_column(ForeignKey("saved_queries.id"), index=True)
