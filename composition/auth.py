"""Protected HTTP writes: bearer tokens or basic credentials from ``[api.auth]``."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from seedpipe.settings import ApiAuthSettings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that only read (STAC's item search takes its query as a body).
READ_POSTS = frozenset({"/search"})
OPEN_PATHS = frozenset({"/healthz"})
REALM = 'Bearer realm="seedpipe", Basic realm="seedpipe"'


def _equal(given: str, expected: str) -> bool:
    # compare_digest on bytes: the time taken does not depend on where the strings differ.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": REALM})


def check(auth: ApiAuthSettings, header: str | None) -> str:
    """Who is asking ("token" or the basic username); 401 for no or unreadable credentials,
    403 for wrong ones. The values given never appear in a message or a log."""
    if not header:
        raise _unauthorized(
            "authentication required: send 'Authorization: Bearer TOKEN' or basic credentials"
        )
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and value:
        ok = False
        for token in auth.tokens:  # every token compared, so timing does not say which matched
            ok = _equal(value, token.get_secret_value()) | ok
        if not ok:
            raise HTTPException(403, "the bearer token is not accepted")
        return "token"
    if scheme == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("Authorization: basic credentials are not valid base64") from None
        if not sep:
            raise _unauthorized("Authorization: basic credentials must be 'user:password'")
        if auth.username is None or auth.password is None:
            raise HTTPException(403, "basic credentials are not accepted here; use a bearer token")
        user_ok = _equal(user, auth.username)
        password_ok = _equal(password, auth.password.get_secret_value())
        if not (user_ok & password_ok):
            raise HTTPException(403, "the username or password is not accepted")
        return user
    raise _unauthorized("Authorization: use the Bearer or Basic scheme")


def guard(auth: ApiAuthSettings) -> Callable[[Request], None]:
    """A FastAPI dependency for the whole app, so a write route added later is covered too:
    once credentials are configured every write needs them, reads only with ``protect_reads``;
    /healthz stays open for probes."""

    def dependency(request: Request) -> None:
        if not auth.enabled or request.url.path in OPEN_PATHS:
            return
        path = request.url.path.rstrip("/") or "/"
        write = request.method in WRITE_METHODS and path not in READ_POSTS
        if write or auth.protect_reads:
            request.state.principal = check(auth, request.headers.get("authorization"))

    return dependency
