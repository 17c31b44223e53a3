"""Risk: per-actor scores from alerts, with time decay, context and an exact decomposition."""

from custodes.risk.decay import DEFAULT_HALF_LIFE_DAYS, decay_factor
from custodes.risk.scoring import (
    ActorContext,
    ActorRisk,
    Contribution,
    Level,
    RiskConfig,
    level_for,
    score_actors,
)

__all__ = [
    "DEFAULT_HALF_LIFE_DAYS",
    "ActorContext",
    "ActorRisk",
    "Contribution",
    "Level",
    "RiskConfig",
    "decay_factor",
    "level_for",
    "score_actors",
]
