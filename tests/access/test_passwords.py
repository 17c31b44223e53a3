from __future__ import annotations

import pytest

from custodes.access import passwords
from custodes.errors import InputError


def test_hash_is_argon2id_and_verifies() -> None:
    digest = passwords.hash_password("a long enough secret")
    assert digest.startswith("$argon2id$")
    assert passwords.verify_password(digest, "a long enough secret")
    assert not passwords.verify_password(digest, "a long enough secreT")
    assert not passwords.needs_rehash(digest)


def test_same_password_hashes_differently() -> None:
    assert passwords.hash_password("a long enough secret") != passwords.hash_password(
        "a long enough secret"
    )


@pytest.mark.parametrize("bad", [None, "", "not-a-hash", "$argon2id$v=19$garbage"])
def test_missing_or_malformed_hash_never_verifies(bad: str | None) -> None:
    assert not passwords.verify_password(bad, "a long enough secret")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 12"),
        ("Password123", "at least 12"),
        ("administrator", "known default"),
        ("ADMINISTRATOR", "known default"),
        ("my-alice-password", "contains the username"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused(password: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        passwords.check_new_password(password, username="alice")


def test_generated_passwords_are_random_and_acceptable() -> None:
    made = {passwords.generate_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        passwords.check_new_password(password, username="alice")
