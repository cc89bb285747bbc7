"""argon2id hashing with RFC 9106 parameters, and passwords people can read out."""

from __future__ import annotations

import re

import pytest

from lunan.auth import passwords


def test_hashes_are_argon2id_with_the_rfc_9106_low_memory_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the real hasher, not the tests' cheap one
    hashed = passwords.hash_password("鲁南-password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(hashed, "鲁南-password")
    assert not passwords.needs_rehash(hashed)


def test_a_wrong_password_or_a_broken_hash_does_not_verify() -> None:
    hashed = passwords.hash_password("correct horse")
    assert not passwords.verify_password(hashed, "correct horsE")
    assert not passwords.verify_password("not a hash", "correct horse")
    assert not passwords.verify_password("", "")


def test_generated_passwords_are_long_readable_and_unpredictable() -> None:
    made = {passwords.generate_password() for _ in range(200)}
    assert len(made) == 200
    for p in made:
        assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", p), p
        assert not set(p) & set("01ilo")  # characters people misread
        assert len(p) >= 16
