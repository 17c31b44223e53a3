"""Cases: the investigation workflow, evidence, timeline, feedback to detection, retention.

The public API is :class:`CaseService` (one method per thing a user does) and the views in
``custodes.cases.views``; everything else here is how it is done.
"""

from custodes.cases.service import CaseService
from custodes.cases.workflow import LinkKind, Outcome, Status

__all__ = ["CaseService", "LinkKind", "Outcome", "Status"]
