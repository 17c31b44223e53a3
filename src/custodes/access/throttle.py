"""Failed sign-ins, counted, so password guessing is slow and visible.

After ``per_user`` failures for one username, or ``per_client`` for one client address,
within ``window``, further attempts for it are refused (HTTP 429 with ``Retry-After``)
until the oldest failure leaves the window — before the password is checked, so a flood
costs neither argon2 time nor audit rows. A success clears that username's failures; a
client's count only ages out (one address trying many usernames is the attack it catches).

Counts live in the serving process: with ``serve --workers N`` an attacker gets at most N
times the budget, and a restart forgets them. That is the trade for needing no shared state;
the audit log keeps every failure (``auth.login_failed``) regardless.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from custodes.errors import RateLimitedError

PER_USER = 5
PER_CLIENT = 20
WINDOW_SECONDS = 15 * 60


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = PER_USER,
        per_client: int = PER_CLIENT,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_client = per_client
        self.window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def check(self, username: str, client: str) -> None:
        """Raise ``RateLimitedError`` when this username or client has failed too often."""
        now = self._clock()
        with self._lock:
            waits = [
                self._wait(key, limit, now)
                for key, limit in (
                    (_user(username), self.per_user),
                    (_client(client), self.per_client),
                )
            ]
        wait = max(waits)
        if wait > 0:
            raise RateLimitedError(
                "too many failed sign-ins; try again later", retry_after=math.ceil(wait)
            )

    def failed(self, username: str, client: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (_user(username), _client(client)):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 100_000:  # a flood of distinct keys: drop the aged
                self._prune(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(_user(username), None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        seen = self._failures.get(key)
        if not seen:
            return 0.0
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if not seen:
            del self._failures[key]
            return 0.0
        if len(seen) < limit:
            return 0.0
        return seen[len(seen) - limit] + self.window - now

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._wait(key, 1, now)


def _user(username: str) -> str:
    return "u:" + username.strip().lower()


def _client(client: str) -> str:
    return "c:" + client
