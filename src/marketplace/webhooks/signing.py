"""Webhook secrets and signatures, exactly as the Standard Webhooks specification has
them (https://www.standardwebhooks.com), so that its libraries verify our deliveries.

A secret is `whsec_` followed by the base64 of 32 random bytes; those bytes are the
signing key. The sender needs it back to sign every delivery, so it cannot be hashed
like an API key: it is stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key
derived from SECRET_KEY by HKDF, and shown to the company once. Changing SECRET_KEY
therefore makes stored secrets unreadable: rotate every endpoint's secret afterwards.

Signature (what receivers verify, see the README), made by the `standardwebhooks`
package itself:

    webhook-signature: v1,<base64 HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}")>

with `key` the secret's bytes, `webhook-id` the event id, `webhook-timestamp` Unix
seconds and `body` the raw request body. While a rotated secret is in its grace period
the header carries one `v1,` signature per secret, separated by spaces.

Secrets issued before deliveries followed the specification are URL-safe base64
without padding (`-` and `_` where standard base64 has `+` and `/`). Their key is the
same 32 bytes read in that alphabet; `standard_secret` gives the spelling the
specification's libraries read (the README tells receivers how to convert theirs).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_URL_SAFE_TO_STANDARD = str.maketrans("-_", "+/")


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (SECRET_KEY changed)."""


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The signing key of a secret: the bytes its base64 after `whsec_` encodes, in the
    standard or the URL-safe alphabet (the two differ only in `+/` against `-_`, so no
    text means different bytes in each), padded or not."""
    encoded = secret.removeprefix(SECRET_PREFIX).translate(_URL_SAFE_TO_STANDARD)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is base64 after whsec_") from error
    if not key:
        raise ValueError("a webhook secret is not empty")
    return key


def standard_secret(secret: str) -> str:
    """The secret spelt as the specification's libraries read it (standard base64)."""
    return SECRET_PREFIX + base64.b64encode(secret_key(secret)).decode()


def signature_header(
    secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """`webhook-signature`: one `v1,<signature>` per secret, separated by spaces."""
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(
        Webhook(secret_key(secret)).sign(message_id, signed_at, body) for secret in secrets_in_use
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
