"""Signed one-click unsubscribe tokens (RFC 8058 links in every email).

A token names (member, kind) and carries an HMAC-SHA256 over both with the service's secret,
so it cannot be forged or turned into another member's or another kind's token. It does not
expire: an unsubscribe link in an old email must still work (RFC 8058 expects that).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class BadTokenError(ValueError):
    """Not a token this service signed."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, member: str, kind: str) -> bytes:
    msg = f"unsubscribe\x1f{member}\x1f{kind}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()


def sign(secret: str, member: str, kind: str) -> str:
    body = _b64(f"{member}\x1f{kind}".encode())
    return f"{body}.{_b64(_mac(secret, member, kind))}"


def verify(secret: str, token: str) -> tuple[str, str]:
    """(member, kind) of a genuine token; :class:`BadTokenError` otherwise."""
    try:
        body, mac = token.split(".")
        member, kind = _unb64(body).decode().split("\x1f")
        given = _unb64(mac)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadTokenError("malformed unsubscribe token") from e
    if not member or not hmac.compare_digest(given, _mac(secret, member, kind)):
        raise BadTokenError("unsubscribe token signature does not match")
    return member, kind
