"""Tokens and secret hashing: JWT access tokens, opaque secrets, keyed hashes.

Opaque secrets (refresh tokens, API keys, cookie sessions, invitation tokens, OTP
codes) are stored only as HMAC-SHA256 digests keyed by the server secret: a stolen
database yields nothing usable, and lookups stay a single indexed equality.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from marketplace.settings import Settings

JWT_ALGORITHMS = ["HS256"]  # fixed list: never trust the token header's choice
LEEWAY_SECONDS = 5
# Access tokens verified, remembered per signer (`TokenSigner.verify_access_token`).
VERIFIED_TOKENS_KEPT = 4096


def now_seconds() -> float:
    return time.time()


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    expires_at: datetime


class TokenSigner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = _parse_keys(settings)
        self.signing_kid = next(iter(self.keys))
        # token -> (its claims, when it stops being accepted), oldest first.
        self._verified: dict[str, tuple[AccessClaims, float]] = {}

    def issue_access_token(self, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, int]:
        now = datetime.now(UTC)
        ttl = self.settings.access_token_ttl_seconds
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
        }
        token = jwt.encode(
            claims,
            self.keys[self.signing_kid],
            algorithm=JWT_ALGORITHMS[0],
            headers={"kid": self.signing_kid},
        )
        return token, ttl

    def verify_access_token(self, token: str) -> AccessClaims:
        """The claims of a token this signer's keys signed, not expired (InvalidToken
        otherwise). A token verified once is remembered until it expires: its signature
        and claims cannot change, and checking them again (PyJWT: header, HMAC, claims)
        was 9% of a signed-in read's CPU (bench/README.md, "Signed-in reads"). What it
        says is still checked per request by the caller: the session it names may have
        been revoked since."""
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, accepted_until = remembered
            if now_seconds() < accepted_until:
                return claims
            del self._verified[token]
        verified = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (verified, verified.expires_at.timestamp() + LEEWAY_SECONDS)
        return verified

    def _verify(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(str(header.get("kid", "")))
            if key is None:
                raise InvalidToken("unknown key id")
            claims = jwt.decode(
                token,
                key,
                algorithms=JWT_ALGORITHMS,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
                leeway=LEEWAY_SECONDS,
            )
        # PyJWT turns most malformed claims into PyJWTError; a date beyond any calendar
        # (`exp: 1e20`, `Infinity`) overflows inside it and in `fromtimestamp` instead.
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as error:
            raise InvalidToken(str(error)) from error
        return _access_claims(claims)


def _access_claims(claims: dict[str, Any]) -> AccessClaims:
    """The claims a verified token must carry, each of the type we issue: anything else,
    even under a valid signature, is an invalid token, never an error of ours."""
    subject, session, token_id, expires = (
        claims.get(name) for name in ("sub", "sid", "jti", "exp")
    )
    if not (isinstance(subject, str) and isinstance(session, str) and isinstance(token_id, str)):
        raise InvalidToken("sub, sid and jti must be strings")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise InvalidToken("exp must be a number")
    try:
        return AccessClaims(
            user_id=uuid.UUID(subject),
            session_id=uuid.UUID(session),
            token_id=token_id,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidToken(str(error)) from error


def _parse_keys(settings: Settings) -> dict[str, str]:
    if settings.jwt_keys is None:
        derived = keyed_hash(settings.secret_key.get_secret_value(), "jwt-signing-key")
        return {"default": derived}
    keys: dict[str, str] = {}
    for entry in settings.jwt_keys.get_secret_value().split(","):
        kid, separator, secret = entry.strip().partition(":")
        if not separator or not kid or len(secret) < 32:
            raise ValueError("JWT_KEYS entries must be 'kid:secret' with secrets of 32+ characters")
        keys[kid] = secret
    return keys


def keyed_hash(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


class SecretHasher:
    """Digests of opaque secrets, keyed by SECRET_KEY; one purpose label per use."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.secret_key.get_secret_value()

    def digest(self, purpose: str, secret: str) -> str:
        return keyed_hash(self._key, f"{purpose}:{secret}")

    def matches(self, purpose: str, secret: str, expected_digest: str) -> bool:
        return hmac.compare_digest(self.digest(purpose, secret), expected_digest)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def new_numeric_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"
