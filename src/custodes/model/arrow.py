"""Arrow schemas of the contract entities, for writers (simulator, export) and fast readers."""

from __future__ import annotations

import pyarrow as pa

from custodes.model.schema import ALL_ENTITIES, Entity, Kind

_ARROW: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.TIMESTAMP: pa.timestamp("us"),  # naive, always UTC (contract: no offset means UTC)
    Kind.DATE: pa.date32(),
    Kind.INTEGER: pa.int64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.JSON: pa.string(),  # a JSON object serialised as text
    Kind.LIST: pa.list_(pa.string()),
    Kind.COUNTRY: pa.string(),
    Kind.CLOCK: pa.string(),
    Kind.TIMEZONE: pa.string(),
    Kind.LANGUAGE: pa.string(),
}


def arrow_schema(entity: Entity | str) -> pa.Schema:
    """The Arrow schema with exactly the contract's columns, in contract order."""
    ent = ALL_ENTITIES[entity] if isinstance(entity, str) else entity
    return pa.schema(
        [pa.field(f.name, _ARROW[f.kind], nullable=not f.required) for f in ent.fields]
    )
