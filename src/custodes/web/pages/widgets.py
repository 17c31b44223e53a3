"""Bits the integrity pages share: what happened after a form (notices), paging, reading
filter fields, safe markdown, and the Jinja filters their templates use.

Forms on these pages are plain HTML forms (they work without JavaScript and from the
keyboard): a successful POST redirects back (303) with a short ``done`` code, which the page
turns into a sentence from ``NOTICES``; only fixed sentences are ever shown, so a crafted link
cannot make a page say something else. A POST that fails re-renders its page with the error
instead (400 for input, 409 for a conflict such as a stale version), keeping the URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import HTTPException, Request
from markdown_it import MarkdownIt
from markupsafe import Markup

from custodes.web.pages.base import local_path, templates

PAGE_SIZE: Final = 50
NONE: Final = "\u2013"  # an en dash: no value

# What a page says after a form succeeded (``?done=CODE``; ``n`` counts, where it applies).
NOTICES: Final = {
    "dismissed": "Dismissed {n} as false positives; detection learns from it.",
    "confirmed": "Confirmed {n} as true positives.",
    "opened": "Case opened from the alerts.",
    "moved": "The case moved on.",
    "closed": "The case is closed; its outcome becomes its alerts' verdict.",
    "assigned": "Assignment saved.",
    "note": "Note added.",
    "task": "Task added.",
    "task-done": "Task marked done.",
    "task-open": "Task reopened.",
    "evidence": "Evidence saved, with the hash of what it selected.",
    "unmask-active": "Unmasked for you: the real id now shows beside the pseudonym (audited).",
    "unmask-pending": "Unmasking requested: it takes effect once a second person approves it.",
}
# And after one that failed in a way the page it returns to should say (``?problem=CODE``).
PROBLEMS: Final = {
    "unmask-justification": "Unmasking needs a justification of at least 10 characters.",
    "unmask-subject": "Only people named in a case can be unmasked: open a case about them.",
    "unmask-refused": "That unmasking request was refused.",
}

# CommonMark without raw HTML (it is shown as text) or images (they would fetch from
# anywhere); markdown-it also refuses javascript:, vbscript:, file: and data: links.
_MARKDOWN: Final = MarkdownIt("commonmark", {"html": False}).disable("image")


def markdown(text: str) -> Markup:
    """Notes and descriptions as HTML that is safe to put in a page."""
    return Markup(_MARKDOWN.render(text))  # noqa: S704 (raw HTML is escaped by markdown-it)


def when(value: datetime | None) -> str:
    """``2026-03-04 10:22 UTC`` (the stores hand back naive UTC or aware times)."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else NONE


def day(value: date | datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else NONE


def words(value: str | None) -> str:
    """``pending_decision`` → ``pending decision``: codes as people read them."""
    return (value or "").replace("_", " ")


templates.env.filters.update(markdown=markdown, when=when, day=day, words=words)


@dataclass(frozen=True)
class Notice:
    text: str
    problem: bool


def notice(request: Request) -> Notice | None:
    """The sentence for a ``done``/``problem`` code in the URL, if it is one we know."""
    done = request.query_params.get("done")
    if done in NOTICES:
        raw = request.query_params.get("n", "")
        n = int(raw) if raw.isdigit() and len(raw) < 7 else 1
        text = NOTICES[done].format(n=f"{n} alert{'' if n == 1 else 's'}")
        return Notice(text, problem=False)
    problem = request.query_params.get("problem")
    if problem in PROBLEMS:
        return Notice(PROBLEMS[problem], problem=True)
    return None


def back_to(target: str | None, default: str, **params: str | int) -> str:
    """Where to send the browser after a form: ``target`` if it is a path of this site
    (else ``default``), with ``params`` set in its query (replacing notices it had)."""
    path = local_path(target, default)
    parts = urlsplit(path)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "problem", "n")]
    kept += [(k, str(v)) for k, v in params.items()]
    query = urlencode(kept)
    return (
        parts.path
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def bad_request(what: str) -> HTTPException:
    """A filter value no form of ours sends (a hand-edited URL): the 400 page."""
    return HTTPException(400, what)


def optional(value: str) -> str | None:
    """An empty form field means "any"."""
    value = value.strip()
    return value or None


def score_field(value: str) -> float:
    """A 0..1 score typed in a filter; empty is 0."""
    if not value.strip():
        return 0.0
    try:
        found = float(value)
    except ValueError:
        raise bad_request("min_score") from None
    if not (math.isfinite(found) and 0.0 <= found <= 1.0):
        raise bad_request("min_score")
    return found


def date_field(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise bad_request("date") from None


@dataclass(frozen=True)
class Paging:
    """Page links for a list: numbered pages of ``size``, ``total`` rows (a lower bound
    when not ``exact``)."""

    url: str  # the list's URL with its filters, without ``page``
    page: int
    size: int
    total: int
    exact: bool = True

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.page * self.size, self.total)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def link(self, page: int) -> str:
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}page={page}" if page > 1 else self.url

    @property
    def previous(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        more = self.page < self.pages or (not self.exact and self.last >= self.total)
        return self.link(self.page + 1) if more else None


def url_with(path: str, params: dict[str, str | list[str] | None]) -> str:
    """``path`` with the non-empty ``params`` as its query (lists repeat the key)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list):
            pairs += [(key, v) for v in value]
        elif value:
            pairs.append((key, value))
    return path + (f"?{urlencode(pairs)}" if pairs else "")
