"""Usernames, passwords and tokens: scrypt hashes (``scrypt$n$r$p$salt_b64$hash_b64``), checks."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import unicodedata

from bot.agents.models import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES, USERNAME_RE

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2**14, 8, 1, 32, 16
_SCRYPT_MAXMEM = 64 * 1024 * 1024


def normalise_username(username: str) -> str:
    """Return the stored form of a username (stripped, lower case).

    Raises:
        ValueError: Not 3-64 characters of ASCII letters, digits, ``.``, ``_`` or ``-``.
    """
    name = (username or "").strip().lower() if isinstance(username, str) else ""
    if not USERNAME_RE.fullmatch(name):
        raise ValueError("username must be 3-64 characters: letters, digits, '.', '_' or '-'")
    return name


def hash_password(password: str) -> str:
    """Return ``scrypt$n$r$p$salt_b64$hash_b64`` for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = scrypt_hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches an ``encoded`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(hash_b64, validate=True)
        actual = scrypt_hash(password, base64.b64decode(salt_b64, validate=True), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def scrypt_hash(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """Scrypt of the NFC-normalised password."""
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_SCRYPT_MAXMEM)


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password, for checking logins of unknown usernames in the same time."""
    return hash_password(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    """The SHA-256 of a session token (only this is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password(password: str, username: str) -> str:
    """``password`` if it is long enough, not too long and not the username, else ``ValueError``."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username:
        raise ValueError("password must not be the username")
    return password


def check_role(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`.

    Raises:
        ValueError: Any other value.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_display_name(display_name: str) -> str:
    """The stripped display name if it is 1-128 characters without control characters, else ``ValueError``."""
    name = (display_name or "").strip() if isinstance(display_name, str) else ""
    if not name or len(name) > 128:
        raise ValueError("display name must be 1-128 characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("display name must not contain control characters")
    return name
