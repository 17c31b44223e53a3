"""Compile the contract schema into DuckDB expressions that parse and check every field.

For each field we produce a *value* expression (typed, normalised, NULL when absent or bad)
and an *error* expression (``field␟reason`` text when the raw value is present but bad, or
when a required value is missing). Running this as SQL keeps ingest vectorised: Python never
touches a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from custodes.ingest.source import sql_string
from custodes.model.schema import Entity, Field, Kind
from custodes.model.vocabulary import CANONICAL_ACTIONS, CUSTOM_PREFIX

SEP_FIELD = "chr(31)"  # between field name and reason
SEP_ERROR = "chr(30)"  # between errors of one row

_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Compiled:
    """SELECT-list pieces for one source: typed values, one error text, and extra columns."""

    values: dict[str, str]
    error: str
    extras: list[str]


def compile_entity(entity: Entity, columns: dict[str, str], alias: str = "src") -> Compiled:
    """Expressions over ``alias`` for every contract field; ``columns`` maps present column
    names (as the file spells them, matched case-insensitively) to their DuckDB types."""
    by_lower = {name.strip().lower(): name for name in columns}
    values: dict[str, str] = {}
    errors: list[str] = []
    for fld in entity.fields:
        present = by_lower.get(fld.name)
        if present is None:
            values[fld.name] = f"NULL::{fld.kind.sql_type}"
            continue
        ref = f"{alias}.{quote(present)}"
        value, error = _field(fld, ref, columns[present].upper())
        values[fld.name] = value
        errors.append(error)
    if entity.name == "events" and "action" in by_lower:
        action = values["action"]
        errors.append(
            f"CASE WHEN {action} IS NOT NULL AND {action} NOT IN ({_in_list(CANONICAL_ACTIONS)}) "
            f"AND NOT starts_with({action}, '{CUSTOM_PREFIX}') THEN 'action' || {SEP_FIELD} || "
            f"'unknown action ' || {_show(action)} || "
            "'; use a canonical action or a custom one spelled x-<name>' END"
        )
    special = {"_ord", "_error", "ordinality", "filename"}
    known = set(entity.names)
    extras = [
        name
        for name in columns
        if name.strip().lower() not in known and name not in special and not name.startswith("_")
    ]
    if extras or "attrs" in by_lower:
        values["attrs"] = _attrs(values["attrs"], [f"{alias}.{quote(n)}" for n in extras], extras)
    error = f"nullif(concat_ws({SEP_ERROR}, {', '.join(errors) or 'NULL'}), '')"
    if "_error" in columns:
        # A record the reader could not parse (a JSON line that is not JSON): its field
        # errors would only repeat that, so the record-level reason stands alone.
        error = f"coalesce({alias}._error, {error})"
    return Compiled(values, error, extras)


def _field(fld: Field, ref: str, src_type: str) -> tuple[str, str]:
    text = f"nullif(trim(CAST({ref} AS VARCHAR)), '')"
    kind = fld.kind
    if kind in (Kind.STRING, Kind.COUNTRY, Kind.CLOCK, Kind.TIMEZONE, Kind.LANGUAGE):
        value = text
        checks = [
            (f"length({text}) > {fld.max_length}", f"'longer than {fld.max_length} characters'")
        ]
        if kind is Kind.COUNTRY:
            value = f"upper({text})"
            checks.append(
                (
                    f"NOT regexp_full_match({value}, '[A-Z]{{2}}')",
                    f"'not an ISO 3166-1 alpha-2 country code: ' || {_show(text)}",
                )
            )
        elif kind is Kind.LANGUAGE:
            value = f"lower({text})"
            checks.append(
                (
                    f"NOT regexp_full_match({value}, '[a-z]{{2}}')",
                    f"'not an ISO 639-1 language code: ' || {_show(text)}",
                )
            )
        elif kind is Kind.CLOCK:
            checks.append(
                (
                    f"NOT regexp_full_match({text}, '([01][0-9]|2[0-3]):[0-5][0-9]')",
                    f"'not a HH:MM time: ' || {_show(text)}",
                )
            )
        elif kind is Kind.TIMEZONE:
            checks.append(
                (
                    f"{text} NOT IN (SELECT name FROM pg_timezone_names())",
                    f"'not an IANA time zone: ' || {_show(text)}",
                )
            )
        if fld.choices:
            allowed = _in_list(fld.choices)
            custom = f" AND NOT starts_with({text}, 'x-')" if fld.allow_custom else ""
            checks.append(
                (
                    f"{text} NOT IN ({allowed}){custom}",
                    f"'not one of {', '.join(fld.choices)}: ' || {_show(text)}",
                )
            )
        return _with_checks(fld, value, text, checks)
    if kind is Kind.TIMESTAMP:
        if src_type.startswith("TIMESTAMP WITH TIME ZONE"):
            value = f"timezone('UTC', {ref})"
        elif src_type.startswith(_TIMESTAMP_TYPES):
            value = f"CAST({ref} AS TIMESTAMP)"
        else:
            # Offsets are honoured; a timestamp without one is UTC (session TimeZone is UTC).
            value = f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
        return _with_checks(
            fld,
            value,
            text,
            [
                (f"{value} IS NULL", f"'unparseable timestamp: ' || {_show(text)}"),
            ],
        )
    if kind is Kind.DATE:
        value = (
            f"CAST({ref} AS DATE)"
            if src_type.startswith(("DATE", "TIMESTAMP"))
            else f"CAST(timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) AS DATE)"
        )
        return _with_checks(
            fld,
            value,
            text,
            [
                (f"{value} IS NULL", f"'unparseable date: ' || {_show(text)}"),
            ],
        )
    if kind is Kind.INTEGER:
        value = f"TRY_CAST({text} AS BIGINT)"
        if src_type in ("DOUBLE", "FLOAT", "REAL") or not src_type.startswith(
            ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "HUGEINT")
        ):
            # "12.0" is an integer, "12.5" is not.
            value = (
                f"CASE WHEN TRY_CAST({text} AS DOUBLE) = floor(TRY_CAST({text} AS DOUBLE)) "
                f"THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT) END"
            )
        checks = [(f"{value} IS NULL", f"'not an integer: ' || {_show(text)}")]
        if fld.non_negative:
            checks.append((f"{value} < 0", f"'must not be negative: ' || {_show(text)}"))
        return _with_checks(fld, value, text, checks)
    if kind is Kind.BOOLEAN:
        value = (
            f"CASE lower({text}) WHEN 'true' THEN true WHEN 't' THEN true WHEN '1' THEN true "
            "WHEN 'yes' THEN true WHEN 'y' THEN true WHEN 'false' THEN false WHEN 'f' THEN false "
            "WHEN '0' THEN false WHEN 'no' THEN false WHEN 'n' THEN false END"
        )
        return _with_checks(
            fld,
            value,
            text,
            [
                (f"{value} IS NULL", f"'not a boolean (true/false): ' || {_show(text)}"),
            ],
        )
    if kind is Kind.LIST:
        if src_type.endswith("[]"):
            value = f"list_filter(CAST({ref} AS VARCHAR[]), lambda x: x IS NOT NULL AND x <> '')"
            return value, "NULL"
        value = (
            f"CASE WHEN starts_with({text}, '[') "
            f"THEN TRY_CAST(TRY_CAST({text} AS JSON) AS VARCHAR[]) "
            f"ELSE list_filter(list_transform(string_split({text}, ';'), lambda x: trim(x)), "
            "lambda x: x <> '') END"
        )
        return _with_checks(
            fld,
            value,
            text,
            [
                (
                    f"length({text}) > {fld.max_length}",
                    f"'longer than {fld.max_length} characters'",
                ),
                (f"{value} IS NULL", "'not a ;-separated list or a JSON array of strings'"),
            ],
        )
    if kind is Kind.JSON:
        if src_type.startswith(("STRUCT", "MAP")):
            return f"CAST(to_json({ref}) AS VARCHAR)", "NULL"
        value = (
            f"CASE WHEN json_valid({text}) THEN CASE WHEN json_type({text}) = 'OBJECT' "
            f"THEN nullif(CAST(json({text}) AS VARCHAR), '{{}}') END END"
        )
        return _with_checks(
            fld,
            value,
            text,
            [
                (
                    f"length({text}) > {fld.max_length}",
                    f"'longer than {fld.max_length} characters'",
                ),
                (f"{value} IS NULL AND {text} <> '{{}}'", "'not a JSON object'"),
            ],
        )
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover


def _with_checks(
    fld: Field, value: str, text: str, checks: list[tuple[str, str]]
) -> tuple[str, str]:
    name = sql_string(fld.name)
    branches = []
    if fld.required:
        branches.append(
            f"WHEN {text} IS NULL THEN {name} || {SEP_FIELD} || 'required value is missing'"
        )
    for condition, reason in checks:
        branches.append(
            f"WHEN {text} IS NOT NULL AND ({condition}) THEN {name} || {SEP_FIELD} || {reason}"
        )
    error = f"CASE {' '.join(branches)} END" if branches else "NULL"
    # The value needs no guard: a row with any error is quarantined, never stored.
    return value, error


def _attrs(attrs_value: str, refs: list[str], names: list[str]) -> str:
    """Unknown columns are kept as attrs keys; explicit attrs win on a clash."""
    if not refs:
        return attrs_value
    pairs = ", ".join(
        f"{sql_string(n.strip())}, CAST({r} AS VARCHAR)" for n, r in zip(names, refs, strict=True)
    )
    extras = f"json_merge_patch('{{}}', json_object({pairs}))"
    merged = f"json_merge_patch({extras}, coalesce({attrs_value}, '{{}}'))"
    return f"nullif(CAST({merged} AS VARCHAR), '{{}}')"


def _in_list(values: object) -> str:
    return ", ".join(sql_string(v) for v in sorted(values))  # type: ignore[call-overload]


def _show(text: str) -> str:
    """The offending value, shortened so a huge field cannot flood the quarantine."""
    return f"left({text}, 80)"
