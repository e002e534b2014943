"""Standard Webhooks signatures (https://www.standardwebhooks.com), as GitLab signs deliveries.

Pure: a signing token as GitLab shows it is `whsec_` followed by the base64 of
the key; the signature of a delivery is `v1,` followed by the base64 of the
HMAC-SHA256, under that key, of `<webhook-id>.<webhook-timestamp>.<body>`.
Kept apart from the web tier so the settings can check a token at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SIGNING_TOKEN_PREFIX = "whsec_"


def signing_key(token: str) -> bytes:
    """The HMAC key of a signing token as GitLab shows it (`whsec_` + base64).

    Raises ValueError for anything else, so a mistyped token stops the start
    instead of refusing every delivery.
    """
    if not token.startswith(SIGNING_TOKEN_PREFIX):
        raise ValueError(f"a signing token starts with {SIGNING_TOKEN_PREFIX}")
    try:
        key = base64.b64decode(token[len(SIGNING_TOKEN_PREFIX):], validate=True)
    except binascii.Error:
        raise ValueError("a signing token is base64 after its prefix") from None
    if not key:
        raise ValueError("the signing token holds no key")
    return key


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The `v1,<base64>` signature GitLab sends for this delivery."""
    message = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
