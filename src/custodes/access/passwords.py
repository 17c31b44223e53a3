"""Password hashing: argon2id via argon2-cffi, and the rules a new password must meet.

Verification of an unknown username still runs one argon2 verification (against a hash made
once per process), so a login failure takes as long whether or not the user exists.
"""

from __future__ import annotations

import contextlib
import secrets
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from custodes.errors import InputError

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 1024  # argon2 takes anything, but nobody types a megabyte
# Passwords shipped as defaults by other products, and the obvious ones: never accepted.
KNOWN_DEFAULTS: Final = frozenset(
    {
        "password",
        "password123",
        "passw0rd",
        "changeme",
        "changeme123",
        "admin",
        "admin123",
        "administrator",
        "custodes",
        "custodes123",
        "letmein",
        "secret",
        "123456789012",
        "qwertyuiop12",
    }
)

_HASHER: Final = PasswordHasher()  # argon2id with the library's (RFC 9106) parameters


def check_new_password(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short, too long, a known default, or the username."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"a password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InputError(f"a password may have at most {MAX_LENGTH} characters", field="password")
    lowered = password.lower()
    if lowered in KNOWN_DEFAULTS or (username and username.lower() in lowered):
        raise InputError(
            "that password is a known default or contains the username", field="password"
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch, a missing or a malformed hash."""
    if password_hash is None:
        burn_time()
        return False
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def burn_time() -> None:
    """Spend what a verification costs, for a username that does not exist."""
    with contextlib.suppress(VerificationError):
        _HASHER.verify(_dummy_hash(), secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random password for a new account, printed once; ~190 bits."""
    return secrets.token_urlsafe(24)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))
