"""Typed domain objects and the contract's vocabularies."""

from custodes.model.schema import ALL_ENTITIES, INGESTIBLE, Entity, Field, Kind
from custodes.model.vocabulary import (
    ACTION_FAMILIES,
    CANONICAL_ACTIONS,
    ROLES,
    SCENARIOS,
    TARGET_TYPES,
    family_of,
)

__all__ = [
    "ACTION_FAMILIES",
    "ALL_ENTITIES",
    "CANONICAL_ACTIONS",
    "INGESTIBLE",
    "ROLES",
    "SCENARIOS",
    "TARGET_TYPES",
    "Entity",
    "Field",
    "Kind",
    "family_of",
]
