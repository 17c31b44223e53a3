"""The event store's tables, derived from the contract schema, and their migrations.

Migrations are an ordered list of statements; ``meta.schema_version`` records how many
have run, so an old store is brought forward on open and never rebuilt.
"""

from __future__ import annotations

from typing import Final

from custodes.model.schema import INGESTIBLE, Entity


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def entity_table(entity: Entity) -> str:
    cols = [
        f"{_quote(f.name)} {f.kind.sql_type}{' NOT NULL' if f.required else ''}"
        for f in entity.fields
    ]
    if entity.name == "events":
        cols[0] = '"event_id" VARCHAR NOT NULL'  # derived when the input has none
    cols.append("run_id BIGINT")
    return f"CREATE TABLE IF NOT EXISTS {_quote(entity.name)} ({', '.join(cols)})"


MIGRATIONS: Final[tuple[str, ...]] = (
    *(entity_table(e) for e in INGESTIBLE.values()),
    """CREATE TABLE IF NOT EXISTS quarantine (
        run_id BIGINT, entity VARCHAR, file VARCHAR, "row" BIGINT, field VARCHAR,
        reason VARCHAR, raw VARCHAR, quarantined_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id BIGINT PRIMARY KEY, entity VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, status VARCHAR, files BIGINT, "read" BIGINT, stored BIGINT,
        duplicate BIGINT, quarantined BIGINT, failed_files BIGINT, error VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ingest_files (
        run_id BIGINT, entity VARCHAR, file VARCHAR, "read" BIGINT, stored BIGINT,
        duplicate BIGINT, quarantined BIGINT, committed_at TIMESTAMP)""",
    "CREATE SEQUENCE IF NOT EXISTS run_ids START 1",
    # Detection (issue 3). Alerts keep their contract fields; ids are stable across runs so
    # analyst verdicts stay attached when detection is re-run.
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id VARCHAR, actor_id VARCHAR, detector VARCHAR, category VARCHAR,
        severity VARCHAR, score DOUBLE, window_start TIMESTAMP, window_end TIMESTAMP,
        reasons VARCHAR[], evidence_event_ids VARCHAR[], detect_run BIGINT)""",
    """CREATE TABLE IF NOT EXISTS actor_day_scores (
        actor_id VARCHAR, day DATE, detector VARCHAR, score DOUBLE, detect_run BIGINT)""",
    """CREATE TABLE IF NOT EXISTS alert_verdicts (
        alert_id VARCHAR, verdict VARCHAR, reason VARCHAR, analyst VARCHAR,
        decided_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS detect_runs (
        detect_run BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP, since DATE,
        status VARCHAR, feature_rows BIGINT, alerts BIGINT, error VARCHAR)""",
    # Analyst feedback (issue 3). A verdict keeps a copy of what it judged, because a later
    # detection run may no longer raise that alert; `suppressed` says why an alert is muted
    # (NULL = active) so muting is never silent. Calibrations are append-only versions.
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS pattern VARCHAR",
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS suppressed VARCHAR",
    "ALTER TABLE alert_verdicts ADD COLUMN IF NOT EXISTS actor_id VARCHAR",
    "ALTER TABLE alert_verdicts ADD COLUMN IF NOT EXISTS pattern VARCHAR",
    "ALTER TABLE alert_verdicts ADD COLUMN IF NOT EXISTS score DOUBLE",
    "ALTER TABLE alert_verdicts ADD COLUMN IF NOT EXISTS window_end TIMESTAMP",
    """CREATE TABLE IF NOT EXISTS calibrations (
        version BIGINT, created_at TIMESTAMP, analyst VARCHAR, reason VARCHAR,
        pattern VARCHAR, min_score DOUBLE, true_positives BIGINT, false_positives BIGINT)""",
    # An alert's `score` ranks it among all alerts (see detect/ensemble.py); what its own
    # detector said is kept beside it.
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS detector_score DOUBLE",
)

# Tables `custodes status` reports, in display order.
STATUS_TABLES: Final[tuple[str, ...]] = (
    *INGESTIBLE.keys(),
    "quarantine",
    "ingest_runs",
    "ingest_files",
    "alerts",
    "alert_verdicts",
)
