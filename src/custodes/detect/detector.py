"""What a detector is, and the registry that names them.

A detector reads features and events through the store gateway and returns alerts plus a
score for every actor-day it looked at. Detectors are registered by name (as pySigma
registers backends), so `custodes detect --detector NAME` and configuration files can pick
them without importing classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

import pyarrow as pa

from custodes.detect.alert import Alert
from custodes.errors import CustodesError
from custodes.store.events import EventStore

SCORE_SCHEMA = pa.schema([("actor_id", pa.string()), ("day", pa.date32()), ("score", pa.float64())])


@dataclass(frozen=True)
class DetectContext:
    """What every detector may rely on: features are built for days >= ``since``;
    ``sightings``, when set, names a table of first sightings over every stored event
    (``detect.sightings``) computed once for the run."""

    store: EventStore
    as_of: datetime
    since: date | None = None
    sightings: str | None = None


@dataclass
class Findings:
    """A detector's output: alerts, and actor-day scores (0..1, higher = more suspicious)."""

    alerts: list[Alert] = field(default_factory=list)
    scores: pa.Table = field(default_factory=lambda: SCORE_SCHEMA.empty_table())


class Detector(Protocol):
    name: str

    def run(self, context: DetectContext) -> Findings: ...


DetectorFactory = Callable[[], Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Class or factory decorator: ``@register("baselines")``."""

    def wrap(factory: DetectorFactory) -> DetectorFactory:
        if name in _REGISTRY:
            raise ValueError(f"detector {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return wrap


def registered() -> dict[str, DetectorFactory]:
    """Detectors by name; importing ``custodes.detect.detectors`` registers the built-ins."""
    import custodes.detect.detectors  # noqa: F401  (registers on import)

    return dict(sorted(_REGISTRY.items()))


def create(names: list[str] | None = None) -> list[Detector]:
    available = registered()
    chosen = names or list(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise CustodesError(
            f"unknown detector {', '.join(unknown)}; available: {', '.join(available)}"
        )
    return [available[n]() for n in chosen]
