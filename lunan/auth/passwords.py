"""Password hashing (argon2id) and generated passwords.

The hash is argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes): strong
enough against guessing on a stolen database, and about a tenth of a second on a small server,
which also slows guessing over the network. A hash made with other parameters still verifies
and is replaced at the next successful sign-in (`needs_rehash`).
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Read at every call (not bound at import), so that tests can swap in a cheaper hasher.
HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

MIN_LENGTH = 8

# Lower-case letters and digits without those people misread on paper: 0/o, 1/l/i.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP_LENGTH = 4, 5


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def waste_time(password: str) -> None:
    """Verify against a hash no password matches, so that an unknown user name takes as long
    to refuse as a wrong password and sign-in does not reveal which names exist."""
    verify_password(_dummy_hash(HASHER), password)


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Same parameters as real hashes, hence the same time to verify.
    return hasher.hash(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A password to read out or copy by hand: 4 groups of 5, e.g. "k7m2p-x9q4r-bt3wz-h8nfa"
    (23 characters, about 99 bits)."""
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)
