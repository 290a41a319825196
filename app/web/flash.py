"""One-shot messages shown after a redirect, carried in a signed cookie (no server memory, no personal data)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from fastapi import Request
from starlette.responses import Response

from app.config import get_settings


def cookie_name() -> str:
    # Like the session cookie, __Host- in production: no subdomain or plain-http page can plant a message.
    return "__Host-casework_flash" if get_settings().is_production else "casework_flash"


def _sign(payload: bytes) -> str:
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, b"flash:" + payload, hashlib.sha256).hexdigest()[:32]
    return base64.urlsafe_b64encode(payload).decode() + "." + mac


def _unsign(value: str) -> list[dict[str, str]]:
    try:
        encoded, mac = value.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(encoded.encode())
    except (ValueError, TypeError):
        return []
    key = get_settings().secret_key.encode()
    expected = hmac.new(key, b"flash:" + payload, hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, expected):
        return []
    try:
        messages = json.loads(payload)
    except ValueError:
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def add(response: Response, message: str, kind: str = "success") -> None:
    """Attach a message to a redirect response; the next page shows it once."""
    payload = json.dumps([{"kind": kind, "text": message}]).encode()
    response.set_cookie(cookie_name(), _sign(payload), httponly=True, samesite="lax", path="/",
                        secure=get_settings().is_production, max_age=120)


def pop(request: Request) -> list[dict[str, str]]:
    value = request.cookies.get(cookie_name())
    if not value:
        return []
    request.state.flash_shown = True
    return _unsign(value)


def clear_cookie_if_shown(request: Request, response: Response) -> None:
    if getattr(request.state, "flash_shown", False):
        response.delete_cookie(cookie_name(), path="/", httponly=True, samesite="lax",
                               secure=get_settings().is_production)
