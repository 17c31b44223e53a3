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


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Compiled:
    """SELECT-list pieces for one source, in two layers.

    ``texts`` (inner layer, over the raw columns) computes each field's trimmed text once;
    ``values`` and ``error`` (outer layer) refer to those texts by name, so a field checked
    five ways is still cast and trimmed only once per row.
    """

    texts: dict[str, str]
    values: dict[str, str]
    error: str
    extras: list[str]


TEXT_PREFIX = "__t_"

# Source types that already are what a kind stores: no text round trip needed.
_NATIVE: dict[Kind, tuple[str, ...]] = {
    Kind.TIMESTAMP: ("TIMESTAMP", "DATE"),
    Kind.DATE: ("DATE", "TIMESTAMP"),
    Kind.INTEGER: (
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "UBIGINT",
        "UINTEGER",
        "USMALLINT",
        "UTINYINT",
    ),
    Kind.BOOLEAN: ("BOOLEAN",),
}


def compile_entity(entity: Entity, columns: dict[str, str], alias: str = "src") -> Compiled:
    """Expressions over ``alias`` for every contract field; ``columns`` maps present column
    names (as the file spells them, matched case-insensitively) to their DuckDB types."""
    by_lower = {name.strip().lower(): name for name in columns}
    texts: dict[str, str] = {}
    values: dict[str, str] = {}
    errors: list[str] = []
    for fld in entity.fields:
        present = by_lower.get(fld.name)
        if present is None:
            values[fld.name] = f"NULL::{fld.kind.sql_type}"
            continue
        ref = f"{alias}.{quote(present)}"
        src_type = columns[present].upper()
        if src_type.startswith(_NATIVE.get(fld.kind, ())) and "WITH TIME ZONE" not in src_type:
            value, error = _native(fld, ref)
        else:
            inner = TEXT_PREFIX + fld.name
            texts[inner] = _text(ref, src_type)
            value, error = _field(fld, ref, src_type, f"{alias}.{quote(inner)}")
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
    return Compiled(texts, values, error, extras)


def _text(ref: str, src_type: str) -> str:
    """A field as text, blank as NULL, outer spaces removed.

    ``trim`` copies every string and cost more than all the checks together, so only the
    rare value that starts or ends with a space is trimmed.
    """
    text = ref if src_type == "VARCHAR" else f"CAST({ref} AS VARCHAR)"
    return (
        f"CASE WHEN {text} = '' THEN NULL WHEN starts_with({text}, ' ') OR "
        f"ends_with({text}, ' ') THEN nullif(trim({text}), '') ELSE {text} END"
    )


def _native(fld: Field, ref: str) -> tuple[str, str]:
    """A column already typed right (Parquet timestamps, integers): only range checks."""
    name = sql_string(fld.name)
    value = ref
    if fld.kind is Kind.TIMESTAMP:
        value = f"CAST({ref} AS TIMESTAMP)"
    elif fld.kind is Kind.DATE:
        value = f"CAST({ref} AS DATE)"
    elif fld.kind is Kind.INTEGER:
        value = f"CAST({ref} AS BIGINT)"
    branches = []
    if fld.required:
        branches.append(
            f"WHEN {ref} IS NULL THEN {name} || {SEP_FIELD} || 'required value is missing'"
        )
    if fld.kind is Kind.INTEGER and fld.non_negative:
        branches.append(
            f"WHEN {ref} < 0 THEN {name} || {SEP_FIELD} || 'must not be negative: ' "
            f"|| CAST({ref} AS VARCHAR)"
        )
    return value, (f"CASE {' '.join(branches)} END" if branches else "NULL")


def _field(fld: Field, ref: str, src_type: str, text: str) -> tuple[str, str]:
    """Value and error of one field from its text (``text`` names the inner-layer column)."""
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
        # "12" and "12.0" are integers, "12.5" is not.
        value = (
            f"coalesce(TRY_CAST({text} AS BIGINT), CASE WHEN TRY_CAST({text} AS DOUBLE) = "
            f"floor(TRY_CAST({text} AS DOUBLE)) "
            f"THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT) END)"
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
        is_object = f"coalesce(json_type(TRY_CAST({text} AS JSON)) = 'OBJECT', false)"
        value = f"nullif({text}, '{{}}')"
        return _with_checks(
            fld,
            value,
            text,
            [
                (
                    f"length({text}) > {fld.max_length}",
                    f"'longer than {fld.max_length} characters'",
                ),
                (f"NOT {is_object}", "'not a JSON object'"),
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
