"""Failed sign-ins are counted per username and per client, and age out of the window."""

from __future__ import annotations

import pytest

from custodes.access.throttle import LoginThrottle
from custodes.errors import RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_username_is_refused_after_its_limit_until_the_oldest_failure_ages_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=3, per_client=100, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.check("alice", "10.0.0.1")
        throttle.failed("alice", "10.0.0.1")
        clock.now += 10
    with pytest.raises(RateLimitedError) as refused:
        throttle.check("Alice ", "10.0.0.2")  # the same username, however written or from
    assert refused.value.retry_after == 30  # the first failure (t=1000) leaves at t=1060
    throttle.check("bob", "10.0.0.1")  # others are not affected
    clock.now = 1060.0
    throttle.check("alice", "10.0.0.1")


def test_a_success_clears_the_username_but_not_the_client() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=2, per_client=3, window_seconds=60, clock=clock)
    throttle.failed("alice", "10.0.0.9")
    throttle.failed("alice", "10.0.0.9")
    throttle.succeeded("alice")
    throttle.check("alice", "10.0.0.8")
    throttle.failed("carol", "10.0.0.9")  # the client's third failure, across usernames
    with pytest.raises(RateLimitedError):
        throttle.check("dave", "10.0.0.9")
    throttle.check("dave", "10.0.0.7")


def test_retry_after_is_at_least_one_second() -> None:
    assert RateLimitedError("x", retry_after=0).retry_after == 1
