"""What a simulation run looks like: size, period, seed and the knobs that shape the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from custodes.model.vocabulary import SCENARIOS

MAX_STAFF = 100_000
MAX_DAYS = 3_650


@dataclass(frozen=True)
class SimulationConfig:
    """A run is fully determined by this value: same config, byte-identical output.

    ``staff`` counts everybody in the directory, including people hired during the period.
    ``volume`` scales every honest activity rate (1.0 is about 60 events per staff member
    per calendar day); tests turn it down to stay fast.
    """

    staff: int = 300
    days: int = 60
    seed: int = 7
    start: date = date(2026, 1, 5)
    insider_fraction: float = 0.04
    escalations_per_day: float | None = None
    scenarios: tuple[str, ...] = SCENARIOS
    accounts_per_staff: float = 30.0
    volume: float = 1.0
    hire_fraction: float = 0.08
    leaver_fraction: float = 0.05
    high_profile_fraction: float = 0.01
    language_shares: tuple[float, float, float] = field(default=(1 / 3, 1 / 3, 1 / 3))

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"SimulationConfig.{name}={getattr(self, name)!r}: {why}")

        for name in ("staff", "days", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, "must be an integer")
        if not 1 <= self.staff <= MAX_STAFF:
            raise bad("staff", f"must be between 1 and {MAX_STAFF}")
        if not 1 <= self.days <= MAX_DAYS:
            raise bad("days", f"must be between 1 and {MAX_DAYS}")
        if self.seed < 0:
            raise bad("seed", "must be non-negative")
        if not isinstance(self.start, date):
            raise bad("start", "must be a datetime.date")
        if not 0.0 <= self.insider_fraction <= 0.5:
            raise bad("insider_fraction", "must be between 0 and 0.5")
        if self.escalations_per_day is not None and not 0.0 <= self.escalations_per_day <= 1e5:
            raise bad("escalations_per_day", "must be None or between 0 and 100000")
        unknown = sorted(set(self.scenarios) - set(SCENARIOS))
        if unknown:
            raise bad("scenarios", f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
        if len(set(self.scenarios)) != len(self.scenarios):
            raise bad("scenarios", "lists a scenario twice")
        if not 1.0 <= self.accounts_per_staff <= 1000.0:
            raise bad("accounts_per_staff", "must be between 1 and 1000")
        if not 0.0 < self.volume <= 10.0:
            raise bad("volume", "must be in (0, 10]")
        for name in ("hire_fraction", "leaver_fraction", "high_profile_fraction"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise bad(name, "must be between 0 and 0.5")
        shares = self.language_shares
        if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-6:
            raise bad(
                "language_shares", "must be three non-negative shares (en, es, pt) summing to 1"
            )

    @property
    def escalation_rate(self) -> float:
        """Escalations per day; by default they scale with the organisation's size."""
        if self.escalations_per_day is not None:
            return self.escalations_per_day
        return self.staff / 15.0

    @property
    def accounts(self) -> int:
        return max(50, round(self.staff * self.accounts_per_staff))
