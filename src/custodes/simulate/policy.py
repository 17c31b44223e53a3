"""Content policies and the review queues built on them.

Numbers are chosen so that honest data looks like a real review operation: spam is fast and
mostly machine-solvable, child safety and violent extremism are slow and escalated more,
misinformation is where humans and the classifier disagree most (and appeals overturn most).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class Policy:
    name: str
    weight: float  # share of review volume
    seconds: float  # median decision time
    sigma: float  # lognormal spread of decision time
    violating: float  # share of queued items that truly violate
    restrict: float  # share of violations where restrict (not remove) is right
    classifier: float  # classifier accuracy
    error: float  # honest moderator error rate
    escalate: float  # share of items a moderator escalates


POLICIES: Final[tuple[Policy, ...]] = (
    Policy("spam", 0.20, 12.0, 0.45, 0.70, 0.05, 0.93, 0.03, 0.002),
    Policy("hate", 0.12, 38.0, 0.55, 0.45, 0.30, 0.82, 0.08, 0.010),
    Policy("harassment", 0.14, 33.0, 0.55, 0.50, 0.35, 0.80, 0.08, 0.010),
    Policy("violent_extremism", 0.05, 95.0, 0.50, 0.40, 0.10, 0.85, 0.06, 0.050),
    Policy("child_safety", 0.04, 110.0, 0.50, 0.35, 0.02, 0.88, 0.04, 0.080),
    Policy("adult", 0.12, 18.0, 0.45, 0.60, 0.40, 0.90, 0.05, 0.003),
    Policy("misinformation", 0.08, 70.0, 0.60, 0.35, 0.55, 0.74, 0.11, 0.020),
    Policy("self_harm", 0.05, 75.0, 0.50, 0.40, 0.40, 0.84, 0.06, 0.060),
    Policy("ip", 0.08, 42.0, 0.55, 0.55, 0.10, 0.86, 0.07, 0.010),
    Policy("fraud", 0.12, 26.0, 0.50, 0.65, 0.10, 0.88, 0.05, 0.010),
)
NAMES: Final = tuple(p.name for p in POLICIES)
CODE: Final = {p.name: i for i, p in enumerate(POLICIES)}
WEIGHT: Final = np.array([p.weight for p in POLICIES]) / sum(p.weight for p in POLICIES)
SECONDS: Final = np.array([p.seconds for p in POLICIES])
SIGMA: Final = np.array([p.sigma for p in POLICIES])
VIOLATING: Final = np.array([p.violating for p in POLICIES])
RESTRICT: Final = np.array([p.restrict for p in POLICIES])
CLASSIFIER: Final = np.array([p.classifier for p in POLICIES])
ERROR: Final = np.array([p.error for p in POLICIES])
ESCALATE: Final = np.array([p.escalate for p in POLICIES])

# Queue language follows the site; queues are "<policy>-<language>".
QUEUE_LANGUAGES: Final = ("en", "es", "pt")

# Users appeal actions on their content; wrongful ones (the content broke no rule) get
# appealed more and are usually overturned.
APPEAL_IF_RIGHT: Final = 0.06
APPEAL_IF_WRONG: Final = 0.10
OVERTURN_IF_WRONG: Final = 0.60
OVERTURN_IF_RIGHT: Final = 0.03
