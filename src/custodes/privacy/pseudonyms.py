"""Stable keyed pseudonyms for subjects, so no view shows a staff member's real id by default.

A pseudonym is ``S-`` plus ten base32 characters of HMAC-SHA256(key, actor_id). Keyed, not a
plain hash: actor ids are few and guessable, so an unkeyed hash could be reversed by hashing
every id in the staff directory. The same key always gives the same pseudonym, so analysts can
follow one subject across cases, alerts and exports without learning who it is.

The key is ``settings.pseudonym_key`` when set (so several installations can agree), else a
random key generated once and kept in the case store's ``meta`` table. Ten base32 characters
are 50 bits: collisions need ~33 million subjects to become likely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final

from sqlalchemy.exc import IntegrityError

from custodes.config import Settings
from custodes.store.cases import CaseStore
from custodes.store.schema import Meta

META_KEY: Final = "pseudonym_key"
PATTERN: Final = re.compile(r"^S-[A-Z2-7]{10}$")


class Pseudonyms:
    """Maps actor ids to pseudonyms; never the other way (see ``CaseSubject`` for that)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key

    @classmethod
    def load(cls, store: CaseStore, settings: Settings) -> Pseudonyms:
        if settings.pseudonym_key:
            return cls(settings.pseudonym_key.encode())
        return cls(_stored_key(store).encode())

    def of(self, actor_id: str) -> str:
        return _pseudonym(self._key, actor_id)

    def mask(self, text: str, actor_ids: list[str] | tuple[str, ...] | set[str]) -> str:
        """``text`` with each of ``actor_ids`` replaced by its pseudonym (longest first, so
        an id that contains another is replaced whole)."""
        for actor in sorted(actor_ids, key=len, reverse=True):
            if actor:
                text = text.replace(actor, self.of(actor))
        return text

    def masker(self, actor_ids: Iterable[str]) -> Callable[[str], str]:
        """``mask`` for many texts against one set of ids: one compiled pattern (longest id
        first), so a page masking hundreds of rows against the whole staff directory does
        one pass per text instead of one per id."""
        ids = tuple(sorted({a for a in actor_ids if a}, key=lambda a: (-len(a), a)))
        if not ids:
            return lambda text: text
        pattern = _alternatives(ids)
        names = {a: self.of(a) for a in ids}
        return lambda text: pattern.sub(lambda m: names[m.group(0)], text)


@lru_cache(maxsize=1 << 16)
def _pseudonym(key: bytes, actor_id: str) -> str:
    """Remembered per process: a page finding one person by pseudonym computes every staff
    member's (base32 is slow in pure Python), and the answer never changes for a key."""
    digest = hmac.new(key, actor_id.encode(), hashlib.sha256).digest()
    return "S-" + base64.b32encode(digest).decode()[:10]


@lru_cache(maxsize=32)
def _alternatives(ids: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching any of ``ids`` (longest first); the staff directory changes
    rarely, so pages reuse the compiled pattern instead of compiling it per request."""
    return re.compile("|".join(map(re.escape, ids)))


def is_pseudonym(value: str) -> bool:
    return bool(PATTERN.match(value))


# The stored key of each open case store. It is written once and never changed, so a server
# need not read it back on every request (a read transaction per request, ~0.5 ms).
_KEYS: Final[weakref.WeakKeyDictionary[CaseStore, str]] = weakref.WeakKeyDictionary()


def _stored_key(store: CaseStore) -> str:
    """The installation's key, created on first use; a concurrent first use is resolved by
    the primary key (the loser reads the winner's key). Remembered per store once known."""
    key = _KEYS.get(store)
    if key is None:
        key = _KEYS[store] = _load_key(store)
    return key


def _load_key(store: CaseStore) -> str:
    with store.read() as session:
        row = session.get(Meta, META_KEY)
        if row is not None:
            return row.value
    try:
        with store.write() as session:
            if (row := session.get(Meta, META_KEY)) is not None:
                return row.value
            key = secrets.token_hex(32)
            session.add(Meta(key=META_KEY, value=key))
            return key
    except IntegrityError:
        with store.read() as session:
            return session.get_one(Meta, META_KEY).value
