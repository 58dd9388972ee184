"""Password hashing (Argon2id) and one-time secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import argon2
from flask import current_app

# Crockford-style alphabet without look-alikes, for codes read aloud or typed on a phone.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _hasher() -> argon2.PasswordHasher:
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_PARALLELISM"])
    cache = current_app.extensions.setdefault("wangge_argon2", {})
    if key not in cache:
        cache[key] = argon2.PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2])
    return cache[key]


def hash_password(password: str) -> str:
    """Argon2id PHC string."""
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant-work check; an account without a password still costs one verification."""
    hasher = _hasher()
    try:
        return hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (argon2.exceptions.VerifyMismatchError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash predates the current cost settings."""
    return _hasher().check_needs_rehash(stored)


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("wangge_argon2_dummy", {})
    if "h" not in cache:
        cache["h"] = _hasher().hash(secrets.token_urlsafe(16))
    return cache["h"]


def new_token() -> str:
    """A bearer token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (tokens, activation codes): no KDF needed for those."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_activation_code() -> str:
    """A 12-character one-time code (about 59 bits), typed once at first login."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
