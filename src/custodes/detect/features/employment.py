"""Employment status on the day: after notice (leavers take data on the way out) and after
the end date (an account that was never disabled, or shared with someone still inside).

These need no pass over events: they compare the day with the directory's dates in the
final select, where ``activity`` is the row's actor-day and ``p`` its fx_people row.
"""

from __future__ import annotations

from typing import Final

_NOTICE: Final = "p.notice_dn IS NOT NULL AND activity.dn >= p.notice_dn"
# The end date is the last day employed: only later days are after it.
_END: Final = "p.end_dn IS NOT NULL AND activity.dn > p.end_dn"

EXPRESSIONS: Final[dict[str, str]] = {
    "after_notice": f"CASE WHEN {_NOTICE} THEN 1 ELSE 0 END",
    "after_end": f"CASE WHEN {_END} THEN 1 ELSE 0 END",
    "days_since_notice": f"CASE WHEN {_NOTICE} THEN activity.dn - p.notice_dn ELSE 0 END",
    "days_since_end": f"CASE WHEN {_END} THEN activity.dn - p.end_dn ELSE 0 END",
}
