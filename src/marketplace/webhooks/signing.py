"""Webhook secrets and signatures.

A secret is `whsec_` followed by 43 URL-safe characters (32 random bytes). The sender
needs it back to sign every delivery, so it cannot be hashed like an API key: it is
stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived from
SECRET_KEY by HKDF, and shown to the company once. Changing SECRET_KEY therefore
makes stored secrets unreadable: rotate every endpoint's secret afterwards.

Signature (what receivers verify, see the README):

    Webhook-Signature: v1=<hex HMAC-SHA256(key=secret, message=f"{timestamp}.{body}")>

with the secret's UTF-8 bytes as key, `timestamp` the `Webhook-Timestamp` header
(Unix seconds) and `body` the raw request body. While a rotated secret is in its grace
period the header carries one `v1=` signature per secret, separated by spaces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (SECRET_KEY changed)."""


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex signature of one secret over `{timestamp}.{body}`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: int, body: bytes) -> str:
    return " ".join(
        f"{SIGNATURE_VERSION}={sign(secret, timestamp, body)}" for secret in secrets_in_use
    )


class SecretBox:
    """Encrypts webhook secrets at rest with a key derived from SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"marketplace webhook secrets v1",
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable("the webhook secret cannot be decrypted") from error
