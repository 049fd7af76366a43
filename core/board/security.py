"""Secrets handling: Argon2id password hashes, hashed visitor ids, the admin secret check."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# A valid Argon2id hash of a random password, verified when a post has no hash (imported
# content) or the nickname is wrong, so a failed check costs the same time either way.
_DUMMY_PASSWORD = secrets.token_hex(16)


def new_visitor_id() -> str:
    """A random per-session visitor id (128 bits). Pages keep it in session state."""
    return secrets.token_hex(16)


def visitor_hash(visitor_id: str) -> str:
    """The stored form of a visitor id: SHA-256 of a prefixed id (the id itself is random,
    so the hash cannot be reversed or linked to anything outside the board)."""
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ValueError("visitor_id must be a non-empty string")
    return hashlib.sha256(b"drdc-board-visitor\x00" + visitor_id.encode("utf-8")).hexdigest()


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The Argon2id hash string (algorithm, parameters, salt and hash) of ``password``."""
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``. A missing or malformed hash never matches
    (and still costs one hash, so timing does not tell which case happened)."""
    if not stored:
        _burn(hasher)
        return False
    try:
        return hasher.verify(stored, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        return False


def needs_rehash(hasher: PasswordHasher, stored: str) -> bool:
    """True when ``stored`` was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return False


def _burn(hasher: PasswordHasher) -> None:
    hasher.hash(_DUMMY_PASSWORD)


def burn_password_check(hasher: PasswordHasher) -> None:
    """Spend the time of one password check (used when the nickname is already wrong)."""
    _burn(hasher)


def admin_secret_matches(candidate: object, expected: str | None) -> bool:
    """Constant-time comparison of a typed admin secret with the configured one.
    Moderation is off (always False) when no secret is configured."""
    if not expected or not isinstance(candidate, str) or not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
